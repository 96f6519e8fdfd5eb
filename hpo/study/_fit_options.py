"""Options of Keras' ``fit`` that a study may set (``fit_options={...}``), checked up front.

hpo owns how a trial trains: the epochs (``max_epochs``, and where a retry starts), the
validation data, the callbacks (pruning, early stopping, checkpoints) and the batch size (a
parameter of the search). A study may add what does not fight with that:

* ``class_weight``: ``{class index: weight}``, or ``"balanced"``: computed once per process from
  the training labels (scikit-learn's ``n_samples / (n_classes * count)``);
* ``shuffle``: ``False`` keeps the training order (default ``True``: reshuffled each epoch, seeded)
  of in-memory data; streamed data (:class:`hpo.data.StreamedDataset`) shuffles itself;
* ``steps_per_epoch``: batches per epoch; in-memory and ``tf.data`` training data is then
  repeated, so an epoch of a large dataset can be a part of it.

The options are stored with the study (JSON: class indices as strings) and may change on resume.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hpo.errors import SetupError

if TYPE_CHECKING:
    import numpy as np

ALLOWED = ("class_weight", "shuffle", "steps_per_epoch")
# What hpo sets itself, and the setting that states it instead.
OWNED = {
    "epochs": "max_epochs", "initial_epoch": "hpo (a retry continues after its checkpoint)",
    "validation_data": "the dataset's validation split", "validation_split": "the dataset's validation split",
    "validation_freq": "hpo (every epoch is scored)", "callbacks": "the objective module's callbacks(params)",
    "batch_size": "the batch_size parameter of the search space",
}


def check_fit_options(options: Any) -> dict[str, Any]:
    """The options in their stored form; one line naming the key that is wrong."""
    if not isinstance(options, Mapping):
        raise SetupError(f"fit_options must be a dict of Keras fit arguments, got {options!r}")
    checked: dict[str, Any] = {}
    for key, value in options.items():
        if key in OWNED:
            raise SetupError(f"fit_options: {key!r} is set by hpo; use {OWNED[key]}")
        if key not in ALLOWED:
            raise SetupError(f"fit_options: unknown key {key!r}; hpo passes {', '.join(ALLOWED)}")
        checked[key] = _check(key, value)
    return checked


def _check(key: str, value: Any) -> Any:
    if key == "shuffle":
        if not isinstance(value, bool):
            raise SetupError(f"fit_options: shuffle must be True or False, got {value!r}")
        return value
    if key == "steps_per_epoch":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise SetupError(f"fit_options: steps_per_epoch must be a positive integer, got {value!r}")
        return value
    if value == "balanced":
        return value
    if not isinstance(value, Mapping) or not value:
        raise SetupError(f"fit_options: class_weight must be 'balanced' or {{class index: weight}}, got {value!r}")
    weights = {}
    for label, weight in value.items():
        try:
            index = int(label)
        except (TypeError, ValueError):
            index = -1
        if index < 0 or str(index) != str(label).strip() or isinstance(weight, bool) \
                or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise SetupError(f"fit_options: class_weight entry {label!r}: {weight!r} is not "
                             "a class index and a non-negative weight")
        weights[str(index)] = float(weight)
    return weights


def class_weights(option: Any, labels: "np.ndarray") -> dict[int, float] | None:
    """Keras' ``class_weight`` for the stored option; ``"balanced"`` from ``labels``."""
    import numpy as np

    if option is None:
        return None
    if option == "balanced":
        classes, counts = np.unique(np.asarray(labels).ravel(), return_counts=True)
        return {int(c): float(len(labels) / (len(classes) * n)) for c, n in zip(classes, counts)}
    return {int(label): float(weight) for label, weight in option.items()}
