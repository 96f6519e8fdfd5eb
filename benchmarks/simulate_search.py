"""Search strategies compared on recorded learning curves: many seeds, in simulated time.

For each task of the curve bank (benchmarks/curve_bank/, recorded by its record.py) and each
seed, every strategy runs hpo's default study (its trial budget, epochs and early-stopping
patience, from StudySpec's defaults) in :func:`hpo.simulation.simulate`, with 1 simulated worker
(the epoch tables) and with each of ``--workers`` (the seconds tables). Strategies:

* ``random``: random search, no pruning (the baseline);
* ``optuna_default``: ``TPESampler()`` + ``MedianPruner()`` as Optuna ships them;
* ``hpo_default``: hpo's default sampler and pruner, made by hpo.search._strategies (when that
  is one of the strategies below, TPE + learning-curve since benchmarks/choose_defaults.py, its
  runs are that strategy's: the same study is not simulated twice);
* ``tpe_hyperband``, ``tpe_successive_halving``, ``tpe_learning_curve``: hpo's TPE with those
  pruners as hpo makes them;
* ``keras_tuner_hyperband``: KerasTuner's Hyperband, random configurations in hpo's promotion
  Hyperband (``scheduler="hyperband"``: trials pause at rungs and the best continue).

Not run by default (``--strategies``): ``tpe_median`` (hpo's default before
benchmarks/choose_defaults.py), ``tpe_asha`` and ``tpe_hyperband_promotion`` (hpo's TPE with
its pause-and-continue schedulers).

What it prints is anytime performance: the best value of a complete trial after fractions ⅛,
¼, ⅓, ½ and 1 of the epochs random search used on the same seed (and of its simulated
seconds), as the median and the interquartile mean over seeds, each with a 10-90 % bootstrap
band (seeds resampled); a strategy that has no complete trial yet counts the bank's worst final
value. Then the test metric of each strategy's pick, the fraction of random's epochs at which a
strategy's median reaches random's median final best, and the paired win rate of hpo's default
over Optuna's (share of (seed, fraction) pairs where it is strictly better; ties count half).

Seeds: choose settings on seeds 0-499 and report on seeds 1000 and up.

    .venv/bin/python benchmarks/simulate_search.py --tasks all --first-seed 1000 --seeds 100 --json out.json
        [--workers 1,4] [--jobs 2] [--bank DIR] [--no-repeats]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# The breast-cancer and diabetes objectives import Keras for their suggest(); its C++ start-up
# lines are noise here.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

STRATEGIES = ("random", "optuna_default", "hpo_default", "tpe_hyperband", "tpe_successive_halving", "tpe_learning_curve",
              "keras_tuner_hyperband")
FRACTIONS = (0.125, 0.25, 1 / 3, 0.5, 1.0)
FINE = np.round(np.arange(0.02, 1.0001, 0.02), 2)  # for the fraction at which random's final is reached
BOOTSTRAP_DRAWS = 1000
# One simulated study as the tables need it, per trial in the order trials ended:
# cumulative epochs, end (simulated seconds), value (NaN when pruned).
Run = tuple[list[int], list[float], list[float], float]


def fraction_key(fraction: float) -> str:
    return f"{fraction:.3f}".rstrip("0").rstrip(".") if fraction != 1 / 3 else "0.333"


# (trials, epochs at most, early-stopping patience) of a simulated study; None: StudySpec's defaults.
Study = tuple[int, int, int] | None


def default_study(bank: Any, study: Study = None) -> Any:
    from hpo import StudySpec

    spec = StudySpec(name="simulated", objective="mlp", dataset="digits", metric=bank.metric, direction=bank.direction)
    if study is not None:
        spec = spec.with_overrides(n_trials=study[0], max_epochs=study[1], patience=study[2])
    return spec


def _hpo_pruner(pruner: str, bank: Any, spec: Any, **options: Any) -> Any:
    from hpo.search import make_pruner

    return make_pruner(pruner, max_epochs=min(spec.max_epochs, bank.n_epochs), metric=bank.metric,
                       direction=bank.direction, options=options)


def _random(seed: int, bank: Any, spec: Any) -> tuple[Any, Any]:
    import optuna

    return optuna.samplers.RandomSampler(seed=seed), optuna.pruners.NopPruner()


def _optuna_default(seed: int, bank: Any, spec: Any) -> tuple[Any, Any]:
    import optuna

    return optuna.samplers.TPESampler(seed=seed), optuna.pruners.MedianPruner()


def _hpo_default(seed: int, bank: Any, spec: Any) -> tuple[Any, Any]:
    from hpo.search import make_sampler

    return make_sampler(spec.sampler, seed=seed), _hpo_pruner(spec.pruner, bank, spec, **spec.pruner_options)


def _tpe_with(pruner: str) -> Any:
    def make(seed: int, bank: Any, spec: Any) -> tuple[Any, Any]:
        from hpo.search import make_sampler

        return make_sampler("tpe", seed=seed), _hpo_pruner(pruner, bank, spec)

    return make


def _with_scheduler(sampler_name: str, scheduler: str) -> Any:
    """A sampler with one of hpo's pause-and-continue schedulers (no pruner): the maker's third
    element is the scheduler."""
    def make(seed: int, bank: Any, spec: Any) -> tuple[Any, Any, Any]:
        import optuna

        from hpo.schedulers import make_scheduler
        from hpo.search import make_sampler

        return (make_sampler(sampler_name, seed=seed), optuna.pruners.NopPruner(),
                make_scheduler(scheduler, {}, max_epochs=min(spec.max_epochs, bank.n_epochs), direction=bank.direction))

    return make


# name -> (seed, bank, study spec) -> (sampler, pruner[, scheduler]), fresh for every simulated study
MAKERS: dict[str, Any] = {
    "random": _random,
    "optuna_default": _optuna_default,
    "hpo_default": _hpo_default,
    "tpe_hyperband": _tpe_with("hyperband"),
    "tpe_successive_halving": _tpe_with("successive-halving"),
    "tpe_learning_curve": _tpe_with("learning-curve"),
    # not run by default: hpo's default before benchmarks/choose_defaults.py, and what
    # benchmarks/pruner_comparison.py ran as "tpe + median" (the simulator's validation)
    "tpe_median": _tpe_with("median"),
    # hpo's schedulers (pause and continue, issue 23): promotion ASHA and Hyperband under TPE,
    # and KerasTuner's Hyperband (random configurations, promotion brackets)
    "tpe_asha": _with_scheduler("tpe", "asha"),
    "tpe_hyperband_promotion": _with_scheduler("tpe", "hyperband"),
    "keras_tuner_hyperband": _with_scheduler("random", "hyperband"),
}
# A strategy's seed stream is its position here (run_seed): new strategies go last, so the
# others' results stay as they were.
assert set(STRATEGIES) <= set(MAKERS)


def strategy(name: str, seed: int, bank: Any, study: Study = None,
             makers: dict[str, Any] | None = None) -> tuple[Any, ...]:
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return (makers or MAKERS)[name](seed, bank, default_study(bank, study))


def vectorised_log_ndtr() -> None:
    """Optuna's TPE computes log Phi(x) one element at a time in Python
    (``optuna.samplers._tpe._truncnorm._log_ndtr``, np.frompyfunc over a scalar function, so as
    not to need SciPy): a third of this benchmark's time (profiled: 5.96 of 17.46 s on one
    digits-MLP seed, all strategies). ``scipy.special.log_ndtr`` is the same function in C; on
    200,000 points in [-40, 40] the two agree within 3.4e-13. The samplers' logic is untouched."""
    import scipy.special
    from optuna.samplers._tpe import _truncnorm

    _truncnorm._log_ndtr = scipy.special.log_ndtr  # type: ignore[assignment]


