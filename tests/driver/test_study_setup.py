"""Creating or loading a study: stored settings, first trials, grids, errors before anything is stored."""

import os
import socket

import optuna
import pytest

from hpo.driver import _optimize as driver
from hpo.driver import _study_setup as study_setup
from hpo.errors import SetupError
from hpo.objectives import Objective, mlp
from hpo.study._spec import StudySpec
from tests.conftest import quick_spec, run_quick


def test_a_missing_dataset_stops_before_any_study_is_stored(tmp_path, monkeypatch, sqlite_url):
    monkeypatch.setenv("HPO_DATA_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(socket.socket, "connect", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(SetupError, match="mnist.npz is not cached"):
        driver.run(StudySpec(name="m", dataset="mnist"), storage_url=sqlite_url, out=lambda line: None)
    assert not os.path.exists(sqlite_url.removeprefix("sqlite:///"))


def test_a_new_study_stores_its_settings_and_enqueues_defaults_then_the_scripts_sets(sqlite_url):
    spec = StudySpec(name="s", enqueue=[{"units_0": 64}])
    prepared = study_setup.prepare(spec, sqlite_url, load_objective=True, out=print)
    assert prepared.is_new and prepared.data is not None and prepared.objective.module is mlp
    waiting = prepared.study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == [mlp.DEFAULT_PARAMS, {"units_0": 64}]
    assert study_setup.stored_spec("s", storage_url=sqlite_url) == spec
    again = study_setup.prepare(spec, sqlite_url, load_objective=False, out=print)
    assert not again.is_new and len(again.study.trials) == 2  # nothing enqueued twice


def test_a_grid_smaller_than_the_budget_becomes_the_budget():
    lines = []
    spec = StudySpec(name="g", sampler="grid", n_trials=10, grid={"units_0": [64, 128], "dropout": [0.0, 0.2]})
    fitted = study_setup.fit_budget_to_grid(spec, Objective(mlp), lines.append)
    assert fitted.n_trials == 4 and "the budget is 4 trials, not 10" in lines[0]
    with pytest.raises(SetupError, match="never suggests: colour"):
        study_setup.fit_budget_to_grid(spec.with_overrides(grid={"colour": ["red"]}), Objective(mlp), lines.append)


def test_hpo_load_refuses_a_study_hpo_did_not_create(sqlite_url):
    optuna.create_study(study_name="foreign", storage=sqlite_url)
    with pytest.raises(SetupError, match="was not created by hpo run"):
        study_setup.load_hpo_study("foreign", storage_url=sqlite_url)


def test_warm_start_needs_an_earlier_study_with_complete_trials(sqlite_url):
    run_quick(quick_spec(n_trials=3), sqlite_url)
    study = optuna.load_study(study_name="q", storage=sqlite_url)
    best_first = sorted(study.trials, key=lambda t: t.value)
    params = study_setup.warm_start_params(study, quick_spec(name="new", warm_start="q", warm_start_trials=2))
    assert params == [best_first[0].params, best_first[1].params]
    with pytest.raises(SetupError, match="no study named 'nothing'"):
        study_setup.warm_start_params(study, quick_spec(name="new", warm_start="nothing"))


def test_a_study_refuses_other_data_but_accepts_a_fingerprint_it_never_had():
    fingerprint = {"source": "digits", "examples": 1437, "class_counts": [143, 146]}
    study_setup.check_same_data("s", None, fingerprint)  # made before hpo stored fingerprints
    study_setup.check_same_data("s", dict(fingerprint), fingerprint)
    with pytest.raises(SetupError, match=r"study 's' was tuned on other data \(examples 1437 -> 1000\)"):
        study_setup.check_same_data("s", fingerprint, {**fingerprint, "examples": 1000})


@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")  # ask() outside optimize
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # fail_stale_trials
def test_the_connection_opens_storage_with_the_studys_heartbeat_and_retries_what_it_finds_stale(sqlite_url):
    import time

    spec = quick_spec(heartbeat_interval=1, grace_period=2, seed=3)
    lines = []
    connection = study_setup.StudyConnection(sqlite_url, spec, lines.append, create=True)
    storage = connection.storage
    assert (storage.heartbeat_interval, storage.grace_period) == (1, 2)  # set when it was made
    assert connection.files.mirror is None  # no artifact store named
    study = optuna.create_study(study_name="q", storage=storage)
    silent = study.ask({"x": optuna.distributions.FloatDistribution(-1, 1)})
    storage.record_heartbeat(silent._trial_id)  # then its worker (on another host) stops
    time.sleep(3.1)  # SQLite's clock has whole seconds: 3 > the grace period of 2, whatever the rounding

    optuna.storages.fail_stale_trials(study)  # what Optuna does before each new trial

    trials = study.trials
    assert trials[silent.number].state.name == "FAIL"
    [retry] = [t for t in trials if t.user_attrs.get("retry_of") == silent.number]
    assert retry.state.name == "WAITING" and retry.system_attrs["fixed_params"] == silent.params
    assert lines == [f"[trial {silent.number:>4}] FAIL      its worker stopped sending heartbeats; "
                     "retry queued from epoch 1 (no checkpoint)"]


def test_the_connection_mirrors_checkpoints_to_the_studys_artifact_store(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.delenv("HPO_ARTIFACTS", raising=False)
    spec = quick_spec(artifacts=str(tmp_path / "store"))
    connection = study_setup.StudyConnection(sqlite_url, spec, print, create=True)
    assert connection.files.mirror is not None and connection.files.mirror.storage is connection.storage
