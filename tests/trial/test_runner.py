"""One trial through its phases: prepare, evaluate, finish."""

import dataclasses
import types

import keras
import numpy as np
import optuna
import pytest

from hpo.data._sources import load_dataset
from hpo.errors import TrialFailure, TrialPaused
from hpo.objectives import Objective, mlp
from hpo.storage._study_files import StudyFiles
from hpo.study._spec import StudySpec
from hpo.trial._context import StudyContext
from hpo.trial._hooks import TrialHook
from hpo.trial._runner import TrialRunner, inference_ms
from hpo.trial._training import FitResult


def test_inference_time_is_per_sample():
    calls = []
    model = lambda batch, training: calls.append(len(batch))  # noqa: E731
    assert inference_ms(model, np.zeros((10, 2)), repeats=2) >= 0
    assert calls == [10, 10, 10]  # one untimed call, then the repeats


@pytest.mark.slow
def test_the_runner_suggests_builds_trains_and_records_a_trial():
    data = load_dataset("digits")
    data = dataclasses.replace(data, x_train=data.x_train[:200], y_train=data.y_train[:200])
    spec = StudySpec(name="r", max_epochs=2, also_minimize="n_params")
    trial = optuna.trial.FixedTrial(dict(mlp.DEFAULT_PARAMS, units_0=16))
    accuracy, size = TrialRunner(StudyContext(spec, Objective(mlp), data))(trial)
    assert 0.0 <= accuracy <= 1.0 and size == (64 + 1) * 16 + (16 + 1) * 10
    assert trial.user_attrs["n_params"] == size and trial.user_attrs["epochs_trained"] == 2


def test_a_population_segment_copies_its_parents_checkpoint_and_a_retry_its_own(sqlite_url):
    from hpo.trial._runner import start_from_checkpoint

    files = StudyFiles(sqlite_url, "s")

    def save(number, epochs):
        files.checkpoint(number).save(epochs_done=epochs, curve=[0.5] * epochs, best_epoch=1, wait=0,
                                      model_weights=[np.zeros(1)], optimizer_variables=[], best_weights=None)

    save(0, 2)
    segment = files.checkpoint(3)
    assert start_from_checkpoint(files, segment, {"pbt_member": 1, "pbt_parent": 0})
    assert segment.epochs_done() == 2 and files.checkpoint(0).epochs_done() == 2  # copied: others may copy it
    save(3, 3)
    retry = files.checkpoint(4)  # the segment died after epoch 3: its retry takes that over
    assert start_from_checkpoint(files, retry, {"pbt_parent": 0, "retry_of": 3})
    assert retry.epochs_done() == 3 and not files.checkpoint(3).exists()
    died_copying = files.checkpoint(5)  # a retry of a segment that died before its copy was whole
    assert start_from_checkpoint(files, died_copying, {"pbt_parent": 0, "retry_of": 9})
    assert died_copying.epochs_done() == 2
    assert not start_from_checkpoint(files, files.checkpoint(6), {})
    with pytest.raises(TrialFailure, match="the checkpoint of trial 8, which this population segment starts from"):
        start_from_checkpoint(files, files.checkpoint(7), {"pbt_parent": 8})


@pytest.mark.parametrize("error, kept", [
    (ValueError("a bug in the model"), False),  # the trial failed: nothing goes on from it
    ("storage", True),  # the storage gone: left RUNNING, a resume retries it from here
    ("taken over", True),  # another process finished it: its retry takes the checkpoint
])
def test_the_checkpoint_stays_when_a_resume_or_a_retry_goes_on_from_it(sqlite_url, error, kept):
    from hpo.errors import StorageError

    raised = {"storage": StorageError("the storage X unreachable for 600 s, giving up"),
              "taken over": optuna.exceptions.UpdateFinishedTrialError("Trial#0 has already finished")}.get(error, error)

    class FailAtSecondEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise raised

    data = load_dataset("digits")
    data = dataclasses.replace(data, x_train=data.x_train[:100], y_train=data.y_train[:100])
    module = types.SimpleNamespace(suggest=mlp.suggest, build=mlp.build, callbacks=lambda params: [FailAtSecondEpoch()])
    files = StudyFiles(sqlite_url, "s")
    trial = optuna.trial.FixedTrial(dict(mlp.DEFAULT_PARAMS, units_0=8))
    with pytest.raises(type(raised)):
        TrialRunner(StudyContext(StudySpec(name="s", max_epochs=3), Objective(module), data, files))(trial)
    assert files.checkpoint(0).epochs_done() == (1 if kept else 0)


class _Recorder(TrialHook):
    """A hook that records the phases it is called at."""

    def __init__(self, calls, name):
        self.calls, self.name = calls, name

    def prepare(self, run):
        self.calls.append((self.name, "prepare", run.settings.seed))

    def kept(self, run, model):
        self.calls.append((self.name, "kept"))

    def stopped(self, run, error):
        self.calls.append((self.name, "stopped", type(error).__name__))
        return error


