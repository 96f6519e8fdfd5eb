"""Finished trials per second and budget exactness for 1/2/4/8 workers on SQLite, Optuna's
journal file and PostgreSQL.

Every worker is a process that starts at the same moment and runs a trivial objective (a few
milliseconds of sleep, so the storage is what is measured) until the shared budget is met:

* ``sqlite`` and ``postgresql``: hpo's driver (``driver.run(..., objective=...)``), with its
  slot lock (a file lock on SQLite, the database's advisory lock on PostgreSQL) and
  heartbeat; each worker simulates its own host (``HPO_HOST``, ``HPO_HOME``) on PostgreSQL,
  so only the database coordinates them;
* ``journal``: plain Optuna on ``JournalStorage(JournalFileBackend)`` with its
  ``MaxTrialsCallback``, the usual multi-process recipe, for reference (hpo opens RDB URLs).

Printed per row: trials/s over the whole run, trials created against the budget (more means
overshoot), and for PostgreSQL the most connections the study's database had open at once.

    .venv/bin/python benchmarks/storage_throughput.py [--budget 200] [--workers 1 2 4 8]

PostgreSQL comes from ``scripts/postgres.sh start`` (skipped when it cannot start).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

WORKER = r"""
import sys, time
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
kind, url, budget, start_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])

def objective(trial):
    x = trial.suggest_float("x", -1.0, 1.0)
    time.sleep(0.005)
    return x * x

if kind == "journal":
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.study import MaxTrialsCallback
    storage = JournalStorage(JournalFileBackend(url))
    study = optuna.create_study(study_name="bench", storage=storage, load_if_exists=True,
                                sampler=optuna.samplers.RandomSampler())
    time.sleep(max(0.0, start_at - time.time()))
    study.optimize(objective, callbacks=[MaxTrialsCallback(budget, states=None)])
else:
    import hpo.driver as driver
    from hpo.study._spec import StudySpec
    spec = StudySpec(name="bench", metric="loss", n_trials=budget, sampler="random")
    time.sleep(max(0.0, start_at - time.time()))
    driver.run(spec, storage_url=url, objective=objective, out=lambda line: None)
"""


def _postgres() -> str | None:
    started = subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh"), "start"], capture_output=True,
                             text=True)
    return started.stdout.strip() if started.returncode == 0 else None


def _fresh_database(name: str) -> str:
    made = subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh"), "database", name], capture_output=True,
                          text=True, check=True)
    return made.stdout.strip()


def _count_trials(kind: str, url: str) -> int:
    import optuna

    if kind == "journal":
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        storage: object = JournalStorage(JournalFileBackend(url))
    else:
        storage = url
    study = optuna.load_study(study_name="bench", storage=storage)  # type: ignore[arg-type]
    return len(study.get_trials(deepcopy=False))


def _connections(server: str, database: str, stop: threading.Event, peak: list[int]) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        while not stop.is_set():
            count = connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"),
                                       {"d": database}).scalar_one()
            peak[0] = max(peak[0], int(count))
            time.sleep(0.1)
    engine.dispose()


def run_row(kind: str, url: str, workers: int, budget: int, home: Path, server: str | None) -> str:
    start_at = time.time() + 4.0 + 0.5 * workers  # every worker imported and waiting
    processes = []
    for index in range(workers):
        env = {**os.environ, "HPO_HOME": str(home / f"host-{index}"), "HPO_HOST": f"host-{index}",
               "HPO_STORAGE": ""}
        if kind == "sqlite":
            env["HPO_HOME"], env["HPO_HOST"] = str(home / "host"), "host"  # SQLite: one host
        processes.append(subprocess.Popen([sys.executable, "-c", WORKER, kind, url, str(budget), str(start_at)],
                                          cwd=REPO, env=env, stderr=subprocess.PIPE, text=True))
    stop, peak = threading.Event(), [0]
    watcher = None
    if kind == "postgresql" and server is not None:
        watcher = threading.Thread(target=_connections, args=(server, url.rsplit("/", 1)[1], stop, peak))
        watcher.start()
    errors = [process.communicate()[1] for process in processes]
    elapsed = time.time() - start_at
    stop.set()
    if watcher is not None:
        watcher.join()
    failed = [error.strip().splitlines()[-1] for process, error in zip(processes, errors) if process.returncode]
    if failed:
        return f"{kind:<11} {workers:>7}  failed: {failed[0]}"
    created = _count_trials(kind, url)
    connections = f"{peak[0]:>11}" if kind == "postgresql" else f"{'-':>11}"
    return f"{kind:<11} {workers:>7} {budget / elapsed:>9.1f} {created:>8}/{budget:<6} {connections}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--kinds", nargs="+", default=["sqlite", "journal", "postgresql"])
    args = parser.parse_args()
    server = _postgres() if "postgresql" in args.kinds else None
    print(f"{'storage':<11} {'workers':>7} {'trials/s':>9} {'created/budget':>15} {'connections':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds:
            for workers in args.workers:
                home = Path(tmp) / f"{kind}-{workers}"
                if kind == "sqlite":
                    url = f"sqlite:///{home / 'bench.db'}"
                elif kind == "journal":
                    home.mkdir(parents=True)
                    url = str(home / "journal.log")
                elif server is None:
                    print(f"{kind:<11} {workers:>7}  skipped: scripts/postgres.sh could not start a server")
                    continue
                else:
                    url = _fresh_database(f"bench_{workers}")
                print(run_row(kind, url, workers, args.budget, home, server), flush=True)


if __name__ == "__main__":
    main()
