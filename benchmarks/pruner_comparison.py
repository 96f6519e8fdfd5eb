"""Which search strategy finds a good model with the fewest epochs and seconds: anytime curves over many seeds.

On the digits MLP with validation log-loss as the objective (accuracy on 360 validation images
moves in steps of 0.28% and saturates), for each seed this runs the same number of trials with

* random search without pruning (the baseline),
* TPE + median pruner (hpo's default until benchmarks/choose_defaults.py), TPE + hyperband, TPE + the learning-curve pruner,

all with early stopping, and no enqueued defaults (each strategy starts from nothing). Each
strategy gets its own seed stream (TPE starts with random trials, and with the baseline's seed
its first trials would be the baseline's).

What it prints is the measure of the HPO literature, anytime performance: for each strategy the
best validation loss of a complete trial so far, after fractions 1/8, 1/4, 1/3, 1/2 and 1 of
the epochs random search used on the same seed (and, below, of its wall seconds), as the median
over seeds with a 10-90 % bootstrap band (the seeds resampled 2000 times); a strategy that
finished its trials earlier keeps its final best. Then paired per-seed win rates at equal
epochs, and the two targets of issue 17. Seeds for reporting must not be the seeds settings
were chosen on: the learning-curve pruner's defaults and hpo's TPE settings were chosen on
seeds 0-21 (README), so the default reports on seeds 40-59; tune anything new on 0-39.

``--jobs N`` runs N seeds at a time, each in its own process with 1/N of the cores
(``HPO_THREADS``), as ``hpo run --workers`` does. Epochs and values do not depend on it; seconds
do, the same way for every strategy of a seed, since each process runs the four in turn.
Wall seconds are trial time from the first trial's start, so Python's start-up is not in them.

    .venv/bin/python benchmarks/pruner_comparison.py [--seeds 20] [--first-seed 40] [--jobs 2]
        [--trials 24] [--epochs 10] [--patience 4] [--backend tensorflow]
        [--strategies random+none,tpe+median,tpe+hyperband,tpe+learning-curve] [--epoch-budget E]

A strategy's second half may name one of hpo's schedulers instead of a pruner
(``tpe+scheduler:asha``, ``tpe+scheduler:hyperband``: pause and continue, no pruner), and
``--epoch-budget E`` gives every strategy exactly E epochs (``epoch_budget``, trials unbounded)
instead of ``--trials`` trials, so all compare at equal epochs. A continuation's epochs count
once: those it trained itself, not the ones it took over from its paused trial.
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
from pathlib import Path
from typing import Any, Callable, Sequence

# (sampler, pruner) as a study script names them (an import path "file.py:Name" too); the
# first is the baseline the fractions refer to, the last the strategy the win rates are of.
# --strategies replaces them, e.g. "tpe+median,tpe+learning-curve" (the confirmation of a
# default against the one before it).
STRATEGIES = (
    ("random", "none"),
    ("tpe", "median"),
    ("tpe", "hyperband"),
    ("tpe", "learning-curve"),
)
FRACTIONS = ((1, 8), (1, 4), (1, 3), (1, 2), (1, 1))
BOOTSTRAP_DRAWS = 2000

# One finished trial as the curves need it: (epochs it trained, seconds from the study's first
# trial start to its end, its value if it completed, else None).
Step = tuple[int, float, "float | None"]


def run_study(directory: Path, sampler: str, pruner: str, seed: int, args: argparse.Namespace) -> list[Step]:
    import optuna

    import hpo.driver as driver
    from hpo import StudySpec

    scheduler = pruner.removeprefix("scheduler:") if pruner.startswith("scheduler:") else "none"
    spec = StudySpec(
        name=f"{sampler}-{pruner.replace(':', '-')}-{seed}", objective="mlp", dataset="digits", metric="val_loss",
        sampler=sampler, pruner="none" if scheduler != "none" else pruner, scheduler=scheduler,
        n_trials=args.trials if args.epoch_budget is None else 1_000_000, epoch_budget=args.epoch_budget,
        max_epochs=args.epochs, patience=args.patience,
        seed=seed, enqueue_defaults=False, recycle_after=0, backend=args.backend,
    )
    url = f"sqlite:///{directory / 'bench.db'}"
    driver.run(spec, storage_url=url, out=lambda line: None)
    trials = sorted(optuna.load_study(study_name=spec.name, storage=url).get_trials(deepcopy=False),
                    key=lambda t: t.datetime_complete)
    start = min(t.datetime_start for t in trials)
    return [(_own_epochs(t), (t.datetime_complete - start).total_seconds(),
             t.value if t.state.name == "COMPLETE" else None) for t in trials]


def _own_epochs(trial: Any) -> int:
    """Epochs a trial trained itself: a continuation's after the ones it took over."""
    import hpo.records as records

    attrs = trial.user_attrs
    taken_over = (records.resumed_from_epoch(attrs) or 1) - 1 if records.continues(attrs) is not None else 0
    return len(trial.intermediate_values) - taken_over


