"""Choose hpo's default sampler and pruner on the curve bank, on tuning seeds only.

Every candidate (a sampler and a pruner, as hpo would make them) runs hpo's default study on
each bank and seed in the simulator, as benchmarks/simulate_search.py runs its strategies, and
is compared with random search and with Optuna's defaults (``TPESampler()`` +
``MedianPruner()``). Printed per candidate and task: the fraction of random search's epochs at
which its median best reaches random's median final best, and the paired win rate over Optuna's
defaults at equal epochs (1 worker) and at equal simulated seconds (``--workers``, 4 by default);
then the win rates pooled over the tasks. The defaults are picked from this table, then reported
by simulate_search.py on seeds 1000 and up, which this script refuses.

    .venv/bin/python benchmarks/choose_defaults.py --tasks digits_mlp,diabetes_mlp --first-seed 0 --seeds 40
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import time
from typing import Any

import numpy as np
import simulate_search as search  # benchmarks/ is the script's folder, so on sys.path

TUNING_SEEDS = range(0, 500)


def _candidate(sampler: str, pruner: str, sampler_options: dict[str, Any], pruner_options: dict[str, Any],
               seed: int, bank: Any, spec: Any) -> tuple[Any, Any]:
    import optuna

    from hpo.search import TPE_OPTIONS, make_sampler

    if sampler == "tpe":  # hpo's TPE with other options
        made: Any = optuna.samplers.TPESampler(seed=seed, **{**TPE_OPTIONS, **sampler_options})
    else:
        made = make_sampler(sampler, seed=seed)
    if pruner == "median-tuned":  # MedianPruner with its options stated
        return made, optuna.pruners.MedianPruner(**pruner_options)
    return made, search._hpo_pruner(pruner, spec=spec, bank=bank, **pruner_options)


def candidate(sampler: str, pruner: str, sampler_options: dict[str, Any] | None = None,
              pruner_options: dict[str, Any] | None = None) -> Any:
    return functools.partial(_candidate, sampler, pruner, sampler_options or {}, pruner_options or {})


CANDIDATES: dict[str, Any] = {
    "random": search.MAKERS["random"],
    "optuna_default": search.MAKERS["optuna_default"],
    "tpe+none": candidate("tpe", "none"),
    "tpe+median": candidate("tpe", "median"),  # hpo's default before this script
    "tpe+median(warmup 1)": candidate("tpe", "median-tuned", pruner_options={"n_startup_trials": 5, "n_warmup_steps": 1}),
    "tpe+median(warmup 5)": candidate("tpe", "median-tuned", pruner_options={"n_startup_trials": 5, "n_warmup_steps": 5}),
    "tpe+percentile": candidate("tpe", "percentile"),
    "tpe+patient": candidate("tpe", "patient"),
    "tpe+successive-halving": candidate("tpe", "successive-halving"),
    "tpe+hyperband": candidate("tpe", "hyperband"),
    "tpe+learning-curve": candidate("tpe", "learning-curve"),
    "tpe(startup 5)+median": candidate("tpe", "median", {"n_startup_trials": 5}),
    "tpe(startup 5)+learning-curve": candidate("tpe", "learning-curve", {"n_startup_trials": 5}),
    "tpe(no liar)+learning-curve": candidate("tpe", "learning-curve", {"constant_liar": False}),
    "tpe+learning-curve(threshold 0.05)": candidate("tpe", "learning-curve", pruner_options={"threshold": 0.05}),
    "tpe+learning-curve(threshold 0.2)": candidate("tpe", "learning-curve", pruner_options={"threshold": 0.2}),
    "tpe+learning-curve(min 4)": candidate("tpe", "learning-curve", pruner_options={"min_epochs": 4}),
    "tpe(startup 5)+hyperband": candidate("tpe", "hyperband", {"n_startup_trials": 5}),
    "tpe(univariate)+median": candidate("tpe", "median", {"multivariate": False, "group": False}),
    "qmc+median": candidate("qmc", "median"),
    # Optuna's Gaussian-process sampler (needs torch).
    "gp+learning-curve": candidate("gp", "learning-curve"),
    "gp+median": candidate("gp", "median"),
    # OptunaHub's AutoSampler cannot be loaded here (optunahub fetches it from GitHub at run
    # time), but its rule is simple: a single-objective space with a categorical or a
    # conditional parameter gets TPESampler(multivariate=True, constant_liar=True), after random
    # sampling until the first trial completes (optunahub-registry,
    # package/samplers/auto_sampler/_sampler.py). Every bank's space has categoricals (activation,
    # optimizer) and conditional layers, so this candidate is what AutoSampler would run: hpo's
    # TPE without `group`.
    "tpe(autosampler)+learning-curve": candidate("tpe", "learning-curve", {"group": False}),
    "tpe(autosampler)+median": candidate("tpe", "median", {"group": False}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="digits_mlp,breast_cancer_mlp,diabetes_mlp")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--workers", default="4")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--no-repeats", action="store_true",
                        help="a proposal maps to the nearest configuration its study has not replayed yet")
    args = parser.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    if seeds[0] < TUNING_SEEDS[0] or seeds[-1] >= TUNING_SEEDS[-1] + 1:
        parser.error(f"defaults are chosen on seeds {TUNING_SEEDS[0]}-{TUNING_SEEDS[-1]} only; "
                     "seeds 1000 and up are for reporting (simulate_search.py)")
    names = tuple(dict.fromkeys(["random", "optuna_default", *args.candidates.split(",")]))
    unknown = set(names) - set(CANDIDATES)
    if unknown:
        parser.error(f"unknown candidates {sorted(unknown)}")
    tasks = args.tasks.split(",")
    workers = tuple(int(w) for w in args.workers.split(",") if w)
    started = time.perf_counter()
    runs: dict[str, dict[int, Any]] = {task: {} for task in tasks}
    with concurrent.futures.ProcessPoolExecutor(args.jobs, initializer=search.speedups) as pool:
        futures = {pool.submit(search.run_seed, task, seed, workers, None, names, None, CANDIDATES, "epochs",
                               not args.no_repeats): (task, seed)
                   for task in tasks for seed in seeds}
        for future in concurrent.futures.as_completed(futures):
            task, seed = futures[future]
            runs[task][seed] = future.result()
    print(f"{len(tasks)} tasks x {len(seeds)} seeds ({seeds[0]}-{seeds[-1]}) x {len(names)} candidates "
          f"in {time.perf_counter() - started:.0f} s")
    count = max(workers, default=1)
    heads = " | ".join(f"{task}: reach / win epochs / win {count}w s" for task in tasks)
    print(f"\n| candidate | {heads} | pooled win epochs | pooled win {count}w seconds |")
    print("|---" * (len(tasks) + 3) + "|")
    for name in names[1:]:
        cells, wins, wins_seconds = [], [], []
        for task in tasks:
            bank = search._bank(task, None)
            reach = search.reach_fraction(bank, runs[task], name)
            win = search.win_rate(bank, runs[task], name, "optuna_default")
            win_seconds = search.win_rate(bank, runs[task], name, "optuna_default", count, seconds=True)
            wins.append(win)
            wins_seconds.append(win_seconds)
            cells.append(f"{'never' if reach is None else f'{reach:.2f}'} / {win:.0%} / {win_seconds:.0%}")
        print(f"| {name} | {' | '.join(cells)} | {np.mean(wins):.0%} | {np.mean(wins_seconds):.0%} |")


if __name__ == "__main__":
    main()
