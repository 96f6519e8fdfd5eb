"""The output layer, loss and metrics of the built-in objectives, by task.

Classification (``n_classes`` an int): a softmax over the classes, sparse cross-entropy,
accuracy. Regression (``n_classes`` None): one linear unit, mean squared error, mean
absolute error (so ``metric="val_mae"`` or ``"val_loss"`` can be monitored).
"""

from __future__ import annotations

from dataclasses import dataclass

from hpo.errors import SetupError


@dataclass(frozen=True)
class OutputHead:
    units: int
    activation: str | None
    loss: str
    metrics: tuple[str, ...]


def output_head(n_classes: object) -> OutputHead:
    """The head for ``n_classes`` classes (None: regression); several outputs are refused."""
    if isinstance(n_classes, dict):
        raise SetupError(f"the built-in objectives have one output, and this data has {len(n_classes)} "
                         f"({', '.join(n_classes)}); write an objective module with build(params, info)")
    if n_classes is None:
        return OutputHead(1, None, "mean_squared_error", ("mae",))
    assert isinstance(n_classes, int)
    return OutputHead(n_classes, "softmax", "sparse_categorical_crossentropy", ("accuracy",))


def single_input(input_shape: object) -> tuple[int, ...]:
    """The one input's shape; several inputs are refused."""
    if isinstance(input_shape, dict):
        raise SetupError(f"the built-in objectives take one input, and this data has {len(input_shape)} "
                         f"({', '.join(input_shape)}); write an objective module with build(params, info)")
    assert isinstance(input_shape, tuple)
    return input_shape
