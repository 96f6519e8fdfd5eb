"""Which search strategy reaches a good model with the fewest epochs and seconds?

On the digits MLP with validation log-loss as the objective (accuracy on 360 validation images
moves in steps of 0.28% and saturates), for each seed this runs the same number of trials with

* random search without pruning (the baseline),
* TPE + median pruner, TPE + hyperband, TPE + the learning-curve pruner,

all with early stopping, and no enqueued defaults (each strategy starts from nothing). Each
strategy gets its own seed stream (TPE starts with random trials, and with the baseline's seed
its first trials would be the baseline's). For each
it prints the epochs and wall-clock seconds it took to first reach the baseline's final best
value (a complete trial at least as good), and the best value it reached; then the medians
over seeds, and how much that median ratio to random search's epochs moves when the seeds are
resampled (a bootstrap: which seed finds a good region early decides it more than the strategy
does). Wall-clock seconds are trial time from the first trial's start, so the numbers do
not depend on how long Python takes to start.

``--jobs N`` runs N seeds at a time, each in its own process with 1/N of the cores
(``HPO_THREADS``), as ``hpo run --workers`` does. Epochs and values do not depend on it; seconds
do, the same way for every strategy of a seed, since each process runs the four in turn.

    .venv/bin/python benchmarks/pruner_comparison.py [--seeds 5] [--jobs 1] [--trials 60] [--epochs 20] [--patience 4]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import multiprocessing
import os
import random
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

STRATEGIES = (
    ("random", "none"),
    ("tpe", "median"),
    ("tpe", "hyperband"),
    ("tpe", "learning-curve"),
)
BASELINE = "{} + {}".format(*STRATEGIES[0])  # the label of random search without pruning


@dataclass
class Run:
    label: str
    best: float
    epochs_to_target: float  # inf when never reached
    seconds_to_target: float
    epochs_total: int
    seconds_total: float


def run_study(directory: Path, sampler: str, pruner: str, seed: int, trials: int, epochs: int,
              patience: int) -> list:
    import optuna

    from hpo import StudySpec, driver

    spec = StudySpec(
        name=f"{sampler}-{pruner}-{seed}", objective="mlp", dataset="digits", metric="val_loss",
        sampler=sampler, pruner=pruner, n_trials=trials, max_epochs=epochs, patience=patience,
        seed=seed, enqueue_defaults=False, recycle_after=0,
    )
    url = f"sqlite:///{directory / 'bench.db'}"
    driver.run(spec, storage_url=url, out=lambda line: None)
    study = optuna.load_study(study_name=spec.name, storage=url)
    return sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)


def measure(label: str, trials: list, target: float) -> Run:
    start = min(t.datetime_start for t in trials)
    epochs = 0
    reached_epochs, reached_seconds = math.inf, math.inf
    for trial in trials:
        epochs += len(trial.intermediate_values)
        if (trial.state.name == "COMPLETE" and trial.value <= target + 1e-12
                and math.isinf(reached_epochs)):
            reached_epochs = epochs
            reached_seconds = (trial.datetime_complete - start).total_seconds()
    complete = [t.value for t in trials if t.state.name == "COMPLETE"]
    end = max(t.datetime_complete for t in trials if t.datetime_complete)
    return Run(label, min(complete), reached_epochs, reached_seconds, epochs,
               (end - start).total_seconds())


BOOTSTRAP_DRAWS = 2000


def bootstrap_ratio(runs: list[Run], baseline: list[Run]) -> tuple[float, float, float]:
    """10%, 50% and 90% quantiles of median(epochs) / median(baseline epochs) over seeds drawn
    with replacement, each seed keeping its own pair of runs. ``inf`` where a resample's median
    run never reached the target."""
    pairs = [(run.epochs_to_target, base.epochs_to_target) for run, base in zip(runs, baseline)]
    draw = random.Random(0)
    ratios = []
    for _ in range(BOOTSTRAP_DRAWS):
        sample = [draw.choice(pairs) for _ in pairs]
        ratios.append(statistics.median(e for e, _ in sample)
                      / statistics.median(b for _, b in sample))
    ratios.sort()
    return tuple(ratios[int(q * (BOOTSTRAP_DRAWS - 1))] for q in (0.1, 0.5, 0.9))


def run_seed(seed: int, args: argparse.Namespace) -> dict[str, list]:
    from hpo.keras_runtime import prepare_keras
    from hpo.workers import PARENT_PID_ENV, stop_with_parent

    # As an `hpo run --workers` worker: when the benchmark is killed, the seed's study stops
    # at the next epoch boundary (an idle pool process just dies of the signal).
    stop_with_parent()
    prepare_keras()
    try:
        with tempfile.TemporaryDirectory() as directory:
            return {f"{s} + {p}": run_study(Path(directory), s, p, seed * 100 + index,
                                            args.trials, args.epochs, args.patience)
                    for index, (s, p) in enumerate(STRATEGIES)}
    finally:
        if str(os.getppid()) != os.environ[PARENT_PID_ENV]:
            os._exit(1)  # no one takes the result, and the pool process would wait forever


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed+seeds-1")
    parser.add_argument("--jobs", type=int, default=1, help="seeds run at the same time")
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--patience", type=int, default=4)
    args = parser.parse_args()

    from hpo.workers import PARENT_PID_ENV, THREADS_ENV, available_cores

    seeds = range(args.first_seed, args.first_seed + args.seeds)
    os.environ[PARENT_PID_ENV] = str(os.getpid())
    if args.jobs > 1:
        os.environ[THREADS_ENV] = str(max(1, available_cores() // args.jobs))
    # spawn, not fork: each seed's process imports Keras itself, after HPO_THREADS is set.
    with concurrent.futures.ProcessPoolExecutor(
            max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {seed: pool.submit(run_seed, seed, args) for seed in seeds}
        results: dict[str, list[Run]] = {f"{s} + {p}": [] for s, p in STRATEGIES}
        for seed in seeds:
            runs = futures[seed].result()
            baseline = runs[BASELINE]
            target = min(t.value for t in baseline if t.state.name == "COMPLETE")
            print(f"seed {seed}: random search's final best val_loss {target:.4f}")
            for label, trials in runs.items():
                run = measure(label, trials, target)
                results[label].append(run)
                print(f"  {label:<22} to reach it: {run.epochs_to_target:>5} epochs "
                      f"{run.seconds_to_target:>6.1f} s   best {run.best:.4f}   "
                      f"all {args.trials} trials: {run.epochs_total} epochs {run.seconds_total:.1f} s",
                      flush=True)

    random_epochs = statistics.median(r.epochs_to_target for r in results[BASELINE])
    print(f"\nmedian over {args.seeds} seeds ({args.trials} trials, up to {args.epochs} epochs, "
          f"patience {args.patience}):")
    print(f"{'strategy':<22} {'epochs to target':>16} {'of random':>9} {'seconds to target':>17} "
          f"{'best val_loss':>13} {'reached':>7}")
    for label, runs in results.items():
        epochs = statistics.median(r.epochs_to_target for r in runs)
        seconds = statistics.median(r.seconds_to_target for r in runs)
        reached = sum(math.isfinite(r.epochs_to_target) for r in runs)
        print(f"{label:<22} {epochs:>16} {epochs / random_epochs:>9.2f} {seconds:>17.1f} "
              f"{statistics.median(r.best for r in runs):>13.4f} {reached:>4}/{len(runs)}")

    print(f"\nratio of median epochs to random's, over {BOOTSTRAP_DRAWS} resamplings of the "
          f"{args.seeds} seeds (10% / 50% / 90%):")
    for label, runs in results.items():
        if label != BASELINE:
            low, middle, high = bootstrap_ratio(runs, results[BASELINE])
            print(f"{label:<22} {low:>6.2f} {middle:>6.2f} {high:>6.2f}")


if __name__ == "__main__":
    main()
