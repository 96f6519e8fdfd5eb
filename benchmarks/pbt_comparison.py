"""Population-based training against TPE + median pruning at equal total epochs, in real runs.

For each seed, two studies of the built-in MLP on digits (val_loss), each trained for the same
number of epochs in total:

* ``pbt``: ``scheduler="pbt"``, a population of ``--population`` members drawn at random (the
  PBT paper's start), ``--epochs`` epochs each in segments of ``--interval``, the mutable
  parameters ``learning_rate``, ``dropout`` and ``batch_size``, hpo's other PBT defaults
  (quantile 0.25, resampling 0.25);
* ``tpe+median``: Optuna's TPE with its MedianPruner as Optuna ships them, trials of up to
  ``--epochs`` epochs, ``epoch_budget`` = population x epochs.

Then ``hpo best`` retrains each study's pick (a PBT pick along its member's lineage, each
segment's parameters from its first epoch) and scores it once on the test split: the table
has the pick's validation loss, its test accuracy and loss, and the wall seconds. PBT's
options are hpo's defaults, not tuned on any seed; report on seeds from 1000.

    .venv/bin/python benchmarks/pbt_comparison.py [--seeds 10] [--first-seed 1000] [--jobs 2]
        [--population 8] [--epochs 12] [--interval 3] [--patience 12]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pruner_comparison import median_band, seeds_in_processes

MUTABLE = ("learning_rate", "dropout", "batch_size")
STRATEGIES = ("pbt", "tpe+median")


def run_strategy(directory: Path, strategy: str, seed: int, args: argparse.Namespace) -> dict[str, float]:
    import hpo.driver as driver
    from hpo import StudySpec
    from hpo.driver import train_best

    common: dict[str, Any] = dict(objective="mlp", dataset="digits", metric="val_loss", max_epochs=args.epochs,
                                  patience=args.patience, enqueue_defaults=False, recycle_after=0,
                                  backend=args.backend)
    if strategy == "pbt":
        spec = StudySpec(name=f"pbt-{seed}", sampler="random", pruner="none", scheduler="pbt",
                         scheduler_options={"interval": args.interval, "mutable": list(MUTABLE)},
                         n_trials=args.population, seed=seed, **common)
    else:
        spec = StudySpec(name=f"tpe-median-{seed}", sampler="tpe", pruner="median", n_trials=1_000_000,
                         epoch_budget=args.population * args.epochs, seed=seed + 1, **common)
    url = f"sqlite:///{directory / 'bench.db'}"
    started = time.perf_counter()
    driver.run(spec, storage_url=url, out=lambda line: None)
    seconds = time.perf_counter() - started
    best = train_best(spec.name, storage_url=url, model_path=directory / f"{spec.name}.keras")
    return {"val_loss": best.validation_value, "test_accuracy": best.test_metrics["test_accuracy"],
            "test_loss": best.test_metrics["test_loss"], "seconds": seconds}


def run_seed(seed: int, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    from hpo._keras_runtime import prepare_keras, select_backend

    select_backend(args.backend)
    prepare_keras()
    with tempfile.TemporaryDirectory() as directory:
        os.environ["HPO_HOME"] = directory
        return {strategy: run_strategy(Path(directory), strategy, seed, args) for strategy in STRATEGIES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--interval", type=int, default=3)
    parser.add_argument("--patience", type=int, default=12)
    parser.add_argument("--backend", default="tensorflow")
    args = parser.parse_args()

    seeds = range(args.first_seed, args.first_seed + args.seeds)
    started = time.perf_counter()
    runs: dict[int, dict[str, dict[str, float]]] = seeds_in_processes(run_seed, seeds, args, lambda seed, run: (
        f"seed {seed}: " + "; ".join(
            f"{name} val_loss {r['val_loss']:.4f} test_accuracy {r['test_accuracy']:.4f} ({r['seconds']:.0f} s)"
            for name, r in run.items())))

    print(f"\n{args.seeds} seeds ({seeds[0]}-{seeds[-1]}), digits MLP, {args.population * args.epochs} epochs per "
          f"strategy and seed (PBT: {args.population} members x {args.epochs} epochs, segments of {args.interval}; "
          f"TPE + median: epoch_budget, trials of up to {args.epochs}), patience {args.patience}, {args.jobs} jobs")
    print("| strategy | pick's val_loss | test accuracy of the pick | test loss of the pick | wall seconds |")
    print("|---|---|---|---|---|")
    for name in STRATEGIES:
        cells = []
        for key in ("val_loss", "test_accuracy", "test_loss", "seconds"):
            middle, low, high = median_band([runs[seed][name][key] for seed in seeds])
            cells.append(f"{middle:.4f} [{low:.4f}, {high:.4f}]" if key != "seconds" else f"{middle:.0f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    wins = [runs[s]["pbt"]["test_accuracy"] - runs[s]["tpe+median"]["test_accuracy"] for s in seeds]
    share = sum(1.0 if d > 0 else 0.5 if d == 0 else 0.0 for d in wins) / len(wins)
    print(f"PBT's test accuracy above TPE + median's on {share:.0%} of seeds "
          f"(median difference {statistics.median(wins):+.4f})")
    print(f"benchmark seconds: {time.perf_counter() - started:.0f}")


if __name__ == "__main__":
    main()
