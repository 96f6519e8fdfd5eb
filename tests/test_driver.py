"""Driver logic with trivial objectives: no Keras, milliseconds per trial."""

import math
import os
import socket
import subprocess
import sys
import time
from collections import Counter

import optuna
import pytest

from hpo import driver
from hpo.errors import SetupError, TooManyFailuresError
from hpo.interrupts import TrialInterrupted
from hpo.retries import queue_retry
from hpo.spec import StudySpec
from hpo.storage import open_storage
from hpo.study_files import StudyFiles
from tests.conftest import REPO


def quadratic(trial):
    x = trial.suggest_float("x", -1.0, 1.0)
    for step in range(1, 4):
        trial.report(x * x, step)
    return x * x


def _spec(**settings):
    return StudySpec(**{"name": "q", "metric": "loss", "n_trials": 5, "sampler": "random", **settings})


def _run(spec, url, objective=quadratic):
    lines = []
    outcome = driver.run(spec, storage_url=url, objective=objective, out=lines.append)
    return outcome, lines


def _states(url, name="q"):
    study = optuna.load_study(study_name=name, storage=url)
    return [t.state.name for t in study.trials]


def test_budget_is_a_total_and_rerunning_a_finished_study_adds_nothing(sqlite_url):
    outcome, lines = _run(_spec(), sqlite_url)
    assert outcome.n_finished == 5 and outcome.trials_run == 5
    assert sum(line.startswith("[trial") for line in lines) == 5
    outcome, lines = _run(_spec(), sqlite_url)
    assert outcome.trials_run == 0 and "already has 5/5 finished trials" in lines[0]
    outcome, _ = _run(_spec(n_trials=8), sqlite_url)
    assert outcome.n_finished == 8 and outcome.trials_run == 3
    assert _states(sqlite_url) == ["COMPLETE"] * 8


def test_progress_lines_show_state_value_best_and_eta(sqlite_url):
    _, lines = _run(_spec(n_trials=2), sqlite_url)
    trial_line = lines[-1]
    for part in ("[trial    1]", "COMPLETE", "value=", "best=", "2/2 done", "elapsed", "ETA"):
        assert part in trial_line


def test_failed_trials_keep_their_reason_do_not_count_and_the_study_goes_on(sqlite_url):
    calls = []

    def sometimes_failing(trial):
        calls.append(trial.number)
        if trial.number in (1, 3):
            raise RuntimeError(f"boom {trial.number}")
        if trial.number == 4:
            return math.nan  # a NaN objective value fails the trial too
        return quadratic(trial)

    outcome, lines = _run(_spec(n_trials=4), sqlite_url, sometimes_failing)
    assert outcome.n_finished == 4
    study = optuna.load_study(study_name="q", storage=sqlite_url)
    failed = [t for t in study.trials if t.state.name == "FAIL"]
    assert [t.number for t in failed] == [1, 3, 4]
    assert failed[0].user_attrs["fail_reason"] == "RuntimeError: boom 1"
    assert "Traceback" in failed[0].user_attrs["fail_traceback"]
    assert any("FAIL" in line and "RuntimeError: boom 3" in line for line in lines)


def test_several_failures_in_a_row_stop_the_study(sqlite_url):
    def always_failing(trial):
        raise ValueError("bad config")

    with pytest.raises(TooManyFailuresError, match="3 trials failed in a row.*last reason: ValueError: bad config"):
        _run(_spec(max_consecutive_failures=3), sqlite_url, always_failing)
    assert _states(sqlite_url) == ["FAIL"] * 3


def test_setup_errors_inside_a_trial_stop_at_once(sqlite_url):
    def misconfigured(trial):
        raise SetupError("metric 'val_auc' is not in Keras' logs")

    with pytest.raises(SetupError, match="val_auc"):
        _run(_spec(), sqlite_url, misconfigured)
    study = optuna.load_study(study_name="q", storage=sqlite_url)
    assert [t.state.name for t in study.trials] == ["FAIL"]
    assert "val_auc" in study.trials[0].user_attrs["fail_reason"]


def test_a_resumed_sampler_does_not_repeat_its_first_proposals(sqlite_url):
    _run(_spec(n_trials=3), sqlite_url)
    _run(_spec(n_trials=6), sqlite_url)
    xs = [t.params["x"] for t in optuna.load_study(study_name="q", storage=sqlite_url).trials]
    assert len(set(xs)) == 6


