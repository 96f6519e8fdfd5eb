"""Faults of what a study stands on, on real servers and real disks: a PostgreSQL server killed
and restarted, or stopped for 30 s, under a two-host study; a worker frozen past the grace
period; a full disk under HPO_HOME; an artifact store gone read-only. Each test ends with the
study's exact budget, nothing RUNNING and no finished trial changed (the README's table)."""

import contextlib
import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import optuna
import pytest

from tests.conftest import POSTGRES_SCRIPT, REPO, hpo_command, running_trial_and_worker, write_study_script

pytestmark = pytest.mark.slow

# The built-in MLP at a small size (16 units; only the learning rate is searched), whose epochs
# last at least HPO_TEST_EPOCH_S seconds, so a fault lands while trials are in flight however
# fast the machine is, and cost little CPU beside the other tests. With HPO_TEST_GATE_AT=N every
# trial waits at the end of epoch N + 1 (N epochs saved and reported) while the file
# HPO_TEST_GATE exists (as tests/conftest.py's GATED_MLP).
SMALL_MLP = '''import os
import time

import keras

from hpo.objectives.mlp import DEFAULT_PARAMS, build, param_count  # noqa: F401


def suggest(trial):
    return {**DEFAULT_PARAMS, "n_layers": 1, "units_0": 16,
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 3e-2, log=True)}


class SlowAndGated(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(float(os.environ.get("HPO_TEST_EPOCH_S", "0")))
        gate, at, deadline = os.environ.get("HPO_TEST_GATE", ""), os.environ.get("HPO_TEST_GATE_AT"), time.monotonic() + 300
        while at and epoch == int(at) and gate and os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.05)


def callbacks(params):
    return [SlowAndGated()]
'''


def _small_objective(directory: Path) -> Path:
    module = directory / "small_mlp.py"
    module.write_text(SMALL_MLP)
    return module


class Host:
    """One simulated machine: an hpo process with its own HPO_HOST and HPO_HOME, whose output
    lines are collected as they come."""

    def __init__(self, tmp_path: Path, name: str, args: list[str], **env: str) -> None:
        self.name = f"{name}-{os.getpid()}-{time.monotonic_ns()}"
        environment = {**os.environ, "HPO_HOST": self.name, "HPO_HOME": str(tmp_path / name), "HPO_STORAGE": "", **env}
        self.process = subprocess.Popen(hpo_command(*args), cwd=REPO, env=environment, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None or any(text in line for line in self.lines), \
                f"host {self.name} ended before printing {text!r}:\n{self.output[-4000:]}"
            assert time.monotonic() < deadline, f"host {self.name} never printed {text!r}:\n{self.output[-4000:]}"
            time.sleep(0.1)

    def finish(self, timeout: float = 300) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"host {self.name} did not finish:\n{self.output[-4000:]}") from None
        time.sleep(0.2)  # the reader thread takes the last lines
        return code


def _until(predicate, what: str, timeout: float = 240, hosts: tuple[Host, ...] = ()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        for host in hosts:
            assert host.process.poll() is None, f"host {host.name} ended before {what}:\n{host.output[-4000:]}"
        time.sleep(0.2)
    raise AssertionError(f"never: {what}\n" + "\n".join(host.output[-3000:] for host in hosts))


def _trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name=name, storage=url).trials
    except Exception:  # noqa: BLE001 - the study not there yet, or the server down a moment
        return []


def _finished(trials) -> dict[int, tuple]:
    """What must never change about a finished trial."""
    return {t.number: (t.state.name, t.values, dict(t.intermediate_values), t.params, t.datetime_complete)
            for t in trials if t.state.is_finished()}


def _postgres(server_env, *args: str) -> None:
    subprocess.run(["bash", POSTGRES_SCRIPT, *args], env=server_env, check=True, timeout=120, capture_output=True)


def _new_database(server_env, name: str) -> str:
    made = subprocess.run(["bash", POSTGRES_SCRIPT, "database", name], env=server_env, check=True, timeout=60,
                          capture_output=True, text=True)
    return made.stdout.strip()


