"""Which way a metric is better: looked up in a table, never guessed.

A study's metric is a Keras log key: ``val_`` for the validation set, then for a model with
several outputs the output's name, then the metric's name (``val_price_mae``), with ``_1``,
``_2`` appended by Keras when two metrics share a name. The base name is the longest name of
the table the key ends with. KerasTuner infers ``val_f1_score`` and ``val_r2_score`` as "min",
and substring rules maximise ``val_mae``; a name not in the table needs ``direction=``.
"""

from __future__ import annotations

import re

from hpo.errors import SetupError

MINIMIZE = frozenset({
    "loss", "crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_focal_crossentropy",
    "mae", "mse", "rmse", "mape", "msle", "mean_absolute_error", "mean_squared_error",
    "root_mean_squared_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
    "hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "kld",
    "kullback_leibler_divergence", "poisson", "log_cosh", "logcosh", "huber", "huber_loss",
    "error", "false_positives", "false_negatives",
})
MAXIMIZE = frozenset({
    "accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "auc", "prc",
    "precision", "recall", "f1_score", "fbeta_score", "r2_score", "iou", "mean_iou",
    "binary_iou", "one_hot_iou", "one_hot_mean_iou", "cosine_similarity", "true_positives",
    "true_negatives", "precision_at_recall", "recall_at_precision", "sensitivity_at_specificity",
    "specificity_at_sensitivity",
})
_TABLE = {**{name: "minimize" for name in MINIMIZE}, **{name: "maximize" for name in MAXIMIZE}}
_DUPLICATE_SUFFIX = re.compile(r"_\d+$")


def base_name(metric: str) -> str | None:
    """The table's name a log key ends with (the longest one), or None."""
    key = _DUPLICATE_SUFFIX.sub("", metric.lower())
    found = [name for name in _TABLE if key == name or key.endswith("_" + name)]
    return max(found, key=len) if found else None


def direction_of(metric: str) -> str:
    """``"minimize"`` or ``"maximize"`` for a metric in the table; a one-line error otherwise."""
    name = base_name(metric)
    if name is None:
        raise SetupError(
            f"metric {metric!r} is not one hpo knows the direction of; state it: "
            f"direction='maximize' or direction='minimize'")
    return _TABLE[name]
