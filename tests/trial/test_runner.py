"""One trial: the runner's value, its kept model and the parameter-count check."""

import dataclasses
import types

import keras
import numpy as np
import optuna
import pytest

from hpo.data._sources import load_dataset
from hpo.errors import TrialFailure
from hpo.objectives import Objective, mlp
from hpo.storage._study_files import StudyFiles
from hpo.study._spec import StudySpec
from hpo.trial._runner import (
    check_param_count,
    drop_superseded_models,
    fit_settings,
    inference_ms,
    keep_if_best,
    make_trial_runner,
)
from hpo.trial._training import FitResult


def _result(value):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    return FitResult(value=value, best_epoch=1, epochs_trained=1, n_params=8, model=model)


def test_fit_settings_follow_the_spec_and_the_params():
    spec = StudySpec(name="s", metric="val_loss", max_epochs=7, patience=2)
    settings = fit_settings(spec, {"batch_size": 32, "learning_rate": 0.01, "lr_schedule": "cosine"}, seed=5)
    assert (settings.monitor, settings.mode, settings.max_epochs, settings.patience) == ("val_loss", "min", 7, 2)
    assert settings.batch_size == 32 and settings.seed == 5
    assert settings.learning_rate_schedule is not None and settings.learning_rate_schedule(0) == pytest.approx(0.01)
    assert fit_settings(spec, {}, seed=0).batch_size == 64


def test_only_a_trial_the_rule_would_choose_keeps_its_model(sqlite_url):
    study = optuna.create_study(direction="maximize", storage=sqlite_url, study_name="k")
    study.add_trial(optuna.trial.create_trial(value=0.8))
    files = StudyFiles(sqlite_url, "k")
    worse, better = study.ask(), study.ask()
    assert not keep_if_best(worse, (0.7,), _result(0.7), files)
    assert not files.model_path(worse.number).exists()
    assert keep_if_best(better, (0.9,), _result(0.9), files)
    assert files.model_path(better.number).is_file()
    assert better.user_attrs["weight_histograms"]["n_tensors"] == 2


def test_superseded_models_are_dropped_but_a_running_trials_stays(sqlite_url):
    study = optuna.create_study(direction="maximize", storage=sqlite_url, study_name="k")
    files = StudyFiles(sqlite_url, "k")
    for value in (0.5, 0.9, 0.7):
        study.add_trial(optuna.trial.create_trial(value=value))
    running = study.ask()
    files.models.mkdir(parents=True)
    for number in (0, 1, 2, running.number):
        files.model_path(number).write_bytes(b"model")
    drop_superseded_models(study, files)
    assert sorted(files.kept_models()) == [1, running.number]


def test_a_parameter_count_formula_that_disagrees_with_keras_fails_the_trial():
    info = types.SimpleNamespace(input_shape=(8, 8, 1), n_classes=10)
    data = types.SimpleNamespace(info=lambda: info)
    params = dict(mlp.DEFAULT_PARAMS)
    check_param_count(Objective(mlp), params, data, mlp.param_count(params, (8, 8, 1), 10))
    with pytest.raises(TrialFailure, match="formula gives .* but Keras counts 1 .*hpo.objectives.mlp"):
        check_param_count(Objective(mlp), params, data, 1)
    no_formula = types.SimpleNamespace(suggest=mlp.suggest, build=mlp.build)
    check_param_count(Objective(no_formula), params, data, 1)  # nothing to check


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
    accuracy, size = make_trial_runner(Objective(mlp), data, spec)(trial)
    assert 0.0 <= accuracy <= 1.0 and size == (64 + 1) * 16 + (16 + 1) * 10
    assert trial.user_attrs["n_params"] == size and trial.user_attrs["epochs_trained"] == 2


def test_a_metric_the_model_does_not_log_is_found_before_any_trial():
    from hpo.errors import MonitorMissingError
    from hpo.trial._runner import check_metric

    data = load_dataset("digits")
    check_metric(Objective(mlp), data, StudySpec(name="s", metric="val_accuracy"))
    check_metric(Objective(mlp), data, StudySpec(name="s", metric="loss"))
    with pytest.raises(MonitorMissingError, match="'val_acc' is not in Keras' logs of this objective; "
                                                  "available: accuracy, loss, val_accuracy, val_loss"):
        check_metric(Objective(mlp), data, StudySpec(name="s", metric="val_acc"))
    # Without defaults a random configuration is built; one that cannot be built is not judged.
    no_defaults = types.SimpleNamespace(suggest=mlp.suggest, build=mlp.build)
    with pytest.raises(MonitorMissingError):
        check_metric(Objective(no_defaults), data, StudySpec(name="s", metric="val_auc"))
    broken = types.SimpleNamespace(suggest=lambda trial: {}, build=lambda *args: 1 / 0)
    check_metric(Objective(broken), data, StudySpec(name="s", metric="val_auc"))


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
        make_trial_runner(Objective(module), data, StudySpec(name="s", max_epochs=3), files)(trial)
    assert files.checkpoint(0).epochs_done() == (1 if kept else 0)