def _check_budget(trials, n_trials: int) -> None:
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in trials) == n_trials  # exactly the budget
    assert not [t.number for t in trials if t.state.name in ("RUNNING", "WAITING")]
    assert [t.number for t in trials] == list(range(len(trials)))


def test_a_two_host_study_rides_out_a_postgresql_crash_and_a_30_s_outage_and_a_third_out_of_patience_stops(
        tmp_path, postgres_server, postgres_url):
    objective = _small_objective(tmp_path)
    script = write_study_script(tmp_path, name="outage", n_trials=8, max_epochs=4, patience=4, pruner="none",
                                objective=str(objective))
    # Host c runs a study of its own in another database of the same server, one trial of 30 s
    # at the outage, and waits for the server 3 s at most (HPO_STORAGE_PATIENCE).
    other_url = _new_database(postgres_server, "t_out_of_patience")
    other = write_study_script(tmp_path, name="gone", n_trials=2, max_epochs=100, patience=100, pruner="none",
                               objective=str(objective))
    host_c = Host(tmp_path, "c", ["run", str(other), "--storage", other_url], HPO_TEST_EPOCH_S="0.3",
                  HPO_STORAGE_PATIENCE="3")
    # Heartbeats every 2 s, stale after 10 s: a 30 s outage leaves every running trial's last
    # heartbeat older than that, so a worker back first must not take them for dead.
    common = ["--storage", postgres_url, "--heartbeat-interval", "2", "--grace-period", "10",
              "--artifacts", str(tmp_path / "shared")]
    host_a = Host(tmp_path, "a", ["run", str(script), *common], HPO_TEST_EPOCH_S="0.3")
    host_a.wait_for_line("[trial")
    host_b = Host(tmp_path, "b", ["worker", "outage", *common], HPO_TEST_EPOCH_S="0.3")
    hosts = (host_a, host_b)
    _until(lambda: any(t.state.name == "RUNNING" and t.intermediate_values for t in _trials(other_url, "gone")),
           "host c mid-trial", hosts=(host_c,))

    def running_with_finished(count):
        trials = _trials(postgres_url, "outage")
        finished = _finished(trials)
        running = [t for t in trials if t.state.name == "RUNNING" and t.intermediate_values]
        return (finished, running) if len(finished) >= count and running else None

    before_crash, _ = _until(lambda: running_with_finished(2), "2 trials finished and one mid-way", hosts=hosts)
    _postgres(postgres_server, "down", "immediate")  # as in a crash: no clean shutdown
    _postgres(postgres_server, "up")
    before_outage, in_flight = _until(lambda: running_with_finished(len(before_crash) + 2),
                                      "2 more trials finished after the crash", hosts=hosts)
    _postgres(postgres_server, "down", "fast")
    time.sleep(30)
    _postgres(postgres_server, "up")

    assert host_a.finish() == 0, host_a.output[-4000:]
    assert host_b.finish() == 0, host_b.output[-4000:]
    trials = _trials(postgres_url, "outage")
    _check_budget(trials, 8)
    after = _finished(trials)
    assert {n: after[n] for n in before_outage} == before_outage  # no finished trial changed
    # The trials in flight during the outage went on (their workers waited): none was failed.
    assert not [t.number for t in trials if t.state.name == "FAIL"], \
        [t.user_attrs.get("fail_traceback", t.user_attrs.get("fail_reason")) for t in trials if t.state.name == "FAIL"]
    assert all(after[t.number][0] == "COMPLETE" for t in in_flight)
    for host in hosts:
        assert "waiting up to 600 s for it (HPO_STORAGE_PATIENCE)" in host.output
        assert "is back after" in host.output
        assert "Traceback" not in host.output

    # Host c gave up: one line, exit 2, and nothing stored changed since. Its trial is left
    # RUNNING with its checkpoint, as a killed worker's, for `hpo resume` to retry
    # (tests/test_resume.py).
    assert host_c.finish() == 2, host_c.output[-4000:]
    errors = [line for line in host_c.lines if line.startswith("hpo: error: ")]
    assert errors and "unreachable for" in errors[-1] and "giving up (HPO_STORAGE_PATIENCE)" in errors[-1], \
        host_c.output[-3000:]
    assert "Traceback" not in host_c.output, host_c.output[-6000:]
    [left] = [t for t in _trials(other_url, "gone") if t.state.name == "RUNNING"]
    assert [p.name for p in (tmp_path / "c").glob("studies/*/checkpoints/*")] == [f"trial-{left.number}"]