def test_the_same_seed_on_a_new_study_proposes_the_same_points(tmp_path):
    first = tmp_path / "a.db"
    second = tmp_path / "b.db"
    _run(_spec(n_trials=4, sampler="tpe"), f"sqlite:///{first}")
    _run(_spec(n_trials=4, sampler="tpe"), f"sqlite:///{second}")
    params = lambda path: [t.params for t in optuna.load_study(study_name="q", storage=f"sqlite:///{path}").trials]  # noqa: E731
    assert params(first) == params(second)


def test_enqueued_parameters_run_first(sqlite_url):
    _run(_spec(n_trials=2, enqueue=[{"x": 0.25}]), sqlite_url)
    assert optuna.load_study(study_name="q", storage=sqlite_url).trials[0].params == {"x": 0.25}


def test_settings_are_stored_and_changes_are_reported(sqlite_url):
    _run(_spec(n_trials=2), sqlite_url)
    assert driver.stored_spec("q", storage_url=sqlite_url) == _spec(n_trials=2)
    _, lines = _run(_spec(n_trials=3, max_epochs=7), sqlite_url)
    assert any("continues with changed settings: n_trials 2 -> 3, max_epochs 30 -> 7" in line for line in lines)
    assert driver.stored_spec("q", storage_url=sqlite_url).max_epochs == 7


def test_changing_what_is_optimised_is_refused(sqlite_url):
    _run(_spec(n_trials=1), sqlite_url)
    with pytest.raises(SetupError, match="exists with different metric 'loss' -> 'val_loss'.*new --study-name"):
        _run(_spec(metric="val_loss"), sqlite_url)
    with pytest.raises(SetupError, match="direction minimize, not maximize"):
        _run(_spec(metric="score"), sqlite_url)


def test_resume_of_an_unknown_study_is_a_clear_error(sqlite_url):
    _run(_spec(n_trials=1), sqlite_url)
    with pytest.raises(SetupError, match="no study named 'other'"):
        driver.resume("other", storage_url=sqlite_url)


@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")  # ask() outside optimize
def test_trials_of_a_dead_process_on_this_host_are_failed_with_a_reason_and_retried(sqlite_url):
    spec = _spec(seed=7)
    _run(spec.with_overrides(n_trials=1), sqlite_url)
    study = optuna.load_study(study_name="q", storage=open_storage(sqlite_url))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = study.ask()
    orphan.suggest_float("x", -1, 1)
    alive = study.ask()
    # What a killed worker leaves behind: a marker naming its (now dead) process.
    files = StudyFiles(sqlite_url, "q")
    (files.root / "running").mkdir(parents=True, exist_ok=True)
    (files.root / "running" / str(orphan._trial_id)).write_text(f"{socket.gethostname()}:{int(dead.stdout)}")
    files.mark_running(alive._trial_id)  # this (live) process
    lines = []

    driver.recover_dead_trials(study, spec, files, lines.append)

    trials = study.trials
    assert trials[orphan.number].state.name == "FAIL"
    assert "died while running this trial" in trials[orphan.number].user_attrs["fail_reason"]
    assert trials[alive.number].state.name == "RUNNING"  # its worker (this process) is alive
    retry = trials[-1]
    assert retry.state.name == "WAITING" and retry.system_attrs["fixed_params"] == orphan.params
    assert retry.user_attrs == {"retry_of": orphan.number, "retry_attempt": 1, "seed": 7 + orphan.number}
    assert sorted(files.running_workers()) == [alive._trial_id]  # the orphan's marker is gone
    assert lines == [f"[trial {orphan.number:>4}] FAIL      {trials[orphan.number].user_attrs['fail_reason']}; "
                     "retry queued from epoch 1 (no checkpoint)"]


def test_a_trial_is_retried_a_bounded_number_of_times(sqlite_url):
    study = optuna.create_study(storage=sqlite_url)
    files = StudyFiles(sqlite_url, "q")
    files.checkpoint(4).directory.mkdir(parents=True)
    message = queue_retry(study, number=4, params={"x": 0.5}, user_attrs={"retry_attempt": 2},
                          study_seed=0, max_retries=2, files=files)
    assert message == "not retried: its trial was already retried 2 times"
    assert study.trials == [] and not files.checkpoint(4).directory.exists()
    queue_retry(study, number=4, params={"x": 0.5}, user_attrs={"retry_attempt": 1, "seed": 3},
                study_seed=0, max_retries=2, files=files)
    assert study.trials[0].user_attrs == {"retry_of": 4, "retry_attempt": 2, "seed": 3}


