"""What epoch checkpoints cost: time per epoch of the digits MLP with and without them.

Trains the objective's default model (128 units, Adam) on the digits data for ``--epochs``
epochs through ``fit_and_score``, with and without a checkpoint directory, alternating
``--rounds`` times, and prints the median time per epoch of each and the checkpoint's size.

    .venv/bin/python benchmarks/checkpoint_cost.py [--epochs 30] [--rounds 3] [--units 128]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from hpo._keras_runtime import prepare_keras


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--units", type=int, default=128)
    args = parser.parse_args()
    prepare_keras()
    from hpo.data import load_dataset
    from hpo.objectives import mlp
    from hpo.storage import TrialCheckpoint
    from hpo.trial import FitSettings, fit_and_score

    data = load_dataset("digits")
    params = dict(mlp.DEFAULT_PARAMS, units_0=args.units)
    settings = FitSettings(monitor="val_accuracy", direction="maximize", max_epochs=args.epochs,
                           patience=args.epochs)
    make_model = lambda: mlp.build(params, data.input_shape, data.n_classes)  # noqa: E731
    fit_and_score(None, make_model, data, settings)  # warm-up: tracing, caches
    times: dict[str, list[float]] = {"without": [], "with": []}
    size = 0
    for _ in range(args.rounds):
        for label in ("without", "with"):
            with tempfile.TemporaryDirectory() as directory:
                checkpoint = TrialCheckpoint(Path(directory) / "trial-0") if label == "with" else None
                started = time.perf_counter()
                result = fit_and_score(None, make_model, data, settings, checkpoint=checkpoint)
                times[label].append((time.perf_counter() - started) / result.epochs_trained * 1000)
                if checkpoint is not None:
                    size = sum(p.stat().st_size for p in checkpoint.directory.iterdir())
    without, with_ = statistics.median(times["without"]), statistics.median(times["with"])
    print(f"digits MLP, {args.units} units, {args.epochs} epochs, median of {args.rounds} rounds")
    print(f"without checkpoints: {without:6.1f} ms/epoch (whole trial incl. model build)")
    print(f"with checkpoints:    {with_:6.1f} ms/epoch  ({with_ / without:.3f}x, "
          f"+{with_ - without:.1f} ms/epoch), checkpoint on disk {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