def memoised_extrapolation() -> None:
    """The learning-curve pruner's curve fits (``extrapolate``: four families fitted with
    SciPy) depend on nothing but the curve so far and the horizon, and a simulated study
    replays recorded curves: the same configuration's prefix comes back across seeds and
    strategies (TPE returns to the good ones). So each pool process keeps the fits it made.
    Exact: the cached value is the one the fit returned for the same arguments."""
    import functools

    from hpo.pruners import _learning_curve as learning_curve

    fit = learning_curve.extrapolate

    @functools.lru_cache(maxsize=400_000)
    def cached(curve: tuple[float, ...], horizon: int) -> Any:
        return fit(list(curve), horizon)

    def extrapolate(curve: Any, horizon: int, families: Any = learning_curve.FAMILIES) -> Any:
        if families is not learning_curve.FAMILIES:
            return fit(curve, horizon, families)
        return cached(tuple(float(v) for v in curve), horizon)

    learning_curve.extrapolate = extrapolate  # type: ignore[assignment]


def speedups() -> None:
    """What each benchmark pool process swaps in before it simulates (same results, less time)."""
    vectorised_log_ndtr()
    memoised_extrapolation()


def _twin_of_hpo_default(spec: Any) -> str | None:
    """The strategy of :data:`MAKERS` that hpo's default is (hpo's TPE with a pruner of
    default options), or None."""
    twin = "tpe_" + spec.pruner.replace("-", "_")
    return twin if spec.sampler == "tpe" and not spec.pruner_options and twin in MAKERS else None