def best_by(steps: list[Step], budget: float, *, seconds: bool) -> float:
    """The best value of a trial complete within ``budget`` epochs (or seconds); inf if none."""
    best, used = math.inf, 0.0
    for epochs, at, value in steps:
        used = at if seconds else used + epochs
        if used > budget + 1e-9:
            break
        if value is not None:
            best = min(best, value)
    return best


def total(steps: list[Step], *, seconds: bool) -> float:
    return max(at for _, at, _ in steps) if seconds else float(sum(epochs for epochs, _, _ in steps))


def seeds_in_processes(run_seed: Callable[[int, argparse.Namespace], Any], seeds: Sequence[int],
                       args: argparse.Namespace, line: Callable[[int, Any], str]) -> dict[int, Any]:
    """``run_seed(seed, args)`` for every seed in ``args.jobs`` processes, each with its share of
    the cores; prints ``line(seed, result)`` for each seed in order. Spawned, not forked: each
    process imports Keras itself, after HPO_THREADS is set. A fresh process per seed: one that
    ran seed after seed of `selection_noise.py` grew to 12 GiB (TensorFlow keeps what each of
    its hundreds of models left behind), and two of them filled this 24 GiB machine."""
    from hpo._environment import THREADS_ENV
    from hpo.driver import available_cores

    if args.jobs > 1:
        os.environ[THREADS_ENV] = str(max(1, available_cores() // args.jobs))
    runs: dict[int, Any] = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn"),
                                                max_tasks_per_child=1) as pool:
        futures = {seed: pool.submit(run_seed, seed, args) for seed in seeds}
        for seed in seeds:
            runs[seed] = futures[seed].result()
            print(line(seed, runs[seed]), flush=True)
    return runs


def median_band(values: list[float]) -> tuple[float, float, float]:
    """Median over seeds and its 10 % / 90 % bootstrap quantiles (seeds drawn with replacement)."""
    draw = random.Random(0)
    medians = sorted(statistics.median(draw.choices(values, k=len(values))) for _ in range(BOOTSTRAP_DRAWS))
    return statistics.median(values), medians[int(0.1 * (BOOTSTRAP_DRAWS - 1))], medians[int(0.9 * (BOOTSTRAP_DRAWS - 1))]


def win_rate(mine: list[float], theirs: list[float]) -> float:
    """Share of seeds where ``mine`` is lower (ties count half)."""
    return sum(1.0 if a < b else 0.5 if a == b else 0.0 for a, b in zip(mine, theirs)) / len(mine)


def labels(strategies: tuple[tuple[str, str], ...]) -> list[str]:
    return ["{} + {}".format(*strategy) for strategy in strategies]


def run_seed(seed: int, args: argparse.Namespace) -> dict[str, list[Step]]:
    from hpo._environment import PARENT_PID_ENV
    from hpo._keras_runtime import prepare_keras, select_backend
    from hpo.driver import stop_with_parent

    # As an `hpo run --workers` worker: when the benchmark is killed, the seed's study stops
    # at the next epoch boundary (an idle pool process just dies of the signal).
    stop_with_parent()
    select_backend(args.backend)
    prepare_keras()
    try:
        with tempfile.TemporaryDirectory() as directory:
            return {label: run_study(Path(directory), s, p, seed * 100 + index, args)
                    for index, (label, (s, p)) in enumerate(zip(labels(args.strategies), args.strategies))}
    finally:
        if str(os.getppid()) != os.environ[PARENT_PID_ENV]:
            os._exit(1)  # no one takes the result, and the pool process would wait forever


def _fmt(value: float) -> str:
    return f"{value:.4f}" if math.isfinite(value) else "none"


def anytime_table(runs: dict[int, dict[str, list[Step]]], names: list[str], *, seconds: bool) -> dict[str, list[list[float]]]:
    """Per strategy, per fraction, the best-so-far of each seed; printed as median [band]."""
    unit = "wall seconds" if seconds else "epochs"
    table: dict[str, list[list[float]]] = {}
    baseline = names[0]
    print(f"\nbest val_loss so far after a fraction of {baseline}'s {unit} on the same seed: "
          f"median over {len(runs)} seeds [10-90 % bootstrap band]")
    print("| strategy | " + " | ".join(f"{a}/{b}" for a, b in FRACTIONS) + " |")
    print("|---|" + "---|" * len(FRACTIONS))
    for label in names:
        table[label] = [[best_by(seed_runs[label], total(seed_runs[baseline], seconds=seconds) * a / b,
                                 seconds=seconds) for seed_runs in runs.values()] for a, b in FRACTIONS]
        cells = []
        for values in table[label]:
            middle, low, high = median_band(values)
            cells.append(f"{_fmt(middle)} [{_fmt(low)}, {_fmt(high)}]")
        print(f"| {label} | " + " | ".join(cells) + " |")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=40, help="seeds first-seed .. first-seed+seeds-1")
    parser.add_argument("--jobs", type=int, default=1, help="seeds run at the same time")
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--backend", default="tensorflow", help="Keras backend of every study")
    parser.add_argument("--epoch-budget", type=int, default=None,
                        help="every strategy trains exactly this many epochs (instead of --trials trials)")
    parser.add_argument("--strategies", default=",".join("+".join(s) for s in STRATEGIES),
                        help="SAMPLER+PRUNER,...: the first is the baseline, the last the one compared")
    args = parser.parse_args()
    args.strategies = tuple(tuple(item.split("+", 1)) for item in args.strategies.split(","))
    if len(args.strategies) < 2 or any(len(item) != 2 for item in args.strategies):
        parser.error("--strategies needs at least two SAMPLER+PRUNER items")
    names = labels(args.strategies)
    baseline, focus = names[0], names[-1]

    from hpo._environment import PARENT_PID_ENV

    seeds = range(args.first_seed, args.first_seed + args.seeds)
    os.environ[PARENT_PID_ENV] = str(os.getpid())

    def line(seed: int, run: dict[str, list[Step]]) -> str:
        return f"seed {seed}: " + "; ".join(
            f"{label} {_fmt(best_by(run[label], math.inf, seconds=False))} "
            f"({total(run[label], seconds=False):.0f} ep, {total(run[label], seconds=True):.0f} s)" for label in names)

    runs: dict[int, dict[str, list[Step]]] = seeds_in_processes(run_seed, seeds, args, line)

    budget = f"{args.trials} trials" if args.epoch_budget is None else f"{args.epoch_budget} epochs each, trials"
    print(f"\n{args.seeds} seeds ({args.first_seed}-{args.first_seed + args.seeds - 1}), {budget} "
          f"of up to {args.epochs} epochs, patience {args.patience}, backend {args.backend}")
    by_epochs = anytime_table(runs, names, seconds=False)
    anytime_table(runs, names, seconds=True)

    print("\npaired win rate at equal epochs (share of seeds with the lower best-so-far; ties half):")
    print("| pair | " + " | ".join(f"{a}/{b}" for a, b in FRACTIONS) + " |")
    print("|---|" + "---|" * len(FRACTIONS))
    for other in reversed(names[:-1]):
        rates = [win_rate(mine, theirs) for mine, theirs in zip(by_epochs[focus], by_epochs[other])]
        print(f"| {focus} vs {other} | " + " | ".join(f"{rate:.0%}" for rate in rates) + " |")

    third = [index for index, (a, b) in enumerate(FRACTIONS) if (a, b) == (1, 3)][0]
    baseline_final = statistics.median(by_epochs[baseline][-1])
    at_third = statistics.median(by_epochs[focus][third])
    print(f"\nat 1/3 of {baseline}'s epochs, {focus} median {_fmt(at_third)} "
          f"vs {baseline}'s median final best {_fmt(baseline_final)}: "
          f"{'reached' if at_third <= baseline_final else 'not reached'}")


if __name__ == "__main__":
    main()
