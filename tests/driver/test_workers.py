"""`hpo run --workers N`: several worker processes on one SQLite study."""

import os
import re
import signal
import subprocess
import time

import optuna
import pytest

from hpo.driver._workers import PoolState, WorkerExit, classify_exit
from hpo.errors import EXIT_INTERRUPTED, EXIT_SETUP, EXIT_STUDY_FAILED, WorkerError
from tests.conftest import REPO, hpo_command, running_trial_and_worker, write_study_script


@pytest.mark.slow
def test_two_workers_share_the_budget_exactly_and_a_killed_worker_is_replaced_and_its_trial_retried(tmp_path):
    home = tmp_path / "hpo-runs"
    url = f"sqlite:///{home / 'hpo.db'}"
    script = write_study_script(tmp_path, name="pair", n_trials=6, max_epochs=12, patience=12, pruner="none")
    env = {**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""}
    # --gpus with a GPU list of our own: each worker slot keeps its CUDA_VISIBLE_DEVICES (the
    # CPU build of TensorFlow here ignores it), a replaced worker takes its slot's.
    process = subprocess.Popen(hpo_command("run", str(script), "--workers", "2", "--recycle-after", "3",
                                           "--gpus", "0,1"),
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    victim = pid = None
    while victim is None and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        if home.joinpath("hpo.db").exists():
            victim, pid = running_trial_and_worker(url, "pair", home, epochs=3)
    assert victim is not None, "no worker reached the middle of a trial"
    os.kill(pid, signal.SIGKILL)  # as the out-of-memory killer would
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "locked" not in stdout + stderr

    trials = optuna.load_study(study_name="pair", storage=url).trials
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in trials) == 6  # exactly the budget
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    assert [t.number for t in trials if t.state.name == "FAIL"] == [victim.number]
    assert "died while running this trial" in trials[victim.number].user_attrs["fail_reason"]
    retry = next(t for t in trials if t.user_attrs.get("retry_of") == victim.number)
    assert retry.state.name == "COMPLETE" and retry.user_attrs["resumed_from_epoch"] >= 4
    assert [t.number for t in trials] == list(range(len(trials)))  # one numbering

    # Both slots ran trials; workers were replaced after 3 trials and after the kill.
    assert {"w1", "w2"} <= set(re.findall(r"^(w\d) \[trial", stdout, flags=re.M))
    ready = re.findall(r"^w\d worker pid (\d+) ready", stdout, flags=re.M)
    assert len(set(ready)) >= 3 and str(pid) in ready
    assert "one worker per GPU: 0, 1" in stdout
    assert set(re.findall(r"^(w\d) worker pid \d+ ready on (GPU \d)", stdout, flags=re.M)) == {
        ("w1", "GPU 0"), ("w2", "GPU 1")}
    assert "finished trials: 6/6" in stdout


