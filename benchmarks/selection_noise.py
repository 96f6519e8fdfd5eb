"""Picking on one small validation split against cross-validation and re-checking the leaders,
at equal total epochs, in real runs: the test score of the pick.

For each task and seed, a test set is held out once (the same for every strategy), and three
studies of the built-in MLP search the rest with TPE + hpo's default pruner:

* ``single``: one validation split (``validation=0.2``), ``epoch_budget=E``;
* ``cv5``: ``cv=5``, ``epoch_budget=E`` (every fold's epochs count);
* ``confirm``: one split, then ``confirm_top=K`` (``--confirm-top``) re-checks of the leaders
  on 5 fresh folds; the search gets ``E`` less the most the re-checks can train
  (K x 5 x max_epochs), so the study trains at most ``E`` epochs in all (the measured totals
  are printed).

``hpo best`` then trains each pick (a cross-validated or re-checked one on training +
validation data for its folds' mean best epoch, a single-split one as the search trained it)
and scores it once on the test set. Tasks: scikit-learn's breast cancer (569 examples, 20 %
test, val_loss, test accuracy), diabetes (442, val_mae, test MAE) and a 300-example subset of
digits (val_loss; the test set is 500 other digits, test accuracy). Nothing here was tuned;
report on seeds from 1000.

    .venv/bin/python benchmarks/selection_noise.py [--seeds 20] [--first-seed 1000] [--jobs 2]
        [--epochs 160] [--max-epochs 8] [--patience 3] [--confirm-top 2] [--tasks breast_cancer,diabetes,digits300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pruner_comparison import median_band, seeds_in_processes

STRATEGIES = ("single", "cv5", "confirm")
TASKS = ("breast_cancer", "diabetes", "digits300")
# (search metric, test score key, whether a higher test score is better)
SCORES = {"breast_cancer": ("val_loss", "test_accuracy", True), "diabetes": ("val_mae", "test_mae", False),
          "digits300": ("val_loss", "test_accuracy", True)}
CONFIRM_FOLDS = 5


def task_data(task: str, seed: int) -> Any:
    """The task's ``hpo.Data``: the search's examples and a test set held out with ``seed``."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    from hpo import Data

    if task == "digits300":
        x, y = datasets.load_digits(return_X_y=True)
        rows = np.random.default_rng(seed).permutation(len(x))
        search, test = rows[:300], rows[300:800]
        x = (x / 16.0).astype("float32")
        return Data((x[search], y[search]), validation=0.2, test=(x[test], y[test]), name=task)
    loader = datasets.load_breast_cancer if task == "breast_cancer" else datasets.load_diabetes
    x, y = loader(return_X_y=True)
    x = ((x - x.mean(axis=0)) / x.std(axis=0)).astype("float32")
    if task == "diabetes":
        y = y.astype("float32")
    x_search, x_test, y_search, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y if task == "breast_cancer" else None)
    return Data((x_search, y_search), validation=0.2, test=(x_test, y_test), name=task)


def run_strategy(directory: Path, task: str, strategy: str, seed: int, args: argparse.Namespace) -> dict[str, float]:
    import optuna

    import hpo.driver as driver
    from hpo import StudySpec
    from hpo.driver import train_best
    from hpo.schedulers import epochs_charged

    metric, score, _ = SCORES[task]
    data = task_data(task, seed)
    budget = args.epochs
    extra: dict[str, Any] = {}
    if strategy == "cv5":
        extra = {"cv": 5}
    elif strategy == "confirm":
        budget -= args.confirm_top * CONFIRM_FOLDS * args.max_epochs
        extra = {"confirm_top": args.confirm_top}
    spec = StudySpec(name=f"{task}-{strategy}-{seed}", objective="mlp", dataset="data", metric=metric,
                     n_trials=100_000, epoch_budget=budget, max_epochs=args.max_epochs, patience=args.patience,
                     seed=seed, recycle_after=0, enqueue_defaults=False, **extra)
    url = f"sqlite:///{directory / 'bench.db'}"
    started = time.perf_counter()
    driver.run(spec, storage_url=url, data=data, out=lambda line: None)
    seconds = time.perf_counter() - started
    trials = optuna.load_study(study_name=spec.name, storage=url).trials
    # Every epoch trained: the search's (charged to the budget) and the re-checks' (not charged)
    epochs = epochs_charged(trials) + sum(sum(t.user_attrs.get("fold_epochs", [])) for t in trials
                                          if "confirms" in t.user_attrs)
    best = train_best(spec.name, storage_url=url, model_path=directory / f"{spec.name}.keras", in_memory=data)
    return {"validation": best.validation_value, "test": best.test_metrics[score], "epochs": float(epochs),
            "trials": float(len(trials)), "seconds": seconds}


