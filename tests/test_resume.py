"""Interrupted studies: kill -9, Ctrl-C and SIGTERM in the middle of a trial, then re-run."""

import os
import signal
import subprocess
import time

import optuna
import pytest

from tests.conftest import REPO, hpo_command, write_study_script

pytestmark = pytest.mark.training


def _start(script, env):
    return subprocess.Popen(hpo_command("run", str(script)), cwd=REPO, env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_mid_trial(process, url, name, *, finished_at_least, timeout=180):
    """Until `finished_at_least` trials are done and another has reported an epoch."""
    # Read the database only after hpo printed its first trial: opening it earlier from here
    # would race hpo's own creation of the file.
    for line in process.stdout:
        if line.startswith("[trial"):
            break
    else:
        raise AssertionError(f"hpo exited early: {process.communicate()[1]}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        trials = optuna.load_study(study_name=name, storage=url).trials
        done = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
        running = [t for t in trials if t.state.name == "RUNNING" and t.intermediate_values]
        if len(done) >= finished_at_least and running:
            return
        time.sleep(0.2)
    raise AssertionError("the study never reached the middle of a trial")


def _setup(tmp_path, name):
    # Long enough trials (no pruning, no early stop) that a signal lands inside one.
    script = write_study_script(tmp_path, name=name, n_trials=4, max_epochs=25, patience=25, pruner="none")
    home = tmp_path / "hpo-runs"
    return script, {"HPO_HOME": str(home), "HPO_STORAGE": ""}, f"sqlite:///{home / 'hpo.db'}"


def test_a_study_killed_mid_trial_resumes_to_exactly_its_budget(tmp_path):
    script, env, url = _setup(tmp_path, "killed")
    process = _start(script, env)
    _wait_until_mid_trial(process, url, "killed", finished_at_least=2)
    process.kill()
    process.communicate()

    before = optuna.load_study(study_name="killed", storage=url).trials
    finished_before = {t.number: t.value for t in before if t.state.name == "COMPLETE"}
    orphans = [t.number for t in before if t.state.name == "RUNNING"]
    assert len(finished_before) >= 2 and len(orphans) == 1

    rerun = subprocess.run(hpo_command("run", str(script)), cwd=REPO, env={**os.environ, **env},
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    after = optuna.load_study(study_name="killed", storage=url).trials
    assert {t.number: t.value for t in after if t.number in finished_before} == finished_before
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in after) == 4
    assert not [t for t in after if t.state.name in ("RUNNING", "WAITING")]
    orphan = after[orphans[0]]
    assert orphan.state.name == "FAIL" and "died while running this trial" in orphan.user_attrs["fail_reason"]
    assert len(optuna.load_study(study_name="killed", storage=url).trials) == 5  # 4 finished + the dead one


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_the_run_records_the_trial_and_says_how_to_resume(tmp_path, signal_number):
    script, env, url = _setup(tmp_path, "stopped")
    process = _start(script, env)
    _wait_until_mid_trial(process, url, "stopped", finished_at_least=1)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "hpo resume stopped" in stderr
    trials = optuna.load_study(study_name="stopped", storage=url).trials
    assert not [t for t in trials if t.state.name == "RUNNING"]
    interrupted = [t for t in trials if t.state.name == "FAIL"]
    assert len(interrupted) == 1 and interrupted[0].user_attrs["fail_reason"].startswith("interrupted")