def test_a_worker_frozen_past_the_grace_period_is_retried_elsewhere_and_writes_nothing_when_woken(
        tmp_path, postgres_url):
    objective = _small_objective(tmp_path)
    script = write_study_script(tmp_path, name="frozen", n_trials=6, max_epochs=6, patience=6, pruner="none",
                                objective=str(objective))
    common = ["--storage", postgres_url, "--heartbeat-interval", "1", "--grace-period", "5",
              "--artifacts", str(tmp_path / "shared")]
    host_a = Host(tmp_path, "a", ["run", str(script), *common], HPO_TEST_EPOCH_S="0.3")
    _until(lambda: _trials(postgres_url, "frozen"), "the study created", hosts=(host_a,))
    host_b = Host(tmp_path, "b", ["worker", "frozen", *common], HPO_TEST_EPOCH_S="0.3")

    def mid_trial():
        victim, worker = running_trial_and_worker(postgres_url, "frozen", tmp_path / "a", epochs=2)
        return (victim, worker) if victim is not None else None

    victim, worker = _until(mid_trial, "a trial of host a mid-way", hosts=(host_a, host_b))
    os.kill(worker, signal.SIGSTOP)  # the worker process training it, heartbeat thread and all
    try:
        frozen_at = len(next(t for t in _trials(postgres_url, "frozen") if t.number == victim.number).intermediate_values)

        def retried():
            trials = _trials(postgres_url, "frozen")
            dead = next(t for t in trials if t.number == victim.number)
            retry = next((t for t in trials if t.user_attrs.get("retry_of") == victim.number), None)
            return retry is not None and dead.state.name == "FAIL" and retry.state.name != "WAITING"

        _until(retried, "host b failed the frozen trial and started its retry", hosts=(host_b,))
    finally:
        os.kill(worker, signal.SIGCONT)

    assert host_a.finish() == 0, host_a.output[-4000:]
    assert host_b.finish() == 0, host_b.output[-4000:]
    trials = _trials(postgres_url, "frozen")
    _check_budget(trials, 6)
    dead = trials[victim.number]
    assert dead.state.name == "FAIL" and "heartbeat" in dead.user_attrs.get("fail_reason", "heartbeat")
    assert len(dead.intermediate_values) in (frozen_at, frozen_at + 1)  # nothing after the retry took over
    [retry] = [t for t in trials if t.user_attrs.get("retry_of") == victim.number]
    assert retry.state.name == "COMPLETE" and retry.user_attrs["resumed_from_epoch"] >= 2
    left = set(os.listdir(tmp_path / "shared"))  # no listed checkpoint upload outlives its trial
    study = optuna.load_study(study_name="frozen", storage=postgres_url)
    for trial in trials:
        for meta in optuna.artifacts.get_all_artifact_meta(trial, storage=study._storage):
            assert not (meta.filename.startswith("checkpoint-") and meta.artifact_id in left)
    assert f"[trial {victim.number:>4}] DROPPED   finished by another worker while this one was cut off" in host_a.output
    assert "Traceback" not in host_a.output + host_b.output


@contextlib.contextmanager
def _tmpfs(path: Path, megabytes: int):
    """A small tmpfs at ``path`` (root only: CI runs as root; elsewhere the test is skipped)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        message = f"cannot mount a tmpfs (root only): {mounted.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _fill(directory: Path) -> Path:
    """Fill the filesystem of ``directory`` to the last byte; the file that does it."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as out:  # unbuffered: nothing left to flush at close
        for size in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while out.write(b"\0" * size):
                    pass
    return filler