def run_seed(task: str, seed: int, workers: tuple[int, ...], bank_dir: str | None,
             strategies: tuple[str, ...] = STRATEGIES, study: Study = None,
             makers: dict[str, Any] | None = None, equal: str = "epochs", repeats: bool = True,
             ) -> dict[str, dict[int, Run]]:
    """Every strategy on one seed of one task: {strategy: {workers: run}}; ``makers`` another
    registry of strategies than :data:`MAKERS` (benchmarks/choose_defaults.py's candidates).
    ``equal``: "epochs" gives every strategy random search's epochs on the seed, "trials" the
    study's trial budget (as benchmarks/pruner_comparison.py runs real studies). ``repeats``
    False: no new trial replays a configuration its study replayed (:func:`hpo.simulation.simulate`)."""
    makers = makers or MAKERS
    from hpo.simulation import bank_suggest, simulate

    bank = _bank(task, bank_dir)
    suggest = bank_suggest(bank, REPO)  # define-by-run, as the recorded objective asks
    spec = default_study(bank, study)
    out: dict[str, dict[int, Run]] = {}
    budget: int | None = None  # random search's epochs on this seed, which the others get
    twin = _twin_of_hpo_default(spec) if makers is MAKERS else None
    order = sorted(strategies, key=lambda n: (n != "random", n == "hpo_default"))  # twins before hpo_default
    for name in ("random", *(n for n in order if n != "random")):
        if name == "hpo_default" and twin in out:
            # The same sampler and pruner, made the same way: simulated once (a third of the
            # benchmark's time when the twin is the learning-curve pruner).
            out[name] = out[twin]
            continue
        position = list(makers).index(name)
        out[name] = {}
        for count in sorted({1, *workers}):
            # Each strategy its own seed stream: with the baseline's seed, TPE's random start-up
            # trials would be the baseline's.
            sampler, pruner, *scheduler = strategy(name, seed * 100 + position, bank, study, makers)
            # Random search runs the study's trials; every other strategy as many epochs as it
            # used (trials it pruned leave epochs for more trials), so all compare at equal epochs.
            limits: dict[str, Any] = ({"n_trials": spec.n_trials} if budget is None or equal == "trials"
                                      else {"n_trials": None, "epoch_budget": budget})
            result = simulate(bank, sampler, pruner, workers=count, max_epochs=spec.max_epochs,
                              patience=spec.patience, suggest=suggest, scheduler=scheduler[0] if scheduler else None,
                              repeats=repeats, **limits)
            epochs = np.cumsum([t.trained for t in result.trials]).tolist()
            values = [float("nan") if t.pruned else t.value for t in result.trials]
            test = result.test_of_pick()
            out[name][count] = (epochs, [t.ended for t in result.trials], values,
                                float("nan") if test is None else test)
        if budget is None:
            budget = int(out["random"][1][0][-1])
    return {name: out[name] for name in dict.fromkeys(("random", *strategies))}