def test_an_interrupted_trial_is_recorded_and_its_retry_runs_first_on_resume(sqlite_url):
    def stopped_at_third_trial(trial):
        x = trial.suggest_float("x", -1.0, 1.0)
        if trial.number == 2:
            raise TrialInterrupted("interrupted after epoch 4")
        return x * x

    with pytest.raises(KeyboardInterrupt):
        _run(_spec(), sqlite_url, objective=stopped_at_third_trial)
    trials = optuna.load_study(study_name="q", storage=sqlite_url).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "FAIL", "WAITING"]
    assert trials[2].user_attrs["fail_reason"].startswith("interrupted after epoch 4 (Ctrl-C or SIGTERM); retry queued")
    assert trials[3].user_attrs["retry_of"] == 2 and trials[3].system_attrs["fixed_params"] == trials[2].params

    outcome, _ = _run(_spec(), sqlite_url)
    trials = optuna.load_study(study_name="q", storage=sqlite_url).trials
    assert trials[3].state.name == "COMPLETE" and trials[3].params == trials[2].params
    assert outcome.n_finished == 5 and len(trials) == 6


def test_counting_by_state_in_the_database_agrees_with_optuna(sqlite_url):
    _run(_spec(n_trials=4), sqlite_url, objective=lambda t: math.nan if t.number == 1 else quadratic(t))
    study = optuna.load_study(study_name="q", storage=sqlite_url)
    study.enqueue_trial({"x": 0.1})
    counts = driver.count_by_state(study)
    assert counts == Counter(t.state for t in study.trials)
    assert counts[optuna.trial.TrialState.WAITING] == 1


_CONCURRENT_WORKER = """
import sys, time
from hpo import driver
from hpo.spec import StudySpec

time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # start together
def objective(trial):
    x = trial.suggest_float("x", -1.0, 1.0)
    time.sleep(0.05)
    return x * x
spec = StudySpec(name="together", metric="loss", n_trials=20, sampler="random")
outcome = driver.run(spec, storage_url=sys.argv[1], objective=objective, out=lambda line: None)
print(outcome.trials_run)
"""


def test_four_processes_starting_on_a_new_sqlite_file_share_the_budget_exactly(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    start_at = str(time.time() + 3.0)
    processes = [
        subprocess.Popen([sys.executable, "-c", _CONCURRENT_WORKER, url, start_at], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, [err for _, err in results]
    assert all("locked" not in err for _, err in results)
    assert sum(int(out) for out, _ in results) == 20
    study = optuna.load_study(study_name="together", storage=url)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 20


def test_a_missing_dataset_stops_before_any_study_is_stored(tmp_path, monkeypatch, sqlite_url):
    monkeypatch.setenv("HPO_DATA_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(socket.socket, "connect", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(SetupError, match="mnist.npz is not cached"):
        driver.run(StudySpec(name="m", dataset="mnist"), storage_url=sqlite_url, out=lambda line: None)
    assert not os.path.exists(sqlite_url.removeprefix("sqlite:///"))


def test_out_of_memory_fails_only_that_trial_with_a_clear_reason(sqlite_url):
    def memory_hungry(trial):
        if trial.number == 0:
            raise MemoryError("Unable to allocate 40.0 GiB for an array")
        return quadratic(trial)

    outcome, _ = _run(_spec(n_trials=2), sqlite_url, memory_hungry)
    first = optuna.load_study(study_name="q", storage=sqlite_url).trials[0]
    assert first.state.name == "FAIL" and outcome.n_finished == 2
    assert first.user_attrs["fail_reason"] == "out of memory: MemoryError: Unable to allocate 40.0 GiB for an array"


def test_tensorflow_resource_exhaustion_reads_as_out_of_memory():
    class ResourceExhaustedError(Exception):  # the name TensorFlow's OOM error carries
        pass

    assert driver.describe_failure(ResourceExhaustedError("OOM when allocating tensor")).startswith("out of memory: ")


def test_the_heartbeat_callback_and_database_counts_reach_optunas_wrapped_storage(sqlite_url):
    _run(_spec(n_trials=2), sqlite_url)
    study, spec = driver.load_hpo_study("q", storage_url=sqlite_url)
    backend = driver._rdb_storage(study)
    assert backend is not None and backend is not study._storage  # Optuna's caching wrapper
    driver._install_heartbeat_retries(study, spec, StudyFiles(sqlite_url, "q"), lambda line: None)
    assert backend.get_heartbeat_stale_trial_callback() is not None
