"""Per-layer weight histograms of a trained model, small enough to store with its trial.

Reports only read storage and never load Keras, so the histograms of the best model (seed
001's parameter visualisation) are computed where the model is, when the trial's model is
kept as the study's best, and stored as the trial's ``weight_histograms`` user attribute
(:data:`hpo.records.WEIGHT_HISTOGRAMS`):
a few hundred bytes per weight tensor, on the few trials that were ever the best.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

BINS = 30
MAX_TENSORS = 48  # a deep CNN has hundreds of small tensors; a report shows the first ones


def weight_histograms(model: "keras.Model", bins: int = BINS) -> dict[str, Any]:
    """``{"tensors": [{"name", "shape", "edges", "counts"}, ...]}`` for the trainable weights."""
    import numpy as np

    tensors = []
    for variable in model.trainable_weights[:MAX_TENSORS]:
        values = np.asarray(variable.numpy(), dtype=np.float64).ravel()
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            continue
        low, high = float(finite.min()), float(finite.max())
        if low == high:  # a constant tensor (a fresh bias): one visible bin around it
            low, high = low - 0.5, high + 0.5
        counts, edges = np.histogram(finite, bins=bins, range=(low, high))
        tensors.append({
            "name": getattr(variable, "path", None) or variable.name,
            "shape": [int(size) for size in variable.shape],
            "edges": [float(f"{edge:.5g}") for edge in edges],
            "counts": [int(count) for count in counts],
        })
    return {"tensors": tensors, "n_tensors": len(model.trainable_weights)}
