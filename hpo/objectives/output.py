"""The output layer, loss and metrics of the built-in objectives, by task.

Classification (``n_classes`` an int): a softmax over the classes, sparse cross-entropy,
accuracy. Regression (``n_classes`` None): one linear unit, mean squared error, mean
absolute error (so ``metric="val_mae"`` or ``"val_loss"`` can be monitored).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputHead:
    units: int
    activation: str | None
    loss: str
    metrics: tuple[str, ...]


def output_head(n_classes: int | None) -> OutputHead:
    if n_classes is None:
        return OutputHead(1, None, "mean_squared_error", ("mae",))
    return OutputHead(n_classes, "softmax", "sparse_categorical_crossentropy", ("accuracy",))