def test_a_full_disk_under_hpo_home_costs_checkpoints_not_the_study_or_its_database(tmp_path):
    from hpo.storage._checkpoints import TrialCheckpoint

    objective = _small_objective(tmp_path)
    script = write_study_script(tmp_path, name="full", n_trials=3, max_epochs=6, patience=6, pruner="none",
                                objective=str(objective))
    with _tmpfs(tmp_path / "a", 32) as home:
        host = Host(tmp_path, "a", ["run", str(script)], HPO_TEST_EPOCH_S="0.3")
        saved = _until(lambda: [p for p in home.glob("studies/*/checkpoints/*/state.json")
                                if TrialCheckpoint(p.parent).epochs_done() >= 2], "a checkpoint of 2 epochs",
                       hosts=(host,))
        filler = _fill(home)
        host.wait_for_line("not saved (No space left on device")
        # While the disk is full, the checkpoint the failed save would have replaced still loads.
        state = TrialCheckpoint(saved[0].parent).load()
        assert state is not None and state.epochs_done >= 2
        filler.unlink()
        assert host.finish() == 0, host.output[-4000:]
        url = f"sqlite:///{home / 'hpo.db'}"
        trials = _trials(url, "full")
        _check_budget(trials, 3)
        assert not [t for t in trials if t.state.name == "FAIL"]
        with sqlite3.connect(home / "hpo.db") as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert host.output.count("not saved (No space left on device") == 1  # once, however many epochs
    assert "checkpoints saved again from epoch" in host.output
    assert "Traceback" not in host.output


def test_an_artifact_store_gone_read_only_leaves_training_on_local_checkpoints_and_a_retry_takes_the_last_upload(
        tmp_path):
    from hpo.storage._checkpoints import TrialCheckpoint

    objective, gate = _small_objective(tmp_path), tmp_path / "gate"
    gate.touch()
    script = write_study_script(tmp_path, name="store", n_trials=2, max_epochs=20, patience=20, pruner="none",
                                objective=str(objective))
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with _tmpfs(tmp_path / "store", 64) as store:
        common = ["--storage", url, "--heartbeat-interval", "1", "--grace-period", "4", "--artifacts", str(store)]
        # Host a's trials wait at the gate after epoch 3, with 2 epochs saved and uploaded.
        host_a = Host(tmp_path, "a", ["run", str(script), *common], HPO_TEST_GATE=str(gate), HPO_TEST_GATE_AT="2",
                      HPO_TEST_EPOCH_S="0.2")
        victim = _until(lambda: next((t for t in _trials(url, "store") if t.state.name == "RUNNING"
                                      and len(t.intermediate_values) >= 2), None), "a trial at the gate", hosts=(host_a,))
        subprocess.run(["mount", "-o", "remount,ro", str(store)], check=True)
        gate.unlink()  # epochs 3 to 5 are saved on host a only
        def at_epoch_5():
            trial, worker = running_trial_and_worker(url, "store", tmp_path / "a", epochs=5)
            return worker if trial is not None and trial.number == victim.number else None

        worker = _until(at_epoch_5, "epoch 5 reported", hosts=(host_a,))
        local = TrialCheckpoint(next((tmp_path / "a").glob(f"studies/*/checkpoints/trial-{victim.number}")))
        assert local.epochs_done() >= 5
        os.kill(worker, signal.SIGKILL)  # host a loses power: the worker training the trial, then hpo
        host_a.process.kill()
        host_a.finish()
        subprocess.run(["mount", "-o", "remount,rw", str(store)], check=True)
        host_b = Host(tmp_path, "b", ["worker", "store", *common])
        assert host_b.finish() == 0, host_b.output[-4000:]
    warnings = [line for line in host_a.lines if "artifact store unreachable" in line]
    assert len(warnings) == 1 and "checkpoints stay on this host" in warnings[0], host_a.output[-3000:]
    trials = _trials(url, "store")
    _check_budget(trials, 2)
    [retry] = [t for t in trials if t.user_attrs.get("retry_of") == victim.number]
    # Host b never saw host a's disk: it went on from the last upload, epoch 2.
    assert retry.state.name == "COMPLETE" and retry.user_attrs["resumed_from_epoch"] == 3