_BANKS: dict[tuple[str, str | None], Any] = {}


def _bank(task: str, bank_dir: str | None) -> Any:
    from hpo.simulation import load_bank

    if (task, bank_dir) not in _BANKS:
        _BANKS[task, bank_dir] = load_bank(task, bank_dir)
    return _BANKS[task, bank_dir]


def anytime(run: Run, budgets: np.ndarray, *, seconds: bool, maximize: bool, worst: float) -> np.ndarray:
    """The best complete value within each budget (epochs or simulated seconds)."""
    spent = np.asarray(run[1] if seconds else run[0], dtype=float)
    values = np.asarray(run[2], dtype=float)
    filled = np.where(np.isnan(values), -np.inf if maximize else np.inf, values)
    running = np.maximum.accumulate(filled) if maximize else np.minimum.accumulate(filled)
    # Trials ended in order, so the trials within a budget are a prefix (seconds: ends ascend).
    within = np.searchsorted(spent, budgets, side="right")
    best = np.where(within > 0, running[np.maximum(within - 1, 0)], worst)
    return np.where(np.isfinite(best), best, worst)


def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    ordered = np.sort(values, axis=axis)
    n = ordered.shape[axis]
    low, high = n // 4, n - n // 4
    return np.take(ordered, range(low, max(high, low + 1)), axis=axis).mean(axis=axis)


def band(values: np.ndarray, statistic: str, rng: np.random.Generator) -> list[float]:
    """[statistic, 10 %, 90 %] over seeds, the band from seeds resampled."""
    function = np.median if statistic == "median" else iqm
    draws = values[rng.integers(0, len(values), (BOOTSTRAP_DRAWS, len(values)))]
    resampled = function(draws, axis=1)
    return [float(function(values)), float(np.quantile(resampled, 0.1)), float(np.quantile(resampled, 0.9))]


def _worst(bank: Any) -> float:
    finals = bank.curves.max(axis=1) if bank.maximize else bank.curves.min(axis=1)
    return float(finals.min() if bank.maximize else finals.max())


def anytime_matrix(bank: Any, runs: dict[int, dict[str, dict[int, Run]]], name: str, count: int,
                   fractions: np.ndarray, *, seconds: bool) -> np.ndarray:
    """Seeds x fractions: strategy ``name``'s best within fractions of random's budget on each seed."""
    rows, worst = [], _worst(bank)
    for seed in sorted(runs):
        baseline = runs[seed]["random"][count]
        total = baseline[1][-1] if seconds else baseline[0][-1]
        rows.append(anytime(runs[seed][name][count], fractions * total, seconds=seconds,
                            maximize=bank.maximize, worst=worst))
    return np.array(rows)


def win_rate(bank: Any, runs: dict[int, dict[str, dict[int, Run]]], ours: str, theirs: str, count: int = 1, *,
             seconds: bool = False, fractions: tuple[float, ...] = FRACTIONS) -> float:
    """Share of (seed, fraction) pairs where ``ours`` is strictly better than ``theirs``; ties count half."""
    better = np.greater if bank.maximize else np.less
    fractions = np.array(fractions)
    a = anytime_matrix(bank, runs, ours, count, fractions, seconds=seconds)
    b = anytime_matrix(bank, runs, theirs, count, fractions, seconds=seconds)
    return float((better(a, b).sum() + 0.5 * (a == b).sum()) / a.size)


def reach_fraction(bank: Any, runs: dict[int, dict[str, dict[int, Run]]], name: str) -> float | None:
    """The smallest fraction of random's epochs at which ``name``'s median best reaches random's
    median final best (None: not within random's epochs)."""
    better = np.greater if bank.maximize else np.less
    random_final = float(np.median(anytime_matrix(bank, runs, "random", 1, np.array([1.0]), seconds=False)[:, 0]))
    fine = np.median(anytime_matrix(bank, runs, name, 1, FINE, seconds=False), axis=0)
    reached = np.flatnonzero(~better(random_final, fine))
    return float(FINE[reached[0]]) if reached.size else None


