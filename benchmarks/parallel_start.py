"""Four processes starting on one new SQLite file at the same moment: Optuna alone vs hpo.

Each round makes a new SQLite file and starts 4 processes that wait for the same instant,
then (Optuna) call ``create_study(load_if_exists=True)`` and run 5 trials each, or (hpo) call
``driver.run`` on a study with a budget of 20. A trivial objective keeps the storage the
bottleneck. Prints failed processes, "database is locked" errors and, for hpo, whether the
study ended with exactly its budget.

    .venv/bin/python benchmarks/parallel_start.py [--rounds 5] [--processes 4]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

REPO = Path(__file__).resolve().parent.parent

OPTUNA_ALONE = """
import sys, time
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
study = optuna.create_study(study_name="race", storage=sys.argv[1], load_if_exists=True)
study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=5)
"""

WITH_HPO = """
import sys, time
import hpo.driver as driver
from hpo import StudySpec
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
spec = StudySpec(name="race", metric="loss", n_trials=int(sys.argv[3]), sampler="random")
driver.run(spec, storage_url=sys.argv[1], objective=lambda t: t.suggest_float("x", -1, 1) ** 2,
           out=lambda line: None)
"""


def one_round(code: str, processes: int, budget: int) -> tuple[int, int, int]:
    """(failed processes, 'locked' errors, finished trials) of one round on a new file."""
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/new.db"
        start_at = str(time.time() + 3.0)  # after every interpreter has imported optuna
        running = [
            subprocess.Popen([sys.executable, "-c", code, url, start_at, str(budget)], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for _ in range(processes)
        ]
        errors = [process.communicate()[1] for process in running]
        failed = sum(process.returncode != 0 for process in running)
        locked = sum("database is locked" in error for error in errors)
        try:
            study = optuna.load_study(study_name="race", storage=url)
            finished = sum(t.state.name == "COMPLETE" for t in study.trials)
        except KeyError:
            finished = 0
        return failed, locked, finished


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--processes", type=int, default=4)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    budget = 5 * args.processes
    for label, code in (("optuna alone", OPTUNA_ALONE), ("hpo", WITH_HPO)):
        results = [one_round(code, args.processes, budget) for _ in range(args.rounds)]
        failed = sum(r[0] for r in results)
        locked = sum(r[1] for r in results)
        exact = sum(r[2] == budget for r in results)
        print(f"{label:<13} {failed:>2}/{args.rounds * args.processes} processes failed, "
              f"{locked} 'database is locked', {exact}/{args.rounds} rounds ended with exactly "
              f"{budget} complete trials")


if __name__ == "__main__":
    main()