def _fake_training(monkeypatch, value=0.5, raises=None):
    """fit_and_score replaced: what the runner would train, recorded; a fixed result."""
    import hpo.trial._training as training

    fitted = []

    def fit_and_score(trial, make_model, data, settings, **kwargs):
        fitted.append((trial, settings, kwargs))
        if raises is not None:
            raise raises
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        return FitResult(value=value, best_epoch=1, epochs_trained=1, n_params=3, model=model)

    monkeypatch.setattr(training, "fit_and_score", fit_and_score)
    return fitted


def _context(tmp_path, **spec):
    data = types.SimpleNamespace(batched=False, info=lambda: None)
    objective = Objective(types.SimpleNamespace(suggest=lambda trial: {"units": trial.suggest_int("units", 1, 4)},
                                                build=lambda params, info: None))
    files = StudyFiles(f"sqlite:///{tmp_path / 'x.db'}", "s")
    return StudyContext(StudySpec(name="s", **spec), objective, data, files)


def test_the_phases_run_in_order_and_each_hook_in_its_order(monkeypatch, tmp_path):
    fitted = _fake_training(monkeypatch)
    runner = TrialRunner(_context(tmp_path, seed=7))
    calls = []
    runner.hooks = (*runner.hooks, _Recorder(calls, "a"), _Recorder(calls, "b"))
    trial = optuna.trial.FixedTrial({"units": 2}, number=3)
    assert runner(trial) == 0.5
    # seed + number; a FixedTrial has no study to compare with, so its model is kept
    assert calls == [("a", "prepare", 10), ("b", "prepare", 10), ("a", "kept"), ("b", "kept")]
    (reported, settings, kwargs), = fitted
    assert reported is trial and settings.seed == 10 and kwargs["checkpoint"] is not None and not kwargs["resuming"]
    assert not StudyFiles(f"sqlite:///{tmp_path / 'x.db'}", "s").checkpoint(3).exists()  # removed at the end


def test_a_hook_says_what_an_error_means_and_the_checkpoint_follows_the_one_rule(monkeypatch, tmp_path):
    from hpo.trial._hooks import SchedulerPause

    _fake_training(monkeypatch, raises=TrialPaused(3))
    context = _context(tmp_path)
    scheduler = types.SimpleNamespace(first_attrs=lambda number: {"bracket": 0}, pause_epochs=lambda attrs: frozenset({3}))
    runner = TrialRunner(dataclasses.replace(context, scheduler=scheduler))
    assert isinstance(runner.hooks[0], SchedulerPause)
    calls = []
    runner.hooks = (*runner.hooks, _Recorder(calls, "last"))
    context.files.checkpoint(0).save(epochs_done=3, curve=[0.1] * 3, best_epoch=1, wait=0,
                                     model_weights=[np.zeros(1)], optimizer_variables=[], best_weights=None)
    trial = optuna.trial.FixedTrial({"units": 2})
    with pytest.raises(optuna.TrialPruned, match="paused after epoch 3"):
        runner(trial)
    assert trial.user_attrs["paused_at_epoch"] == 3 and trial.user_attrs["bracket"] == 0
    assert calls[-1] == ("last", "stopped", "TrialPruned")  # later hooks see what the earlier ones made of it
    assert context.files.checkpoint(0).epochs_done() == 3  # a continuation goes on from it


def test_a_failed_trial_loses_its_checkpoint_and_raises_its_own_error(monkeypatch, tmp_path):
    _fake_training(monkeypatch, raises=ValueError("a bug"))
    context = _context(tmp_path)
    context.files.checkpoint(0).save(epochs_done=1, curve=[0.1], best_epoch=1, wait=0,
                                     model_weights=[np.zeros(1)], optimizer_variables=[], best_weights=None)
    with pytest.raises(ValueError, match="a bug"):
        TrialRunner(context)(optuna.trial.FixedTrial({"units": 2}))
    assert not context.files.checkpoint(0).exists()


def test_a_hook_that_plans_the_evaluations_takes_over_fit_and_score(monkeypatch, tmp_path):
    from hpo.trial._context import Scored

    fitted = _fake_training(monkeypatch)

    class TwoEvaluations(TrialHook):
        def evaluate(self, run, fit_one):
            values = [fit_one(None, index == 0, run.grant).value for index in range(2)]
            return Scored((sum(values) / 2,), None)

    runner = TrialRunner(_context(tmp_path))
    runner.hooks = (TwoEvaluations(), *runner.hooks)
    trial = optuna.trial.FixedTrial({"units": 1})
    assert runner(trial) == 0.5
    assert [reported for reported, _, _ in fitted] == [trial, None]  # only the first evaluation reports