def task_tables(task: str, runs: dict[int, dict[str, dict[int, Run]]], workers: tuple[int, ...],
                bank_dir: str | None) -> dict[str, Any]:
    bank = _bank(task, bank_dir)
    seeds = sorted(runs)
    rng = np.random.default_rng(0)

    def curves(name: str, count: int, fractions: np.ndarray, *, seconds: bool) -> np.ndarray:
        return anytime_matrix(bank, runs, name, count, fractions, seconds=seconds)

    fractions = np.array(FRACTIONS)
    random_final = float(np.median(curves("random", 1, np.array([1.0]), seconds=False)[:, 0]))
    table: dict[str, Any] = {"metric": bank.metric, "direction": bank.direction, "seeds": len(seeds),
                             "random_median_final": random_final, "strategies": {}}
    for name in runs[seeds[0]]:
        by_epochs = curves(name, 1, fractions, seconds=False)
        tests = np.array([runs[seed][name][1][3] for seed in seeds])
        entry: dict[str, Any] = {
            "epoch_fraction_to_random_final": reach_fraction(bank, runs, name),
            "best_at": {fraction_key(f): float(np.median(by_epochs[:, i])) for i, f in enumerate(FRACTIONS)},
            "bands_at_epochs": {fraction_key(f): {"median": band(by_epochs[:, i], "median", rng),
                                                  "iqm": band(by_epochs[:, i], "iqm", rng)}
                                for i, f in enumerate(FRACTIONS)},
            "bands_at_seconds": {},
            "test_of_pick": float(np.nanmedian(tests)),
            "epochs": float(np.median([runs[seed][name][1][0][-1] for seed in seeds])),
        }
        for count in sorted({1, *workers}):
            by_seconds = curves(name, count, fractions, seconds=True)
            entry["bands_at_seconds"][str(count)] = {
                fraction_key(f): {"median": band(by_seconds[:, i], "median", rng),
                                  "iqm": band(by_seconds[:, i], "iqm", rng)} for i, f in enumerate(FRACTIONS)}
        table["strategies"][name] = entry

    if {"hpo_default", "optuna_default"} <= set(runs[seeds[0]]):
        table["win_rate_hpo_default_vs_optuna_default"] = win_rate(bank, runs, "hpo_default", "optuna_default")
        # per seed at random's whole budget only (the other is the anytime rate)
        table["win_rate_hpo_default_vs_optuna_default_final"] = {
            "epochs": win_rate(bank, runs, "hpo_default", "optuna_default", fractions=(1.0,)),
            **{f"seconds_{c}": win_rate(bank, runs, "hpo_default", "optuna_default", c, seconds=True, fractions=(1.0,))
               for c in sorted({1, *workers})}}
        table["win_rate_hpo_default_vs_optuna_default_seconds"] = {
            str(c): win_rate(bank, runs, "hpo_default", "optuna_default", c, seconds=True) for c in sorted({1, *workers})}
    return table


