"""A large stored study without training, for report benchmarks.

Trials are written with ``optuna.trial.create_trial`` and ``Study.add_trials``: MLP-like
parameters (log-uniform learning rate, integer units and layers, dropout, categorical batch
size and optimizer), a learning curve per trial (pruned trials stop early), complete, pruned,
failed and a few running trials, parameter counts and durations, as hpo records them.

    .venv/bin/python benchmarks/synthetic_study.py --trials 5000 --storage sqlite:////tmp/big.db
"""

from __future__ import annotations

import argparse
import datetime
import math
import random


def build_trials(n_trials: int, *, epochs: int = 20, seed: int = 0) -> list:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.trial import TrialState

    rng = random.Random(seed)
    distributions = {
        "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
        "n_layers": IntDistribution(1, 4),
        "units": IntDistribution(16, 512, log=True),
        "dropout": FloatDistribution(0.0, 0.5),
        "l2": FloatDistribution(1e-6, 1e-2, log=True),
        "batch_size": CategoricalDistribution([32, 64, 128, 256]),
        "optimizer": CategoricalDistribution(["sgd", "momentum", "adam", "rmsprop"]),
        "activation": CategoricalDistribution(["relu", "tanh", "sigmoid"]),
    }
    start = datetime.datetime(2026, 11, 1, 8, 0, 0)
    trials = []
    for number in range(n_trials):
        params = {
            "learning_rate": math.exp(rng.uniform(math.log(1e-4), math.log(1e-1))),
            "n_layers": rng.randint(1, 4),
            "units": int(math.exp(rng.uniform(math.log(16), math.log(512)))),
            "dropout": rng.uniform(0.0, 0.5),
            "l2": math.exp(rng.uniform(math.log(1e-6), math.log(1e-2))),
            "batch_size": rng.choice([32, 64, 128, 256]),
            "optimizer": rng.choice(["sgd", "momentum", "adam", "rmsprop"]),
            "activation": rng.choice(["relu", "tanh", "sigmoid"]),
        }
        # A plausible response surface: best near lr 3e-3, more units help a little.
        quality = (0.97 - 0.04 * (math.log10(params["learning_rate"]) + 2.5) ** 2
                   + 0.01 * math.log2(params["units"] / 16) / 5 - 0.05 * params["dropout"] ** 2)
        roll = rng.random()
        state = (TrialState.FAIL if roll < 0.03 else TrialState.PRUNED if roll < 0.45
                 else TrialState.COMPLETE)
        n_epochs = rng.randint(2, epochs // 2) if state == TrialState.PRUNED else epochs
        curve = {step: min(0.999, quality * (1 - math.exp(-(step + 1) / 3)) + rng.gauss(0, 0.005))
                 for step in range(n_epochs if state != TrialState.FAIL else 1)}
        began = start + datetime.timedelta(seconds=3 * number)
        n_params = sum(
            (a + 1) * b for a, b in zip([64] + [params["units"]] * params["n_layers"],
                                        [params["units"]] * params["n_layers"] + [10])
        )
        attrs = {"n_params": n_params}
        if state == TrialState.FAIL:
            attrs["fail_reason"] = "loss became nan at epoch 1 (diverged)"
        else:
            attrs["best_epoch"] = max(curve, key=curve.get) + 1
        trials.append(optuna.trial.create_trial(
            state=state,
            value=max(curve.values()) if state == TrialState.COMPLETE else None,
            params=params,
            distributions=distributions,
            intermediate_values=curve if state != TrialState.FAIL else {},
            user_attrs=attrs,
        ))
        trials[-1].datetime_start = began
        trials[-1].datetime_complete = began + datetime.timedelta(seconds=0.2 * n_epochs + rng.random())
    return trials


def write_study(storage_url: str, name: str, n_trials: int, *, epochs: int = 20) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=storage_url, direction="maximize",
                                load_if_exists=False)
    study.add_trials(build_trials(n_trials, epochs=epochs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--storage", required=True, metavar="URL")
    parser.add_argument("--name", default="synthetic")
    args = parser.parse_args()
    write_study(args.storage, args.name, args.trials, epochs=args.epochs)
    print(f"wrote {args.trials} trials as study {args.name!r} to {args.storage}")


if __name__ == "__main__":
    main()
