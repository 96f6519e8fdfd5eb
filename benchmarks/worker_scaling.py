"""How much faster a study runs with more worker processes on this machine.

The same fixed list of trials runs once per worker count: ``--trials`` parameter sets of the
digits MLP drawn once (random sampler, seed 0) and enqueued, no pruning, patience = epochs, so
every side trains exactly the same models for exactly the same epochs. Each side is a fresh
``hpo run --workers N`` (a new SQLite file); it prints the wall time of the whole command and
the trial span (first trial start to last trial end, without Python's and Keras' start-up),
and the speed-up of each worker count over one worker. Rounds alternate the worker counts so
drift on a shared machine hits all of them. ``--pinned`` adds one worker held to one core
(``taskset -c 0``; hpo then gives it one thread): N workers on N cores can at best be N times
that, so it separates what the cores give from what the workers lose.

    .venv/bin/python benchmarks/worker_scaling.py [--trials 16] [--epochs 10] [--workers 1,2]
        [--rounds 2] [--backend tensorflow] [--pinned]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def parameter_sets(count: int) -> list[dict]:
    """``count`` configurations of the built-in MLP's search space, drawn at random (seed 0)."""
    import optuna

    from hpo.objectives import load_objective

    module = load_objective("mlp")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    sets = []
    for _ in range(count):
        trial = study.ask()
        module.suggest(trial)
        sets.append(dict(trial.params))
        study.tell(trial, 0.0)
    return sets


def one_side(directory: Path, workers: int, params: list[dict], args: argparse.Namespace, label: str,
             pinned: bool = False) -> tuple[float, float]:
    """(seconds of the whole `hpo run`, seconds from the first trial's start to the last's end)."""
    import optuna

    script = directory / f"{label}.py"
    script.write_text(
        "from hpo import StudySpec\n"
        f"STUDY = StudySpec(name={label!r}, objective='mlp', dataset='digits', metric='val_loss', "
        f"sampler='random', pruner='none', n_trials={len(params)}, max_epochs={args.epochs}, "
        f"patience={args.epochs}, seed=0, enqueue_defaults=False, enqueue={json.dumps(params)}, "
        f"workers={workers}, recycle_after=100, backend={args.backend!r})\n"
    )
    url = f"sqlite:///{directory / (label + '.db')}"
    env = {**os.environ, "HPO_STORAGE": url, "HPO_HOME": str(directory / "home")}
    start = time.perf_counter()
    command = [sys.executable, "-m", "hpo", "run", str(script)]
    done = subprocess.run((["taskset", "-c", "0"] if pinned else []) + command, cwd=REPO, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"hpo run --workers {workers} failed: {done.stderr.strip()[-500:]}")
    trials = optuna.load_study(study_name=label, storage=url).get_trials(deepcopy=False)
    assert sorted(map(str, (t.params for t in trials))) == sorted(map(str, params)), "not the same trials"
    span = (max(t.datetime_complete for t in trials) - min(t.datetime_start for t in trials)).total_seconds()
    return wall, span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--workers", default="1,2", help="worker counts to compare, the first is the base")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backend", default="tensorflow")
    parser.add_argument("--pinned", action="store_true", help="also one worker held to one core")
    args = parser.parse_args()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sides = [str(int(n)) for n in args.workers.split(",")] + (["1 on 1 core"] if args.pinned else [])
    params = parameter_sets(args.trials)
    results: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as tmp:
        for round_number in range(args.rounds):
            for side in sides if round_number % 2 == 0 else sides[::-1]:
                workers = int(side.split()[0])
                label = f"w{side.replace(' ', '_')}-r{round_number}"
                results[side].append(one_side(Path(tmp), workers, params, args, label, pinned=" " in side))
                wall, span = results[side][-1]
                print(f"round {round_number + 1}: {side} worker(s): {wall:.1f} s in all, trials {span:.1f} s",
                      flush=True)

    print(f"\n{args.trials} enqueued digits-MLP trials x {args.epochs} epochs, backend {args.backend}, "
          f"{os.cpu_count()} cores; median of {args.rounds} rounds")
    print("| workers | whole run (s) | speed-up | trial span (s) | speed-up |")
    print("|---|---|---|---|---|")
    base_wall = statistics.median(w for w, _ in results[sides[0]])
    base_span = statistics.median(s for _, s in results[sides[0]])
    for side in sides:
        wall = statistics.median(w for w, _ in results[side])
        span = statistics.median(s for _, s in results[side])
        print(f"| {side} | {wall:.1f} | {base_wall / wall:.2f}x | {span:.1f} | {base_span / span:.2f}x |")


if __name__ == "__main__":
    main()
