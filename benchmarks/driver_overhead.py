"""Per-trial overhead of hpo's driver against a bare ``study.optimize`` loop.

Both sides run the same trivial objective, the same seeded TPE sampler and a SQLite file
opened the same way (hpo's storage settings: WAL, busy timeout, heartbeat), so the ratio is
what the driver itself adds: worker attribute, failure recording, budget accounting,
progress line. A third line shows a bare loop on Optuna's plain SQLite URL for reference.
Rounds alternate the sides so drift on a shared machine hits both.

    .venv/bin/python benchmarks/driver_overhead.py [--trials 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import optuna

import hpo.driver as driver
from hpo.search import make_sampler
from hpo.storage import open_storage
from hpo.study import StudySpec


def objective(trial: optuna.trial.Trial) -> float:
    x = trial.suggest_float("x", -10.0, 10.0)
    y = trial.suggest_float("y", -10.0, 10.0)
    return x * x + y * y


def bare_loop(url: str, n_trials: int, *, hpo_storage: bool) -> float:
    storage = open_storage(url) if hpo_storage else url
    study = optuna.create_study(storage=storage, sampler=make_sampler("tpe", seed=0), study_name="bench")
    start = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    return (time.perf_counter() - start) / n_trials


def hpo_driver(url: str, n_trials: int) -> float:
    spec = StudySpec(name="bench", metric="loss", sampler="tpe", n_trials=n_trials, seed=0)
    start = time.perf_counter()
    driver.run(spec, storage_url=url, objective=objective, out=lambda line: None)
    return (time.perf_counter() - start) / n_trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)

    results: dict[str, list[float]] = {"bare (hpo storage)": [], "hpo driver": [], "bare (plain URL)": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_number in range(args.rounds):
            for label in results:
                database = Path(tmp) / f"{label.replace(' ', '_')}-{round_number}.db"
                url = f"sqlite:///{database}"
                if label == "hpo driver":
                    seconds = hpo_driver(url, args.trials)
                else:
                    seconds = bare_loop(url, args.trials, hpo_storage=label == "bare (hpo storage)")
                results[label].append(seconds)
                print(f"round {round_number + 1}: {label:<20} {seconds * 1000:7.2f} ms/trial", flush=True)

    median = {label: statistics.median(values) for label, values in results.items()}
    print(f"\n{args.trials} trials x {args.rounds} rounds, median per trial:")
    for label, seconds in median.items():
        print(f"  {label:<20} {seconds * 1000:7.2f} ms")
    ratio = median["hpo driver"] / median["bare (hpo storage)"]
    print(f"overhead ratio hpo driver / bare loop (same storage): {ratio:.3f}x (target <= 1.05x)")
    print(f"ratio hpo driver / bare loop on Optuna's plain SQLite URL: {median['hpo driver'] / median['bare (plain URL)']:.3f}x")


if __name__ == "__main__":
    main()
