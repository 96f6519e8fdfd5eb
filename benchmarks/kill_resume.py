"""Kill a running study at random moments and resume it each time: what is lost?

Starts ``hpo run`` on a digits MLP study, kills it with SIGKILL after a random delay (some
kills land in TensorFlow's start-up, most inside a trial), re-runs it, and repeats
``--kills`` times before letting the study finish. Then prints, per kill that hit a trial,
the epochs the dead trial had finished and the epoch its retry started from, so the
finished epochs lost; and at the end the trials lost (finished before some kill, not
finished at the end) and the finished trials (the budget).

    .venv/bin/python benchmarks/kill_resume.py [--kills 10] [--trials 12] [--max-epochs 20] [--seed 0]

``--two-hosts``: the study lives in PostgreSQL (``scripts/postgres.sh``) with a shared artifact
directory; simulated host a (``HPO_HOST=a``, its own ``HPO_HOME``) runs ``hpo run`` and has
every one of its processes killed at each random moment, then starts again, while host b runs
``hpo worker`` throughout. Host b fails a dead trial after the grace period (2 s heartbeat,
6 s grace here) and retries it from its last uploaded epoch.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
from sqlalchemy.exc import SQLAlchemyError

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-delay", type=float, default=4.0, help="seconds after start, at least")
    parser.add_argument("--max-delay", type=float, default=14.0)
    parser.add_argument("--two-hosts", action="store_true", help="PostgreSQL, a shared artifact directory, "
                        "host a killed, host b working throughout")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    chance = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as home:
        script = Path(home) / "killed.py"
        script.write_text(
            "from hpo import StudySpec\n"
            f"STUDY = StudySpec(name='killed', n_trials={args.trials}, max_epochs={args.max_epochs}, "
            f"patience={args.max_epochs})\n"
        )
        url = f"sqlite:///{home}/hpo.db"
        env = {**os.environ, "HPO_HOME": home, "HPO_STORAGE": ""}
        command = [sys.executable, "-m", "hpo", "run", str(script)]
        host_b = None
        if args.two_hosts:
            url = _postgres_database()
            shared = ["--storage", url, "--artifacts", f"{home}/shared", "--heartbeat-interval", "2",
                      "--grace-period", "6"]
            env = {**env, "HPO_HOST": "a", "HPO_HOME": f"{home}/a"}
            command += [*shared, "--workers", "1"]
        finished_ever: dict[int, float | None] = {}
        kills = 0
        started = time.monotonic()
        while kills < args.kills:
            process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            if args.two_hosts and host_b is None:
                _wait_for_study(url)
                host_b = subprocess.Popen(
                    [sys.executable, "-m", "hpo", "worker", "killed", *shared, "--workers", "1"], cwd=REPO,
                    env={**env, "HPO_HOST": "b", "HPO_HOME": f"{home}/b"}, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
            delay = chance.uniform(args.min_delay, args.max_delay)
            try:
                process.wait(timeout=delay)
                break  # the study finished before this kill
            except subprocess.TimeoutExpired:
                # As in a power loss: the worker training a trial and hpo itself, at once.
                host = Path(env["HPO_HOME"])
                for marker in host.glob("studies/*/running/*"):
                    with contextlib.suppress(OSError, ValueError):
                        os.kill(int(marker.read_text().rpartition(":")[2]), signal.SIGKILL)
                if args.two_hosts:
                    _kill_host("a")
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills += 1
            if Path(home, "hpo.db").exists() or args.two_hosts:
                # The first kill may land while the file or the study is being created.
                with contextlib.suppress(KeyError, SQLAlchemyError):
                    for trial in optuna.load_study(study_name="killed", storage=url).trials:
                        if trial.state.name in ("COMPLETE", "PRUNED"):
                            finished_ever[trial.number] = trial.value
        final = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        if final.returncode != 0:
            raise SystemExit(f"the final run failed: {final.stderr.strip().splitlines()[-1:]}")
        if host_b is not None:
            host_b.wait(timeout=600)
        wall = time.monotonic() - started
        trials = optuna.load_study(study_name="killed", storage=url).trials

    print(f"{kills} kills at random moments ({args.min_delay:.0f}-{args.max_delay:.0f} s after each start), "
          f"{wall:.0f} s in all")
    lost_epochs = []
    for dead in trials:
        reason = dead.user_attrs.get("fail_reason", "")
        killed = "died while running" in reason or reason.startswith("interrupted") or "heartbeat" in reason
        if dead.state.name != "FAIL" or not (killed or args.two_hosts):
            continue
        retry = next((t for t in trials if t.user_attrs.get("retry_of") == dead.number), None)
        reported = len(dead.intermediate_values)
        resumed_from = retry.user_attrs.get("resumed_from_epoch") if retry else None
        if retry is None:
            print(f"  trial {dead.number:>3}: {reported:>2} epochs finished before the kill, not retried "
                  f"again (max_retries reached)")
            continue
        if resumed_from is None:
            print(f"  trial {dead.number:>3}: {reported:>2} epochs finished before the kill, its retry "
                  f"#{retry.number} was killed before it trained")
            continue
        lost = reported - (resumed_from - 1)
        lost_epochs.append(lost)
        print(f"  trial {dead.number:>3}: {reported:>2} epochs finished before the kill, retry #{retry.number} "
              f"started at epoch {resumed_from:>2}: {lost} finished epoch(s) lost + the epoch in flight")
    finished = {t.number: t.value for t in trials if t.state.name in ("COMPLETE", "PRUNED")}
    lost_trials = [n for n in finished_ever if n not in finished or finished[n] != finished_ever[n]]
    if lost_epochs:
        print(f"finished epochs lost per kill inside a trial: max {max(lost_epochs)}, "
              f"mean {sum(lost_epochs) / len(lost_epochs):.2f} (over {len(lost_epochs)} kills)")
    print(f"trials lost: {len(lost_trials)}   finished trials at the end: {len(finished)}/{args.trials}   "
          f"trials stored: {len(trials)} (failed by kills: {sum(t.state.name == 'FAIL' for t in trials)})")


def _postgres_database() -> str:
    script = str(REPO / "scripts" / "postgres.sh")
    started = subprocess.run(["bash", script, "start"], capture_output=True, text=True)
    if started.returncode != 0:
        raise SystemExit(f"PostgreSQL did not start: {started.stderr.strip()}")
    made = subprocess.run(["bash", script, "database", "kill_resume"], capture_output=True, text=True, check=True)
    return made.stdout.strip()


def _wait_for_study(url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with contextlib.suppress(KeyError, SQLAlchemyError):
            optuna.load_study(study_name="killed", storage=url)
            return
        time.sleep(0.5)
    raise SystemExit("host a never created the study")


def _kill_host(host: str) -> None:
    """SIGKILL every process whose environment says ``HPO_HOST=host`` (one simulated machine)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environment = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"HPO_HOST={host}".encode() in environment:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry), signal.SIGKILL)


if __name__ == "__main__":
    main()