@pytest.mark.slow
def test_ctrl_c_reaches_every_worker_once_and_their_trials_wait_for_retry(tmp_path):
    home = tmp_path / "hpo-runs"
    url = f"sqlite:///{home / 'hpo.db'}"
    script = write_study_script(tmp_path, name="halt", n_trials=6, max_epochs=300, patience=300, pruner="none")
    env = {**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""}
    process = subprocess.Popen(hpo_command("run", str(script), "--workers", "2"),
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        if home.joinpath("hpo.db").exists() and running_trial_and_worker(url, "halt", home, epochs=2)[0]:
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert stderr.count("stopping after the current epoch") == 1 and "hpo resume halt" in stderr, stderr
    trials = optuna.load_study(study_name="halt", storage=url).trials
    assert not [t for t in trials if t.state.name == "RUNNING"]
    stopped = [t for t in trials if t.state.name == "FAIL"]
    reasons = [t.user_attrs.get("fail_reason") for t in stopped]
    assert reasons and all(reason.startswith("interrupted after epoch") for reason in reasons), (reasons, stderr)
    waiting = [t for t in trials if t.state.name == "WAITING"]
    assert sorted(t.user_attrs["retry_of"] for t in waiting) == [t.number for t in stopped], stderr


@pytest.mark.slow
def test_a_worker_whose_hpo_process_is_killed_stops_at_the_epoch_boundary(tmp_path):
    home = tmp_path / "hpo-runs"
    url = f"sqlite:///{home / 'hpo.db'}"
    # Long trials, so that a poll slowed by a loaded machine still finds one mid-way (they are
    # stopped long before their last epoch: the test costs no more for it).
    script = write_study_script(tmp_path, name="orphaned", n_trials=3, max_epochs=300, patience=300, pruner="none")
    env = {**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""}
    process = subprocess.Popen(hpo_command("run", str(script)), cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    trial = worker = None
    while trial is None and time.monotonic() < deadline:
        time.sleep(0.2)
        if home.joinpath("hpo.db").exists():
            trial, worker = running_trial_and_worker(url, "orphaned", home, epochs=2)
    assert worker is not None, "no trial was seen running with 2 epochs"
    assert worker != process.pid  # trials run in a worker process
    process.kill()
    process.wait()
    while time.monotonic() < deadline and os.path.exists(f"/proc/{worker}"):
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{worker}"), "the worker outlived hpo"
    trials = optuna.load_study(study_name="orphaned", storage=url).trials
    assert trials[trial.number].state.name == "FAIL"
    assert trials[trial.number].user_attrs["fail_reason"].startswith("interrupted after epoch")
    assert [t.user_attrs["retry_of"] for t in trials if t.state.name == "WAITING"] == [trial.number]


@pytest.mark.slow
def test_a_metric_workers_cannot_find_stops_them_before_any_trial_with_one_line(tmp_path):
    home = tmp_path / "hpo-runs"
    script = write_study_script(tmp_path, name="typo", metric="val_acc", direction="maximize")
    env = {**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""}
    result = subprocess.run(hpo_command("run", str(script), "--workers", "1"), cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(r"hpo: error: worker w1: metric 'val_acc' is not in Keras' logs", lines[0])
    study = optuna.load_study(study_name="typo", storage=f"sqlite:///{home / 'hpo.db'}")
    assert [t.state.name for t in study.trials] == ["WAITING"]  # the enqueued defaults, never started


# The pool's decisions, without processes ------------------------------------------------------

@pytest.mark.parametrize("code, stopping, kind", [
    (0, False, "done"), (0, True, "done"),
    (EXIT_INTERRUPTED, True, "stopped"),  # asked to stop, and it did
    (-signal.SIGTERM, True, "stopped"),  # stopped before it installed its handlers
    (EXIT_SETUP, False, "failed"), (EXIT_STUDY_FAILED, True, "failed"),  # a failure counts even while stopping
    (-signal.SIGKILL, False, "crashed"), (EXIT_INTERRUPTED, False, "crashed"),  # nobody asked it to stop
    (3, False, "crashed"),
])
def test_a_workers_exit_code_is_read_in_context(code, stopping, kind):
    assert classify_exit(code, stopping=stopping, label="w1").kind == kind


def test_a_failed_worker_names_itself_and_its_error_line_and_keeps_its_exit_code():
    failed = classify_exit(EXIT_SETUP, stopping=False, label="w2", last_error="metric 'val_f1' not logged")
    assert failed == WorkerExit("failed", "worker w2: metric 'val_f1' not logged", EXIT_SETUP)
    assert classify_exit(EXIT_STUDY_FAILED, stopping=False, label="w1").detail == "worker w1: exit code 1"
    assert classify_exit(-9, stopping=False, label="w1").detail == "signal 9"


def test_a_failure_stops_the_pool_and_its_first_reason_is_raised_with_its_code():
    state = PoolState(size=2)
    assert state.may_start(budget_done=False)
    assert state.record(WorkerExit("failed", "worker w1: broken", EXIT_SETUP)) is True
    assert state.record(WorkerExit("failed", "worker w2: also broken", EXIT_STUDY_FAILED)) is True
    assert state.stopping and not state.may_start(budget_done=False)
    with pytest.raises(WorkerError, match="worker w1: broken") as raised:
        state.end()
    assert raised.value.exit_code == EXIT_SETUP


def test_three_crashes_per_worker_in_a_row_fail_the_study_and_a_finished_worker_resets_the_count():
    state = PoolState(size=1)
    crash = WorkerExit("crashed", "signal 9")
    assert state.record(crash) is False and state.record(crash) is False
    assert state.record(WorkerExit("done")) is False  # a recycled worker finished its trials
    assert state.record(crash) is False and state.record(crash) is False
    assert state.record(crash) is True
    with pytest.raises(WorkerError, match="3 workers died in a row; last: signal 9"):
        state.end()


def test_a_signal_stops_starting_workers_and_ends_the_pool_as_an_interrupt():
    state = PoolState(size=2)
    state.signals = 1
    assert not state.may_start(budget_done=False)
    assert state.record(WorkerExit("stopped")) is False
    with pytest.raises(KeyboardInterrupt):
        state.end()


def test_the_pool_ends_quietly_when_the_budget_is_met():
    state = PoolState(size=2)
    assert not state.may_start(budget_done=True)
    state.record(WorkerExit("done"))
    state.end()
