"""Schedulers for real: `hpo run` with ASHA on the digits MLP, two workers, an epoch budget,
a power loss in the middle, and two hosts on PostgreSQL."""

import os
import re
import signal
import subprocess
import time

import optuna
import pytest

from hpo.schedulers.chains import chains, epochs_charged
from tests.conftest import REPO, hpo_command, running_trial_and_worker, write_study_script

pytestmark = pytest.mark.slow

BUDGET = 30


def _script(tmp_path, name, workers):
    return write_study_script(tmp_path, name=name, n_trials=200, max_epochs=9, patience=9, pruner="none",
                              scheduler="asha", scheduler_options={"min_epochs": 1}, epoch_budget=BUDGET,
                              workers=workers, recycle_after=0)


def _check_the_study(url, name, home):
    trials = optuna.load_study(study_name=name, storage=url).trials
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    assert epochs_charged(trials) == BUDGET  # exactly, with two workers granting epochs
    continuations = [t for t in trials if "continues" in t.user_attrs]
    assert continuations, "ASHA promoted nothing"
    for continuation in continuations:
        paused = trials[continuation.user_attrs["continues"]]
        epoch = paused.user_attrs["paused_at_epoch"]
        assert continuation.params == paused.params and paused.state.name == "PRUNED"
        assert continuation.user_attrs["seed"] == paused.user_attrs.get("seed", paused.number)
        if continuation.state.name == "FAIL":
            continue  # killed, maybe before it reported its checkpoint's epochs again
        # The curve goes on where the paused trial's ended: its epochs reported again, the next trained.
        assert {s: v for s, v in continuation.intermediate_values.items() if s <= epoch} == paused.intermediate_values
        if "retry_of" not in continuation.user_attrs:
            assert continuation.user_attrs["resumed_from_epoch"] == epoch + 1
            assert paused.user_attrs.get("promoted_to") == continuation.number
    for chain in chains(trials):
        assert sorted(chain.curve) == list(range(1, len(chain.curve) + 1))
    assert list(home.glob("studies/*/checkpoints/trial-*")) == []  # paused ones released at the end
    return trials


def test_asha_with_two_workers_pauses_promotes_and_trains_exactly_the_epoch_budget(tmp_path):
    home = tmp_path / "hpo-runs"
    script = _script(tmp_path, "asha", workers=2)
    result = subprocess.run(hpo_command("run", str(script)), cwd=REPO, capture_output=True, text=True, timeout=400,
                            env={**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""})
    assert result.returncode == 0, result.stderr
    assert "scheduler asha" in result.stdout and "paused at epoch 1" in result.stdout
    assert f"epochs trained: {BUDGET}/{BUDGET}" in result.stdout
    peak = re.search(r"checkpoints of paused trials: peak ([0-9.]+) MiB", result.stdout)
    assert peak is not None and float(peak.group(1)) > 0, result.stdout
    print(peak.group(0))
    trials = _check_the_study(f"sqlite:///{home / 'hpo.db'}", "asha", home)
    assert {t.user_attrs.get("paused_at_epoch") for t in trials} >= {1, 3}  # rungs 1 and 3 of 9 epochs


def test_a_power_loss_mid_study_loses_no_finished_epoch_and_the_budget_stays_exact(tmp_path):
    home = tmp_path / "hpo-runs"
    url = f"sqlite:///{home / 'hpo.db'}"
    script = _script(tmp_path, "asha_killed", workers=1)
    env = {**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""}
    process = subprocess.Popen(hpo_command("run", str(script)), cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    victim = worker = None
    while time.monotonic() < deadline and worker is None:
        trial, pid = running_trial_and_worker(url, "asha_killed", home, epochs=2)
        own = len(trial.intermediate_values) - trial.user_attrs.get("resumed_from_epoch", 99) if trial else -1
        if trial is not None and "continues" in trial.user_attrs and own >= 1:  # a continuation, mid-way
            victim, worker = trial, pid
        time.sleep(0.1)
    assert worker is not None, "no continuation was ever caught running"
    os.kill(worker, signal.SIGKILL)
    process.kill()
    process.communicate()

    rerun = subprocess.run(hpo_command("run", str(script)), cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=400)
    assert rerun.returncode == 0, rerun.stderr
    trials = _check_the_study(url, "asha_killed", home)
    dead = trials[victim.number]
    assert dead.state.name == "FAIL" and "died while running this trial" in dead.user_attrs["fail_reason"]
    retry = next(t for t in trials if t.user_attrs.get("retry_of") == dead.number)
    assert retry.user_attrs["continues"] == victim.user_attrs["continues"]  # still the same chain
    assert retry.user_attrs["resumed_from_epoch"] > victim.user_attrs["resumed_from_epoch"]  # from its checkpoint


def test_on_postgresql_a_trial_paused_on_one_host_is_promoted_on_the_other(tmp_path, postgres_url):
    # Host a creates the study (hpo run), host b joins (hpo worker): own HPO_HOMEs, one
    # database and one artifact directory in common, through which checkpoints cross.
    script = _script(tmp_path, "asha_hosts", workers=1)  # one worker on each of two hosts
    shared = ["--artifacts", str(tmp_path / "shared")]
    env = {name: {**os.environ, "HPO_HOST": name, "HPO_HOME": str(tmp_path / name), "HPO_STORAGE": ""}
           for name in ("a", "b")}
    host_a = subprocess.Popen(hpo_command("run", str(script), "--storage", postgres_url, *shared), cwd=REPO,
                              env=env["a"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in host_a.stdout:
        if "created study" in line:
            break
    host_b = subprocess.Popen(hpo_command("worker", "asha_hosts", "--storage", postgres_url, *shared), cwd=REPO,
                              env=env["b"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, a_errors = host_a.communicate(timeout=400)
    _, b_errors = host_b.communicate(timeout=400)
    assert host_a.returncode == 0 and host_b.returncode == 0, a_errors + b_errors

    trials = optuna.load_study(study_name="asha_hosts", storage=postgres_url).trials
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    assert epochs_charged(trials) == BUDGET  # exact across two hosts
    crossed = [t for t in trials if "continues" in t.user_attrs
               and t.user_attrs["host"] != trials[t.user_attrs["continues"]].user_attrs["host"]]
    assert crossed, "no continuation ran on the other host"
    for continuation in crossed:  # from the paused trial's checkpoint, uploaded by the other host
        paused = trials[continuation.user_attrs["continues"]]
        assert continuation.user_attrs["resumed_from_epoch"] == paused.user_attrs["paused_at_epoch"] + 1
    assert {t.user_attrs["host"] for t in trials} == {"a", "b"}
    # Promotions are decided under the database's lock: no paused trial was continued twice.
    continued = [t.user_attrs["continues"] for t in trials if "continues" in t.user_attrs and "retry_of" not in t.user_attrs]
    assert len(continued) == len(set(continued))
