"""What a Keras trial costs beyond its epochs: building, tracing, clearing, collecting.

A pruner that stops most trials after 2 epochs makes this fixed cost the bulk of a study's
wall time. This runs the digits MLP in-process through hpo's driver (random search, no
pruning, no early stopping) with ``--short`` and then ``--long`` epochs per trial, and prints
the median seconds from one trial's start to the next; the difference gives the cost of an
epoch and the intercept the fixed cost of a trial. The first trials (imports, first traces)
are left out.

    .venv/bin/python benchmarks/trial_overhead.py [--trials 25] [--short 2] [--long 6]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

WARM_UP_TRIALS = 3


def seconds_per_trial(directory: Path, epochs: int, trials: int) -> float:
    import optuna

    from hpo import StudySpec, driver

    spec = StudySpec(
        name=f"overhead-{epochs}", objective="mlp", dataset="digits", metric="val_loss",
        sampler="random", pruner="none", n_trials=trials, max_epochs=epochs, patience=epochs,
        seed=7, enqueue_defaults=False, recycle_after=0,
    )
    url = f"sqlite:///{directory / 'overhead.db'}"
    driver.run(spec, storage_url=url, out=lambda line: None)
    study = optuna.load_study(study_name=spec.name, storage=url)
    started = sorted(t.datetime_start for t in study.get_trials(deepcopy=False))[WARM_UP_TRIALS:]
    return statistics.median((b - a).total_seconds() for a, b in zip(started, started[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=25)
    parser.add_argument("--short", type=int, default=2, help="epochs per trial, first run")
    parser.add_argument("--long", type=int, default=6, help="epochs per trial, second run")
    args = parser.parse_args()
    if args.trials < WARM_UP_TRIALS + 2 or not 0 < args.short < args.long:
        parser.error(f"need --trials >= {WARM_UP_TRIALS + 2} and 0 < --short < --long")

    from hpo.keras_runtime import prepare_keras

    prepare_keras()
    with tempfile.TemporaryDirectory() as directory:
        short = seconds_per_trial(Path(directory), args.short, args.trials)
        long = seconds_per_trial(Path(directory), args.long, args.trials)
    per_epoch = (long - short) / (args.long - args.short)
    fixed = short - args.short * per_epoch
    print(f"digits MLP, {args.trials} trials each, median seconds from one trial's start to the next:")
    print(f"  {args.short} epochs a trial: {short:.3f} s")
    print(f"  {args.long} epochs a trial: {long:.3f} s")
    print(f"  so an epoch costs {per_epoch:.3f} s and a trial {fixed:.3f} s before its first epoch")


if __name__ == "__main__":
    main()
