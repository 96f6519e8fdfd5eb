"""Interrupted studies: kill -9, Ctrl-C and SIGTERM in the middle of a trial, then re-run."""

import os
import signal
import subprocess
import time

import optuna
import pytest

from tests.conftest import REPO, hpo_command, running_trial_and_worker, write_gated_objective, write_study_script

pytestmark = pytest.mark.slow


def _start(script, env):
    return subprocess.Popen(hpo_command("run", str(script)), cwd=REPO, env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_mid_trial(process, url, name, *, finished_at_least, epochs_at_least=1, timeout=180):
    """Until `finished_at_least` trials are done and another has reported some epochs."""
    # Read the database only after hpo printed its first trial: opening it earlier from here
    # would race hpo's own creation of the file.
    for line in process.stdout:
        if "[trial" in line:  # "w1 [trial ..." with workers
            break
    else:
        raise AssertionError(f"hpo exited early: {process.communicate()[1]}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        trials = optuna.load_study(study_name=name, storage=url).trials
        done = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
        running = [t for t in trials if t.state.name == "RUNNING" and len(t.intermediate_values) >= epochs_at_least]
        if len(done) >= finished_at_least and running:
            return
        time.sleep(0.2)
    raise AssertionError("the study never reached the middle of a trial")


# Long enough trials (no pruning, no early stop) that a signal lands inside one: a test sends
# it some 0.5 s after it saw the trial's first epoch, and 15 epochs of the digits MLP take
# only 1.1 s.
TRIAL_EPOCHS = 60


def _setup(tmp_path, name, max_epochs=TRIAL_EPOCHS, n_trials=4, **settings):
    script = write_study_script(tmp_path, name=name, n_trials=n_trials, max_epochs=max_epochs,
                                patience=max_epochs, pruner="none", **settings)
    home = tmp_path / "hpo-runs"
    return script, {"HPO_HOME": str(home), "HPO_STORAGE": ""}, f"sqlite:///{home / 'hpo.db'}"


def _trials(url, name):
    return optuna.load_study(study_name=name, storage=url).trials


def _checkpoint_dirs(home):
    return list((home / "studies").glob("*/checkpoints/trial-*"))


# The trials of the killed run after its first two wait at a gate with 3 epochs saved and
# reported (tests/conftest.py's gated MLP), so the kill lands mid-trial however loaded the
# machine is, and the trials need only a few epochs. On torch too: its checkpoints hold the same
# weights and optimizer state.
GATED_EPOCHS = 6


@pytest.mark.parametrize("backend", ["tensorflow", "torch"])
def test_a_study_killed_mid_trial_retries_the_trial_from_its_last_epoch(tmp_path, backend):
    objective, gate = write_gated_objective(tmp_path)
    script, env, url = _setup(tmp_path, "killed", max_epochs=GATED_EPOCHS, backend=backend, objective=str(objective))
    process = _start(script, {**env, "HPO_TEST_GATE": str(gate), "HPO_TEST_GATE_AT": "3", "HPO_TEST_GATE_AFTER": "2"})
    _wait_until_mid_trial(process, url, "killed", finished_at_least=2, epochs_at_least=3)
    _, worker = running_trial_and_worker(url, "killed", tmp_path / "hpo-runs", epochs=3)
    # Everything dies at once, as in a power loss: the worker training the trial, then hpo.
    os.kill(worker, signal.SIGKILL)
    process.kill()
    process.communicate()
    gate.unlink()

    before = _trials(url, "killed")
    finished_before = {t.number: t.value for t in before if t.state.name == "COMPLETE"}
    orphans = [t for t in before if t.state.name == "RUNNING"]
    assert len(finished_before) >= 2 and len(orphans) == 1
    dead = orphans[0]

    rerun = subprocess.run(hpo_command("run", str(script)), cwd=REPO, env={**os.environ, **env},
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"Keras on {backend}" in rerun.stdout  # what the worker process imported
    after = _trials(url, "killed")
    assert {t.number: t.value for t in after if t.number in finished_before} == finished_before
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in after) == 4  # exactly the budget
    assert not [t for t in after if t.state.name in ("RUNNING", "WAITING")]
    assert after[dead.number].state.name == "FAIL"
    assert "died while running this trial" in after[dead.number].user_attrs["fail_reason"]
    retries = [t for t in after if t.user_attrs.get("retry_of") == dead.number]
    assert len(retries) == 1
    retry = retries[0]
    assert retry.state.name == "COMPLETE" and retry.params == after[dead.number].params
    # It began where the dead trial's checkpoint ended (at most the epoch in flight is lost),
    # and its curve continues the dead trial's. An epoch is checkpointed before it is reported,
    # so a kill between the two leaves storage one epoch behind the checkpoint: the retry
    # reports that epoch.
    dead_curve = after[dead.number].intermediate_values
    saved = retry.user_attrs["resumed_from_epoch"] - 1
    assert saved >= 3 and saved - 1 <= len(dead_curve) <= saved
    assert all(retry.intermediate_values[step] == dead_curve[step] for step in dead_curve)
    assert sorted(retry.intermediate_values)[:saved] == list(range(1, saved + 1))
    assert retry.user_attrs["epochs_trained"] == len(retry.intermediate_values) == GATED_EPOCHS
    assert len(after) == 5  # 4 finished + the dead one
    assert _checkpoint_dirs(tmp_path / "hpo-runs") == []  # no checkpoint outlives its trial
    best = min(t.number for t in after if t.value == max(t.value or 0 for t in after))
    kept = list((tmp_path / "hpo-runs" / "models" / "killed").glob("*.keras"))
    assert [path.name for path in kept] == [f"trial-{best}.keras"]  # the best trial's model only
    assert optuna.load_study(study_name="killed", storage=url).user_attrs["hpo_spec"]["backend"] == backend
    assert after[best].user_attrs["weight_histograms"]["tensors"]  # computed from the kept model


def test_a_signal_stops_at_the_epoch_boundary_and_the_retry_continues_there(tmp_path):
    # A budget of 2: one trial finishes, one is stopped, and the resume runs just its retry.
    # SIGTERM, what a scheduler (SLURM, Kubernetes) sends; Ctrl-C's SIGINT goes to the same
    # handler (tests/test_interrupts.py) and through hpo in test_a_second_ctrl_c_... below.
    signal_number = signal.SIGTERM
    script, env, url = _setup(tmp_path, "stopped", n_trials=2)
    process = _start(script, env)
    _wait_until_mid_trial(process, url, "stopped", finished_at_least=1)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "stopping after the current epoch" in stderr and "hpo resume stopped" in stderr
    trials = _trials(url, "stopped")
    assert not [t for t in trials if t.state.name == "RUNNING"]
    interrupted = [t for t in trials if t.state.name == "FAIL"]
    assert len(interrupted) == 1
    stopped = interrupted[0]
    epochs = len(stopped.intermediate_values)
    assert stopped.user_attrs["fail_reason"].startswith(f"interrupted after epoch {epochs} ")
    assert len(_checkpoint_dirs(tmp_path / "hpo-runs")) == 1  # kept for the retry

    resumed = subprocess.run(hpo_command("resume", "stopped"), cwd=REPO, env={**os.environ, **env},
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    retry = next(t for t in _trials(url, "stopped") if t.user_attrs.get("retry_of") == stopped.number)
    assert retry.state.name == "COMPLETE" and retry.user_attrs["resumed_from_epoch"] == epochs + 1


def test_a_second_ctrl_c_stops_at_once_and_loses_nothing_finished(tmp_path):
    script, env, url = _setup(tmp_path, "hurried")
    process = _start(script, env)
    _wait_until_mid_trial(process, url, "hurried", finished_at_least=1)
    finished = {t.number: t.value for t in _trials(url, "hurried") if t.state.name == "COMPLETE"}
    process.send_signal(signal.SIGINT)
    time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    trials = _trials(url, "hurried")
    assert {t.number: t.value for t in trials if t.number in finished} == finished
    assert not [t for t in trials if t.state.name == "RUNNING"]
    stopped = [t for t in trials if t.state.name == "FAIL"]
    # Where in the epoch the second signal lands is up to timing (tests/test_interrupts.py
    # checks that it raises at once); either way the trial is recorded and queued for retry.
    assert len(stopped) == 1 and stopped[0].user_attrs["fail_reason"].startswith("interrupted")
    assert "retry queued" in stopped[0].user_attrs["fail_reason"]


def test_a_users_data_study_with_two_workers_killed_mid_trial_resumes_to_the_exact_budget(tmp_path):
    # The diabetes example's own data and model modules (regression, val_mae), two workers.
    # Each worker's trials after its first wait at the gate with 3 epochs saved and reported
    # (tests/conftest.py's gate around the diabetes model), so the kill lands mid-trial.
    objective, gate = write_gated_objective(tmp_path, REPO / "studies" / "models" / "diabetes_mlp.py")
    script, env, url = _setup(
        tmp_path, "own_killed", max_epochs=GATED_EPOCHS, n_trials=3, workers=2, recycle_after=0,
        objective=str(objective), dataset=str(REPO / "studies" / "data" / "diabetes.py"), metric="val_mae")
    process = _start(script, {**env, "HPO_TEST_GATE": str(gate), "HPO_TEST_GATE_AT": "3", "HPO_TEST_GATE_AFTER": "1"})
    # Once both workers' first trials finished, the one running is the gated third (an ungated
    # one seen at epoch 3 may end before the kill lands, its checkpoint gone with it).
    _wait_until_mid_trial(process, url, "own_killed", finished_at_least=2, epochs_at_least=3)
    victim, worker = running_trial_and_worker(url, "own_killed", tmp_path / "hpo-runs", epochs=3)
    assert worker is not None, "no trial reached its third epoch"
    os.kill(worker, signal.SIGKILL)
    process.kill()  # the driver dies too; the other worker notices its parent is gone
    process.communicate()
    gate.unlink()

    before = _trials(url, "own_killed")
    finished_before = {t.number: t.value for t in before if t.state.name == "COMPLETE"}
    rerun = subprocess.run(hpo_command("run", str(script)), cwd=REPO, env={**os.environ, **env},
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    after = _trials(url, "own_killed")
    study = optuna.load_study(study_name="own_killed", storage=url)
    assert study.direction.name == "MINIMIZE" and study.user_attrs["hpo_data"]["task"] == "regression"
    assert {t.number: t.value for t in after if t.number in finished_before} == finished_before
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in after) == 3  # exactly the budget
    assert not [t for t in after if t.state.name in ("RUNNING", "WAITING")]
    assert after[victim.number].state.name == "FAIL"
    [retry] = [t for t in after if t.user_attrs.get("retry_of") == victim.number]
    assert retry.state.name == "COMPLETE" and retry.user_attrs["resumed_from_epoch"] >= 4
    assert _checkpoint_dirs(tmp_path / "hpo-runs") == []
