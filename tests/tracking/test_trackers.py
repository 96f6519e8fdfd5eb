"""Where a process tracks, which run a trial writes into, and a failing tracker costing nothing."""

import optuna
import pytest

import hpo.records as records
from hpo._environment import MLFLOW_ENV, TENSORBOARD_ENV
from hpo.errors import SetupError
from hpo.tracking import Trackers, open_trackers, targets, trial_start
from tests.conftest import quick_spec


def test_the_variables_set_by_the_flags_win_over_the_study_script(monkeypatch):
    spec = quick_spec(tracking={"tensorboard": "from-script", "mlflow": "http://script:5000"})
    monkeypatch.delenv(TENSORBOARD_ENV, raising=False)
    monkeypatch.delenv(MLFLOW_ENV, raising=False)
    assert targets(spec) == {"tensorboard": "from-script", "mlflow": "http://script:5000"}
    monkeypatch.setenv(MLFLOW_ENV, "http://flag:5000")
    assert targets(spec) == {"tensorboard": "from-script", "mlflow": "http://flag:5000"}
    assert targets(quick_spec()) == {"mlflow": "http://flag:5000"}


def test_nothing_to_track_opens_nothing(monkeypatch):
    monkeypatch.delenv(TENSORBOARD_ENV, raising=False)
    monkeypatch.delenv(MLFLOW_ENV, raising=False)
    assert open_trackers(quick_spec(), optuna.create_study(), print) is None


def test_a_missing_package_is_a_setup_error_naming_the_extra(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    with pytest.raises(SetupError, match=r"needs the tensorboard package: pip install 'hpo\[tracking\]'"):
        open_trackers(quick_spec(tracking={"tensorboard": str(tmp_path)}), optuna.create_study(), print)


def _stored(study, **attrs):
    trial = study.ask()
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    return trial


def test_retries_and_continuations_write_into_the_run_of_their_chains_first_trial():
    study = optuna.create_study()
    first = _stored(study)
    paused = _stored(study, **{records.CONTINUES: first.number})
    dead = _stored(study, **{records.CONTINUES: paused.number, records.FAIL_REASON: "its worker died"})
    retry = _stored(study, **{records.RETRY_OF: dead.number, records.CONTINUES: paused.number})
    start = trial_start(study, retry.number, retry.user_attrs, {"units": 64})
    assert start.run == "trial-0" and start.params == {"units": 64}
    assert start.links == {"retry_of": dead.number, "continues": paused.number}
    assert start.replaced_reason == "its worker died"
    assert trial_start(study, first.number, first.user_attrs, {}).run == "trial-0"
    member = _stored(study, **{records.PBT_MEMBER: 3, records.PBT_PARENT: first.number})
    assert trial_start(study, member.number, member.user_attrs, {}).run == "member-3"
    assert trial_start(None, 7, {}, {}).run == "trial-7"  # a FixedTrial has no study


class _Recording:
    name = "Recorder"

    def __init__(self, fail_on=None):
        self.calls, self.fail_on = [], fail_on

    def __getattr__(self, method):
        def call(*args):
            if method == self.fail_on:
                raise ConnectionError("server went away\nsecond line")
            self.calls.append((method, args))
        return call


def test_a_tracker_that_fails_warns_once_and_is_skipped_for_the_rest_of_the_trial():
    study = optuna.create_study()
    trial = study.ask()
    broken, working, warnings = _Recording(fail_on="epoch_ended"), _Recording(), []
    trackers = Trackers([broken, working], warnings.append)
    trackers.trial_started(trial, {"x": 1})
    trackers.epoch_ended(trial.number, 1, {"loss": 0.5})
    trackers.epoch_ended(trial.number, 2, {"loss": 0.4})
    study.tell(trial, 0.4)
    trackers.trial_finished(study, trial.number)
    assert warnings == ["warning: Recorder tracking failed for trial 0: ConnectionError: server went away; "
                        "training goes on"]
    assert [call[0] for call in broken.calls] == ["trial_started"]  # nothing after its failure
    assert [call[0] for call in working.calls] == ["trial_started", "epoch_ended", "epoch_ended", "trial_finished"]
    end = working.calls[-1][1][0]
    assert (end.state, end.value, end.run) == ("COMPLETE", 0.4, "trial-0")
    trackers.trial_started(study.ask(), {})  # the next trial tries the broken tracker again
    assert broken.calls[-1][0] == "trial_started"


def test_a_trial_that_failed_before_training_is_started_then_ended():
    study = optuna.create_study()
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    trial.set_user_attr(records.FAIL_REASON, "ValueError: no such layer")
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    recorder = _Recording()
    Trackers([recorder], print).trial_finished(study, trial.number)
    (started, (start,)), (finished, (end,)) = recorder.calls
    assert started == "trial_started" and set(start.params) == {"x"}
    assert finished == "trial_finished" and end.state == "FAIL" and end.fail_reason == "ValueError: no such layer"


OWN_TRACKER = '''
from hpo.tracking import Tracker


class Lines(Tracker):
    name = "lines"

    def __init__(self, target, study=None, prepare=False):
        self.target, self.study, self.prepare = target, study, prepare

    def where(self):
        return f"lines to {self.target}"


def not_a_tracker(target):
    return object()
'''


def test_the_built_in_trackers_are_registered_as_the_study_spec_names_them():
    from hpo.study._spec import TRACKING_KINDS
    from hpo.tracking import TRACKERS

    assert tuple(TRACKERS) == TRACKING_KINDS


def test_a_tracker_of_ones_own_is_made_with_its_target_and_the_context_it_takes(monkeypatch, tmp_path):
    monkeypatch.delenv(TENSORBOARD_ENV, raising=False)
    monkeypatch.delenv(MLFLOW_ENV, raising=False)
    (tmp_path / "mine.py").write_text(OWN_TRACKER)
    spec = quick_spec(tracking={f"{tmp_path}/mine.py:Lines": "out.txt"})
    study, said = optuna.create_study(), []
    from hpo.tracking import check_targets

    check_targets(spec)  # imports it: a broken one stops the run before it touches storage
    trackers = open_trackers(spec, study, said.append, prepare=True)
    (tracker,) = trackers.trackers
    assert (tracker.target, tracker.study, tracker.prepare) == ("out.txt", study, True)
    assert said == ["tracking: lines to out.txt"]
    tracker.epoch_ended(0, 1, {"loss": 1.0})  # what it does not override does nothing


def test_a_tracker_of_ones_own_that_is_no_tracker_is_one_line(tmp_path):
    (tmp_path / "mine.py").write_text(OWN_TRACKER)
    spec = quick_spec(tracking={f"{tmp_path}/mine.py:not_a_tracker": "x"})
    with pytest.raises(SetupError, match="made a object, not an hpo.tracking.Tracker"):
        open_trackers(spec, optuna.create_study(), print)
    with pytest.raises(SetupError, match="unknown tracking 'wandb'"):
        quick_spec(tracking={"wandb": "x"})