def run_seed(seed: int, args: argparse.Namespace) -> dict[str, dict[str, dict[str, float]]]:
    import optuna

    from hpo._keras_runtime import prepare_keras

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    prepare_keras()
    with tempfile.TemporaryDirectory() as directory:
        os.environ["HPO_HOME"] = directory
        return {task: {strategy: run_strategy(Path(directory), task, strategy, seed, args) for strategy in STRATEGIES}
                for task in args.tasks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=160, help="total epochs per strategy, task and seed")
    parser.add_argument("--max-epochs", type=int, default=8)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--confirm-top", type=int, default=2)
    parser.add_argument("--tasks", type=lambda text: text.split(","), default=list(TASKS))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    unknown = set(args.tasks) - set(TASKS)
    if unknown:
        parser.error(f"unknown tasks: {', '.join(sorted(unknown))}; known: {', '.join(TASKS)}")
    reserved = args.confirm_top * CONFIRM_FOLDS * args.max_epochs
    if args.epochs <= reserved:
        parser.error(f"--epochs must exceed the most the re-checks can train ({reserved})")

    seeds = range(args.first_seed, args.first_seed + args.seeds)
    started = time.perf_counter()
    runs: dict[int, dict[str, dict[str, dict[str, float]]]] = seeds_in_processes(
        run_seed, seeds, args, lambda seed, run: f"seed {seed}: " + "; ".join(
            f"{task} " + ", ".join(f"{s} {r['test']:.4f}" for s, r in results.items()) for task, results in run.items()))

    print(f"\n{args.seeds} seeds ({seeds[0]}-{seeds[-1]}), built-in MLP, TPE + learning-curve, at most {args.epochs} "
          f"epochs per strategy, task and seed, trials of up to {args.max_epochs} epochs, patience {args.patience}, "
          f"confirm_top={args.confirm_top}, {args.jobs} jobs")
    print("| task | strategy | test score of the pick | its validation value | epochs trained | trials | wins vs single |")
    print("|---|---|---|---|---|---|---|")
    summary: dict[str, Any] = {}
    for task in args.tasks:
        _, score, higher = SCORES[task]
        single = [runs[s][task]["single"]["test"] for s in seeds]
        for strategy in STRATEGIES:
            values = [runs[s][task][strategy]["test"] for s in seeds]
            middle, low, high = median_band(values)
            better = [(v > b) if higher else (v < b) for v, b in zip(values, single)]
            ties = sum(v == b for v, b in zip(values, single))
            wins = (sum(better) + 0.5 * ties) / len(values)
            cells = [f"{score} {middle:.4f} [{low:.4f}, {high:.4f}] (mean {statistics.fmean(values):.4f})",
                     f"{statistics.median(runs[s][task][strategy]['validation'] for s in seeds):.4f}",
                     f"{statistics.median(runs[s][task][strategy]['epochs'] for s in seeds):.0f}",
                     f"{statistics.median(runs[s][task][strategy]['trials'] for s in seeds):.0f}",
                     "-" if strategy == "single" else f"{wins:.0%}"]
            print(f"| {task} | {strategy} | " + " | ".join(cells) + " |")
            summary.setdefault(task, {})[strategy] = {"median_test": middle, "band": [low, high],
                                                      "mean_test": statistics.fmean(values), "win_vs_single": wins}
    seconds = time.perf_counter() - started
    print(f"benchmark seconds: {seconds:.0f}")
    if args.json is not None:
        args.json.write_text(json.dumps({"seconds": seconds, "tasks": summary, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
