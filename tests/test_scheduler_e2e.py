"""Schedulers for real: `hpo run` with ASHA on the digits MLP, two workers, an epoch budget,
a power loss in the middle, and two hosts on PostgreSQL."""

import os
import re
import signal
import subprocess
import time

import optuna
import pytest
from sqlalchemy.exc import SQLAlchemyError

from hpo.schedulers._chains import chains, epochs_charged
from tests.conftest import REPO, hpo_command, running_trial_and_worker, write_gated_objective, write_study_script

pytestmark = pytest.mark.slow

BUDGET = 30


def _script(tmp_path, name, workers, objective="mlp"):
    return write_study_script(tmp_path, name=name, objective=str(objective), n_trials=200, max_epochs=9, patience=9,
                              pruner="none",
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


def _kill_a_running_trial(script, env, url, name, home, gate, wanted):
    """Run the study script, whose objective is the gated MLP (:func:`write_gated_objective`);
    kill -9 the worker of the first running trial for which ``wanted(trial)`` holds, waiting at
    the gate with one epoch of its own saved and reported; then kill the run and open the gate.
    Returns that trial."""
    process = subprocess.Popen(hpo_command("run", str(script)), cwd=REPO, env={**env, "HPO_TEST_GATE": str(gate)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    victim = worker = None
    while time.monotonic() < deadline and worker is None and process.poll() is None:
        trial, pid = running_trial_and_worker(url, name, home)
        if trial is not None and len(trial.intermediate_values) >= trial.user_attrs.get("resumed_from_epoch", 99) \
                and wanted(trial):
            victim, worker = trial, pid
        time.sleep(0.05)
    assert worker is not None, "no wanted trial was ever caught running"
    os.kill(worker, signal.SIGKILL)
    killed = [int(m.name) for m in home.glob("studies/*/running/*") if m.read_text().endswith(f":{worker}")]
    assert killed == [victim._trial_id], "the trial ended before the kill"
    # Open the gate first: another worker of the run waiting there holds the run's output
    # open; let through, it stops at the epoch's end, since its parent is gone.
    gate.unlink()
    process.kill()
    process.communicate()
    return victim


def test_asha_with_two_workers_pauses_promotes_and_trains_exactly_the_epoch_budget(tmp_path):
    home = tmp_path / "hpo-runs"
    script = _script(tmp_path, "asha", workers=2)
    result = subprocess.run(hpo_command("run", str(script)), cwd=REPO, capture_output=True, text=True, timeout=400,
                            env={**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""})
    assert result.returncode == 0, result.stderr
    assert "scheduler asha" in result.stdout and "paused at epoch 1" in result.stdout
    assert f"epochs trained: {BUDGET}/{BUDGET}" in result.stdout
    assert re.search(r"finished trials: \d+ \(\d+/200 configurations, \d+ run now\)", result.stdout), result.stdout
    peak = re.search(r"checkpoints of paused trials: peak ([0-9.]+) MiB", result.stdout)
    assert peak is not None and float(peak.group(1)) > 0, result.stdout
    print(peak.group(0))
    trials = _check_the_study(f"sqlite:///{home / 'hpo.db'}", "asha", home)
    assert {t.user_attrs.get("paused_at_epoch") for t in trials} >= {1, 3}  # rungs 1 and 3 of 9 epochs


def test_a_power_loss_mid_study_loses_no_finished_epoch_and_the_budget_stays_exact(tmp_path):
    home = tmp_path / "hpo-runs"
    url = f"sqlite:///{home / 'hpo.db'}"
    objective, gate = write_gated_objective(tmp_path)
    script = _script(tmp_path, "asha_killed", workers=1, objective=objective)
    env = {**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""}
    # a continuation mid-way: one epoch of its own trained
    victim = _kill_a_running_trial(script, env, url, "asha_killed", home, gate, lambda trial: "continues" in trial.user_attrs)

    rerun = subprocess.run(hpo_command("run", str(script)), cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=400)
    assert rerun.returncode == 0, rerun.stderr
    trials = _check_the_study(url, "asha_killed", home)
    dead = trials[victim.number]
    assert dead.state.name == "FAIL" and "died while running this trial" in dead.user_attrs["fail_reason"]
    retry = next(t for t in trials if t.user_attrs.get("retry_of") == dead.number)
    assert retry.user_attrs["continues"] == victim.user_attrs["continues"]  # still the same chain
    assert retry.user_attrs["resumed_from_epoch"] > victim.user_attrs["resumed_from_epoch"]  # from its checkpoint


def _paused_at_first_rung(url, name):
    try:
        trials = optuna.load_study(study_name=name, storage=url).trials
    except (KeyError, SQLAlchemyError):  # the study is not there yet
        return 0
    return sum(t.user_attrs.get("paused_at_epoch") == 1 for t in trials)


def test_on_postgresql_a_trial_paused_on_one_host_is_promoted_on_the_other(tmp_path, postgres_url):
    # Host a creates the study (hpo run) and runs it until three configurations have paused at
    # the first rung, then is stopped (Ctrl-C); host b joins (hpo worker) and runs the study to
    # its end. Own HPO_HOMEs, one database and one artifact directory in common, through which
    # the checkpoints cross. Whatever host b continues of host a's (the best of the three,
    # promoted, or host a's interrupted continuation, retried) crosses hosts. Started side by
    # side instead, a loaded machine let host a meet the budget before host b's worker was up.
    script = _script(tmp_path, "asha_hosts", workers=1)
    shared = ["--artifacts", str(tmp_path / "shared")]
    env = {name: {**os.environ, "HPO_HOST": name, "HPO_HOME": str(tmp_path / name), "HPO_STORAGE": ""}
           for name in ("a", "b")}
    host_a = subprocess.Popen(hpo_command("run", str(script), "--storage", postgres_url, *shared), cwd=REPO,
                              env=env["a"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and host_a.poll() is None and _paused_at_first_rung(postgres_url, "asha_hosts") < 3:
        time.sleep(0.05)
    host_a.send_signal(signal.SIGINT)
    _, a_errors = host_a.communicate(timeout=120)
    assert host_a.returncode == 130, a_errors  # stopped mid-study, not finished
    host_b = subprocess.run(hpo_command("worker", "asha_hosts", "--storage", postgres_url, *shared), cwd=REPO,
                            env=env["b"], capture_output=True, text=True, timeout=400)
    assert host_b.returncode == 0, host_b.stderr

    trials = optuna.load_study(study_name="asha_hosts", storage=postgres_url).trials
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    assert epochs_charged(trials) == BUDGET  # exact across two hosts
    crossed = [t for t in trials if "continues" in t.user_attrs
               and t.user_attrs["host"] != trials[t.user_attrs["continues"]].user_attrs["host"]]
    assert crossed, "no continuation ran on the other host"
    for continuation in crossed:  # from the paused trial's checkpoint, uploaded by the other host
        paused = trials[continuation.user_attrs["continues"]]
        resumed, rung = continuation.user_attrs["resumed_from_epoch"], paused.user_attrs["paused_at_epoch"]
        # a retry of an interrupted continuation goes on from that one's checkpoint, later
        assert resumed == rung + 1 or ("retry_of" in continuation.user_attrs and resumed > rung)
    assert {t.user_attrs["host"] for t in trials} == {"a", "b"}
    # Promotions are decided under the database's lock: no paused trial was continued twice.
    continued = [t.user_attrs["continues"] for t in trials if "continues" in t.user_attrs and "retry_of" not in t.user_attrs]
    assert len(continued) == len(set(continued))


def test_pbt_exploits_and_explores_survives_a_kill_mid_segment_and_best_retrains_the_winners_schedule(tmp_path):
    # A population of 4, 6 epochs each in segments of 3, on two workers; one segment that went
    # on from a checkpoint is killed -9 after its first epoch, and the run is started again.
    home = tmp_path / "hpo-runs"
    url = f"sqlite:///{home / 'hpo.db'}"
    objective, gate = write_gated_objective(tmp_path)
    script = write_study_script(tmp_path, name="pbt", objective=str(objective), n_trials=4, max_epochs=6, patience=6,
                                pruner="none", sampler="random", scheduler="pbt", workers=2, recycle_after=0,
                                scheduler_options={"interval": 3, "mutable": ["learning_rate", "dropout"]})
    env = {**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""}
    victim = _kill_a_running_trial(script, env, url, "pbt", home, gate, lambda trial: "pbt_parent" in trial.user_attrs)
    rerun = subprocess.run(hpo_command("run", str(script)), cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=400)
    assert rerun.returncode == 0, rerun.stderr
    assert "scheduler pbt" in rerun.stdout and "segments done" in rerun.stdout
    assert re.search(r"finished trials: \d+ \(4/4 members, \d+ run now\)", rerun.stdout), rerun.stdout

    trials = optuna.load_study(study_name="pbt", storage=url).trials
    alive = [t for t in trials if t.state.name != "FAIL"]
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    by_member = {}
    for trial in alive:
        by_member.setdefault(trial.user_attrs["pbt_member"], []).append(trial)
    assert len(by_member) == 4
    for segments in by_member.values():  # two segments each, the last complete at epoch 6
        assert [s.user_attrs["pbt_generation"] for s in segments] == [0, 1]
        assert segments[-1].state.name == "COMPLETE" and sorted(segments[-1].intermediate_values) == [1, 2, 3, 4, 5, 6]
    exploits = []
    for segment in alive:
        parent = segment.user_attrs.get("pbt_parent")
        if parent is None:
            continue
        donor = trials[parent]
        start = donor.user_attrs["paused_at_epoch"]
        # It went on from the parent's checkpoint: the parent's epochs reported again, one curve.
        assert {s: v for s, v in segment.intermediate_values.items() if s <= start} == donor.intermediate_values
        if donor.user_attrs["pbt_member"] != segment.user_attrs["pbt_member"]:
            exploits.append(segment)
            assert {k: v for k, v in segment.params.items() if k not in ("learning_rate", "dropout")} == \
                {k: v for k, v in donor.params.items() if k not in ("learning_rate", "dropout")}
            assert (segment.params["learning_rate"], segment.params["dropout"]) != \
                (donor.params["learning_rate"], donor.params["dropout"])  # explored
        else:
            assert segment.params == donor.params
    assert exploits, "no member ever copied a better one"
    dead = trials[victim.number]
    assert dead.state.name == "FAIL"
    retry = next(t for t in trials if t.user_attrs.get("retry_of") == dead.number)
    assert {k: retry.user_attrs[k] for k in ("pbt_member", "pbt_generation", "pbt_parent")} == \
        {k: victim.user_attrs[k] for k in ("pbt_member", "pbt_generation", "pbt_parent")}
    assert retry.user_attrs["resumed_from_epoch"] >= 5  # epoch 4, trained before the kill, was kept
    assert list(home.glob("studies/*/checkpoints/trial-*")) == []

    show = subprocess.run(hpo_command("show", "pbt"), cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert "sampler random, scheduler pbt {" in show.stdout and "budget 4 members," in show.stdout, show.stdout
    best = subprocess.run(hpo_command("best", "pbt"), cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert best.returncode == 0, best.stderr
    assert "trained with the winning member's schedule:" in best.stdout
    assert [int(e) for e in re.findall(r"from epoch (\d+):", best.stdout)] == [1, 4]


OWN_EXTRAS = '''
import json

from hpo.schedulers import NextTrial, Scheduler
from hpo.tracking import Tracker


class PauseOnce(Scheduler):
    """Every configuration pauses after its first epoch; each paused one is continued, in order."""

    def pause_epochs(self, attrs):
        return frozenset() if "continues" in attrs else frozenset({1})

    def next_trial(self, trials, *, can_resume):
        continued = {t.user_attrs.get("continues") for t in trials}
        for trial in trials:
            if "paused_at_epoch" in trial.user_attrs and trial.number not in continued and can_resume(trial.number):
                return NextTrial(source=trial, params=dict(trial.params), attrs={"continues": trial.number},
                                 promoted=True)
        return None


class Lines(Tracker):
    name = "lines"

    def __init__(self, target):
        self.target = target

    def _write(self, *event):
        with open(self.target, "a") as out:
            out.write(json.dumps(event) + "\\n")

    def trial_started(self, start):
        self._write("started", start.number, start.run)

    def epoch_ended(self, number, epoch, logs):
        self._write("epoch", number, epoch)

    def trial_finished(self, end):
        self._write("finished", end.number, end.state)
'''


def test_a_scheduler_and_a_tracker_of_the_users_own_run_a_study(tmp_path):
    import json

    home, events = tmp_path / "hpo-runs", tmp_path / "events.jsonl"
    (tmp_path / "extras.py").write_text(OWN_EXTRAS)
    script = write_study_script(tmp_path, name="own", n_trials=2, max_epochs=2, patience=2, pruner="none",
                                scheduler="extras.py:PauseOnce", tracking={"extras.py:Lines": str(events)},
                                workers=1, recycle_after=0)
    result = subprocess.run(hpo_command("run", str(script)), cwd=REPO, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""})
    assert result.returncode == 0, result.stderr
    assert "tracking: lines" in result.stdout and "finished trials: 4 (2/2 configurations" in result.stdout
    trials = optuna.load_study(study_name="own", storage=f"sqlite:///{home / 'hpo.db'}").trials
    paused = [t for t in trials if t.user_attrs.get("paused_at_epoch") == 1]
    done = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(paused) == 2 and len(done) == 2
    for continuation in done:  # each went on from its paused trial's checkpoint: one curve
        source = trials[continuation.user_attrs["continues"]]
        assert continuation.params == source.params and continuation.user_attrs["resumed_from_epoch"] == 2
        assert source.user_attrs["promoted_to"] == continuation.number
        assert sorted(continuation.intermediate_values) == [1, 2]
    seen = [json.loads(line) for line in events.read_text().splitlines()]
    assert [e[1] for e in seen if e[0] == "started"] == [0, 1, 2, 3]
    assert {(e[1], e[2]) for e in seen if e[0] == "finished"} == {(t.number, t.state.name) for t in trials}
    assert sum(e[0] == "epoch" for e in seen) == 4  # one epoch per trial trained
