"""What hpo adds to a Keras trial, per backend: hpo's trials against a bare Keras loop.

For each installed Keras backend (one process each: Keras picks its backend at import) and
for the digits MLP and the digits CNN, both sides train the same fixed model (this file is
also the objective module hpo loads, so ``build`` is shared) on the same split:

* **bare Keras**: ``clear_session``, seed, build, compile, ``fit`` with validation every
  epoch, as a user would write it: a ``tf.data`` pipeline on TensorFlow, NumPy arrays with
  ``shuffle=True`` on torch and JAX;
  with ``--freeze-bare``, with the long-lived heap exempt from garbage collection as hpo's
  trial loop does (without it, every full collection walks TensorFlow's and Keras' objects);
* **hpo**: ``hpo run`` in-process (one worker, no recycling, random sampler, no pruning,
  patience = epochs, so every trial trains every epoch) with everything a trial does:
  storage writes, epoch checkpoints, the learning curve, early-stopping bookkeeping, the
  progress line, the best model kept.

Each side runs ``--trials`` trials of ``--short`` and of ``--long`` epochs; the median
seconds per trial (start to next start, the first trials left out) at the two lengths give
the cost of an epoch (slope) and the fixed cost of a trial (intercept).

    .venv/bin/python benchmarks/trial_overhead.py [--trials 10] [--short 2] [--long 6]
        [--backends tensorflow,torch,jax] [--models mlp,cnn] [--freeze-bare]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WARM_UP_TRIALS = 2
MODEL_ENV = "HPO_BENCH_MODEL"
BATCH_SIZE = 32


# The objective module hpo loads (this file): no search space, one fixed model.
def suggest(trial: Any) -> dict[str, Any]:
    return {"model": os.environ.get(MODEL_ENV, "mlp"), "batch_size": BATCH_SIZE}


def build(params: dict[str, Any], info: Any) -> Any:
    import keras

    layers = keras.layers
    if params["model"] == "mlp":
        body = [layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.1)]
    else:
        body = [layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
                layers.Conv2D(32, 3, padding="same", activation="relu"), layers.GlobalAveragePooling2D()]
    model = keras.Sequential([keras.Input(info.input_shape), *body, layers.Dense(info.n_classes, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _median_step(starts: list[float]) -> float:
    starts = sorted(starts)[WARM_UP_TRIALS:]
    return statistics.median(b - a for a, b in zip(starts, starts[1:]))


def bare_keras(model: str, epochs: int, trials: int, data: Any) -> float:
    import keras

    info = data.info()
    starts = []
    for seed in range(trials + 1):  # the last start closes the last trial
        starts.append(time.perf_counter())
        if seed == trials:
            break
        keras.utils.clear_session()
        keras.utils.set_random_seed(seed)
        net = build({"model": model}, info)
        if keras.backend.backend() == "tensorflow":
            train, validation = data.pipelines(BATCH_SIZE, shuffle=True, seed=seed, repeat=False)
            net.fit(train, validation_data=validation, epochs=epochs, verbose=0)
        else:
            net.fit(data.x_train, data.y_train, batch_size=BATCH_SIZE, shuffle=True, epochs=epochs,
                    validation_data=(data.x_val, data.y_val), validation_batch_size=1024, verbose=0)
    return _median_step(starts)


def with_hpo(model: str, epochs: int, trials: int, directory: Path) -> float:
    import optuna

    import hpo.driver as driver
    from hpo import StudySpec

    os.environ[MODEL_ENV] = model
    backend = os.environ["KERAS_BACKEND"]
    spec = StudySpec(
        name=f"{model}-{epochs}", objective=str(Path(__file__).resolve()), dataset="digits", metric="val_loss",
        sampler="random", pruner="none", n_trials=trials, max_epochs=epochs, patience=epochs, seed=0,
        recycle_after=0, backend=backend,
    )
    url = f"sqlite:///{directory / f'{backend}.db'}"
    driver.run(spec, storage_url=url, out=lambda line: None)
    study = optuna.load_study(study_name=spec.name, storage=url)
    trials_run = study.get_trials(deepcopy=False)
    starts = [t.datetime_start.timestamp() for t in trials_run]
    starts.append(max(t.datetime_complete.timestamp() for t in trials_run))
    return _median_step(starts)


def one_backend(args: argparse.Namespace) -> None:
    """In the child process of one backend: print one JSON line per model."""
    from hpo._keras_runtime import prepare_keras
    from hpo.data import load_dataset

    prepare_keras()
    import keras

    data = load_dataset("digits", seed=0)
    with tempfile.TemporaryDirectory() as directory:
        for model in args.models.split(","):
            times: dict[str, float] = {}
            for epochs in (args.short, args.long):  # alternate the sides so drift hits both
                if args.freeze_bare:  # what hpo's loop does (hpo.driver._optimize._long_lived_heap_frozen)
                    gc.collect()
                    gc.freeze()
                times[f"bare_{epochs}"] = bare_keras(model, epochs, args.trials, data)
                gc.unfreeze()
                times[f"hpo_{epochs}"] = with_hpo(model, epochs, args.trials, Path(directory))
            print(json.dumps({"backend": keras.backend.backend(), "model": model, **times}), flush=True)


def fit_line(short_s: float, long_s: float, short: int, long: int) -> tuple[float, float]:
    """(fixed seconds per trial, seconds per epoch) through the two measurements."""
    per_epoch = (long_s - short_s) / (long - short)
    return short_s - short * per_epoch, per_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--short", type=int, default=2, help="epochs per trial, first run")
    parser.add_argument("--long", type=int, default=6, help="epochs per trial, second run")
    parser.add_argument("--backends", default="tensorflow,torch,jax")
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--freeze-bare", action="store_true",
                        help="freeze the long-lived heap around the bare loop too (gc.freeze), as hpo does")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one backend here
    args = parser.parse_args()
    if args.trials < WARM_UP_TRIALS + 2 or not 0 < args.short < args.long:
        parser.error(f"need --trials >= {WARM_UP_TRIALS + 2} and 0 < --short < --long")
    if args.one:
        os.environ["KERAS_BACKEND"] = args.one
        one_backend(args)
        return

    rows = []
    for backend in args.backends.split(","):
        if importlib.util.find_spec(backend) is None:
            print(f"{backend}: not installed, skipped (pip install 'hpo[{backend}]')")
            continue
        command = [sys.executable, __file__, "--one", backend, "--trials", str(args.trials), "--short",
                   str(args.short), "--long", str(args.long), "--models", args.models]
        command += ["--freeze-bare"] if args.freeze_bare else []
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": backend})
        if done.returncode != 0:
            print(f"{backend}: failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        rows += [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    s, long_ = args.short, args.long
    print(f"digits, batch {BATCH_SIZE}, {args.trials} trials per cell, median seconds per trial "
          f"(first {WARM_UP_TRIALS} left out); fixed = cost before the first epoch, from {s}- and {long_}-epoch trials")
    header = (f"| backend | model | bare {s} ep | hpo {s} ep | ratio | bare {long_} ep | hpo {long_} ep | ratio "
              f"| bare fixed | hpo fixed | bare s/epoch | hpo s/epoch |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for row in rows:
        bare_fixed, bare_epoch = fit_line(row[f"bare_{s}"], row[f"bare_{long_}"], s, long_)
        hpo_fixed, hpo_epoch = fit_line(row[f"hpo_{s}"], row[f"hpo_{long_}"], s, long_)
        print(f"| {row['backend']} | {row['model']} | {row[f'bare_{s}']:.3f} | {row[f'hpo_{s}']:.3f} | "
              f"{row[f'hpo_{s}'] / row[f'bare_{s}']:.2f}x | {row[f'bare_{long_}']:.3f} | {row[f'hpo_{long_}']:.3f} | "
              f"{row[f'hpo_{long_}'] / row[f'bare_{long_}']:.2f}x | {bare_fixed:.3f} | {hpo_fixed:.3f} | "
              f"{bare_epoch:.3f} | {hpo_epoch:.3f} |")


if __name__ == "__main__":
    main()
