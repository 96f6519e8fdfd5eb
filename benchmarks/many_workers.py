"""Many workers on one PostgreSQL server: errors, peak connections, exact budget.

Simulated hosts (each its own ``HPO_HOST`` and ``HPO_HOME``) share one study in a PostgreSQL
server started by ``scripts/postgres.sh``: the first runs ``hpo run --workers N``, the others
join with ``hpo worker --workers N`` as soon as the study exists. The model is tiny (one layer
of 8 units) and trials train one epoch, so the database, not training, is what the workers
wait on. While they run, the server's own count of connections (``pg_stat_activity``) is read
every 0.2 s. Prints the peak against the server's ``max_connections``, the trials that finished,
any that are left RUNNING or WAITING, the hosts' exit codes and every error line they printed,
then one JSON line with the same numbers; exits 1 when any check fails.

    .venv/bin/python benchmarks/many_workers.py [--hosts 4] [--workers 8] [--trials 96]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
POSTGRES = str(REPO / "scripts" / "postgres.sh")
TINY = '''from hpo.objectives.mlp import DEFAULT_PARAMS, build, param_count  # noqa: F401


def suggest(trial):  # the built-in MLP at its smallest: one layer of 8 units
    return {**DEFAULT_PARAMS, "n_layers": 1, "units_0": 8,
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 1e-1, log=True)}
'''

def _server(state: str) -> tuple[str, dict]:
    env = {**os.environ, "HPO_POSTGRES_DIR": state}
    subprocess.run(["bash", POSTGRES, "start"], env=env, check=True, capture_output=True, text=True, timeout=600)
    made = subprocess.run(["bash", POSTGRES, "database", "many"], env=env, check=True, capture_output=True, text=True)
    return made.stdout.strip(), env


def _watch_connections(url: str, stop: threading.Event, peak: list[int]) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        peak.append(int(connection.execute(text("SHOW max_connections")).scalar()))
        peak.append(0)
        while not stop.wait(0.2):
            count = connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"))
            peak[1] = max(peak[1], int(count.scalar()) - 1)  # not this watcher's own
            connection.commit()  # pg_stat_activity is read once per transaction
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--workers", type=int, default=8, help="worker processes per host")
    parser.add_argument("--trials", type=int, default=96)
    args = parser.parse_args()

    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with tempfile.TemporaryDirectory() as scratch:
        os.chmod(scratch, 0o755)  # the server runs as the postgres user when we are root
        url, server_env = _server(os.path.join(scratch, "server"))
        try:
            root = Path(scratch)
            (root / "tiny_model.py").write_text(TINY)
            script = root / "many.py"
            script.write_text("from hpo import StudySpec\n"
                              f"STUDY = StudySpec(name='many', objective={str(root / 'tiny_model.py')!r}, "
                              f"n_trials={args.trials}, max_epochs=1, patience=1, pruner='none', sampler='random')\n")
            peak: list[int] = []
            stop = threading.Event()
            watcher = threading.Thread(target=_watch_connections, args=(url, stop, peak), daemon=True)
            watcher.start()
            started = time.monotonic()
            hosts = []
            for index in range(args.hosts):
                env = {**os.environ, "HPO_HOST": f"host-{index}", "HPO_HOME": str(root / f"host-{index}"),
                       "HPO_STORAGE": ""}
                command = (["run", str(script)] if index == 0 else ["worker", "many"])
                hosts.append(subprocess.Popen([sys.executable, "-m", "hpo", *command, "--storage", url,
                                               "--workers", str(args.workers)], cwd=REPO, env=env, text=True,
                                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
                if index == 0:
                    _until_study_exists(url)
            outputs = [host.communicate(timeout=3600)[0] for host in hosts]
            wall = time.monotonic() - started
            stop.set()
            watcher.join(5)
            trials = optuna.load_study(study_name="many", storage=url).trials
        finally:
            subprocess.run(["bash", POSTGRES, "stop"], env=server_env, capture_output=True)

    states = [t.state.name for t in trials]
    finished = sum(state in ("COMPLETE", "PRUNED") for state in states)
    left = sum(state in ("RUNNING", "WAITING") for state in states)
    failed = [(t.number, t.user_attrs.get("fail_reason")) for t in trials if t.state.name == "FAIL"]
    errors = [line for output in outputs for line in output.splitlines()
              if "error" in line.lower() and "cuda" not in line.lower() or "Traceback" in line]
    codes = [host.returncode for host in hosts]
    limit, highest = (peak + [0, 0])[:2]
    print(f"{args.hosts} hosts x {args.workers} workers = {args.hosts * args.workers} worker processes, "
          f"budget {args.trials} one-epoch trials, {wall:.0f} s")
    print(f"peak connections {highest} of the server's max_connections {limit}")
    print(f"finished {finished}/{args.trials}, left running or waiting {left}, failed {len(failed)} {failed[:5]}")
    print(f"exit codes {codes}; error lines {len(errors)}")
    for line in errors[:20]:
        print(f"  {line}")
    report = {"hosts": args.hosts, "workers_per_host": args.workers, "trials": args.trials, "wall_s": round(wall, 1),
              "peak_connections": highest, "max_connections": limit, "finished": finished, "left": left,
              "failed": len(failed), "exit_codes": codes, "error_lines": len(errors)}
    print(json.dumps(report))
    ok = (finished == args.trials and left == 0 and not errors and codes == [0] * args.hosts
          and 0 < highest < limit)
    return 0 if ok else 1


def _until_study_exists(url: str, timeout: float = 600) -> None:
    import optuna

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            optuna.load_study(study_name="many", storage=url)
            return
        except Exception:  # noqa: BLE001 - the tables or the study not there yet
            time.sleep(0.5)
    raise SystemExit("the study was never created")


if __name__ == "__main__":
    sys.exit(main())