def print_tables(task: str, table: dict[str, Any], workers: tuple[int, ...]) -> None:
    heads = " | ".join(fraction_key(f) for f in FRACTIONS)
    print(f"\n## {task}: {table['metric']} ({table['direction']}), {table['seeds']} seeds, "
          f"random's median final {table['random_median_final']:.4f}")
    print("\nat a fraction of random's epochs, median [10-90 % band]; IQM below\n")
    print(f"| strategy | {heads} | test of pick | epochs | reaches random's final at |")
    print("|---" * (len(FRACTIONS) + 4) + "|")
    for name, entry in table["strategies"].items():
        cells = " | ".join("{:.4f} [{:.4f}, {:.4f}]".format(*entry["bands_at_epochs"][fraction_key(f)]["median"])
                           for f in FRACTIONS)
        reach = entry["epoch_fraction_to_random_final"]
        print(f"| {name} | {cells} | {entry['test_of_pick']:.4f} | {entry['epochs']:.0f} | "
              f"{'never' if reach is None else f'{reach:.2f}'} |")
    for name, entry in table["strategies"].items():
        cells = " | ".join("{:.4f}".format(entry["bands_at_epochs"][fraction_key(f)]["iqm"][0]) for f in FRACTIONS)
        print(f"| {name} (IQM) | {cells} | | | |")
    for count in sorted({1, *workers}):
        print(f"\nat a fraction of random's simulated seconds, {count} worker(s), median [10-90 % band]\n")
        for name, entry in table["strategies"].items():
            cells = " | ".join("{:.4f} [{:.4f}, {:.4f}]".format(*entry["bands_at_seconds"][str(count)][fraction_key(f)]["median"])
                               for f in FRACTIONS)
            print(f"| {name} | {cells} |")
    if "win_rate_hpo_default_vs_optuna_default" not in table:
        return
    seconds = ", ".join(f"{c} worker(s) {r:.0%}" for c, r in table["win_rate_hpo_default_vs_optuna_default_seconds"].items())
    print(f"\nhpo_default beats optuna_default at equal epochs on {table['win_rate_hpo_default_vs_optuna_default']:.0%} "
          f"of (seed, fraction) pairs; at equal simulated seconds: {seconds}")
    final = table["win_rate_hpo_default_vs_optuna_default_final"]
    print("at random's whole budget, per seed: " + ", ".join(f"{k} {v:.0%}" for k, v in final.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="all", help="comma-separated banks, or all")
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--workers", default="4", help="simulated worker counts of the seconds tables, besides 1")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--bank", default=None, help="the curve bank's folder (default benchmarks/curve_bank)")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--study", default=None, metavar="TRIALS,EPOCHS,PATIENCE",
                        help="another study than StudySpec's defaults (e.g. 24,10,4: benchmarks/pruner_comparison.py)")
    parser.add_argument("--equal", choices=("epochs", "trials"), default="epochs",
                        help="every strategy gets random search's epochs on the seed (default), or the study's trials")
    parser.add_argument("--no-repeats", action="store_true",
                        help="a proposal maps to the nearest configuration its study has not replayed yet")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    strategies = tuple(args.strategies.split(","))
    unknown = set(strategies) - set(MAKERS)
    if unknown:
        parser.error(f"unknown strategies {sorted(unknown)}; choose from {', '.join(MAKERS)}")
    study: Study = None
    if args.study:
        trials, epochs, patience = (int(v) for v in args.study.split(","))
        study = (trials, epochs, patience)

    from hpo.simulation import bank_directory

    folder = bank_directory(args.bank)
    tasks = (sorted(p.stem for p in folder.glob("*.json") if p.stem != "versions" and not p.stem.endswith("-repeat"))
             if args.tasks == "all" else args.tasks.split(","))
    workers = tuple(int(w) for w in args.workers.split(",") if w)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    started = time.perf_counter()
    runs: dict[str, dict[int, Any]] = {task: {} for task in tasks}
    # The scripts' worker processes only: the swap never reaches a process that imports this module.
    with concurrent.futures.ProcessPoolExecutor(args.jobs, initializer=speedups) as pool:
        futures = {pool.submit(run_seed, task, seed, workers, args.bank, strategies, study, None, args.equal,
                               not args.no_repeats): (task, seed)
                   for task in tasks for seed in seeds}
        for future in concurrent.futures.as_completed(futures):
            task, seed = futures[future]
            runs[task][seed] = future.result()
    tables = {task: task_tables(task, runs[task], workers, args.bank) for task in tasks}
    elapsed = time.perf_counter() - started
    for task in tasks:
        print_tables(task, tables[task], workers)
    print(f"\n{len(tasks)} tasks x {args.seeds} seeds (from {args.first_seed}) x {len(strategies)} strategies "
          f"with {', '.join(str(c) for c in sorted({1, *workers}))} worker(s) in {elapsed:.0f} s ({args.jobs} processes)"
          + (", no configuration replayed twice in a study" if args.no_repeats else ""))
    if args.json is not None:
        args.json.write_text(json.dumps({"seconds": elapsed, "repeats": not args.no_repeats, "tasks": tables}, indent=1))


if __name__ == "__main__":
    main()
