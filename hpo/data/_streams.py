"""Streamed data: a ``tf.data.Dataset`` or a ``keras.utils.PyDataset``, used as the user built it.

hpo never loads a stream into memory. It reads what it needs from it: the shapes of its
elements, whether it is already batched, the first few examples (a model's first call, the
metric check, ``Normalization.adapt``, the inference timing) and, once per process, its labels
(the class count, ``class_weight="balanced"`` and the data's fingerprint). A ``tf.data``
stream whose inputs have an unknown leading dimension (what ``.batch()`` gives) is batched; a
``PyDataset`` always is. Elements are ``(x, y)`` or ``(x, y, sample_weight)``; ``x`` and ``y``
may be dicts (several inputs or outputs).
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from hpo.errors import SetupError

# Batches read at a time from an unbatched stream when hpo scans it (labels, samples).
SCAN_BATCH_SIZE = 1024


def is_stream(part: Any) -> bool:
    """A ``tf.data.Dataset`` or a ``keras.utils.PyDataset`` (told apart without importing either)."""
    classes = type(part).__mro__
    if any(cls.__module__.startswith("tensorflow") for cls in classes) and hasattr(part, "element_spec"):
        return True
    return any(cls.__name__ == "PyDataset" and cls.__module__.startswith("keras") for cls in classes)


def is_tf_data(stream: Any) -> bool:
    return hasattr(stream, "element_spec")


def is_batched(stream: Any) -> bool:
    if not is_tf_data(stream):
        return True  # a PyDataset yields batches
    x_spec = _first_leaf(stream.element_spec[0] if isinstance(stream.element_spec, tuple) else stream.element_spec)
    return len(x_spec.shape) > 0 and x_spec.shape[0] is None


def check_elements(stream: Any, what: str) -> None:
    """Elements must be ``(x, y)`` or ``(x, y, sample_weight)``: hpo trains on labelled data."""
    if is_tf_data(stream):
        spec = stream.element_spec
        if not isinstance(spec, tuple) or len(spec) not in (2, 3):
            raise SetupError(f"Data: {what} is a tf.data.Dataset whose elements are not (x, y) pairs; "
                             "map it to (inputs, labels)")
        return
    if len(stream) == 0:
        raise SetupError(f"Data: {what} is an empty PyDataset")
    first = stream[0]
    if not isinstance(first, tuple) or len(first) not in (2, 3):
        raise SetupError(f"Data: {what} is a PyDataset whose batches are not (x, y) pairs")


def batched(stream: Any, batch_size: int) -> Any:
    """The stream as batches: as it is when it is batched, else in batches of ``batch_size``."""
    return stream if is_batched(stream) else stream.batch(batch_size)


def batches(stream: Any) -> Iterator[tuple[Any, Any]]:
    """``(x, y)`` NumPy batches of the stream, in order (one pass)."""
    if is_tf_data(stream):
        for element in batched(stream, SCAN_BATCH_SIZE).as_numpy_iterator():
            yield element[0], element[1]
        return
    for index in range(len(stream)):
        element = stream[index]
        yield _numpy(element[0]), _numpy(element[1])


def head(stream: Any, n: int) -> tuple[Any, Any]:
    """The first (up to) ``n`` examples as NumPy ``(x, y)`` (dicts stay dicts)."""
    xs: list[Any] = []
    ys: list[Any] = []
    count = 0
    for x, y in batches(stream):
        xs.append(x)
        ys.append(y)
        count += length(x)
        if count >= n:
            break
    if not xs:
        raise SetupError("Data: a stream yielded no examples")
    return rows(concatenate(xs), slice(0, n)), rows(concatenate(ys), slice(0, n))


def labels(stream: Any) -> Any:
    """Every label of the stream, concatenated (one pass over the data)."""
    return concatenate([y for _, y in batches(stream)])


def element_shapes(stream: Any) -> tuple[Any, Any, Any]:
    """The shapes of one example's inputs and labels (without the batch dimension), and the
    labels' NumPy dtype."""
    if is_tf_data(stream):
        x_spec, y_spec = stream.element_spec[0], stream.element_spec[1]
        drop = 1 if is_batched(stream) else 0
        shape = lambda spec: tuple(spec.shape)[drop:]  # noqa: E731
        dtype = _first_leaf(y_spec).dtype.as_numpy_dtype
        return map_arrays(shape, x_spec), map_arrays(shape, y_spec), np.dtype(dtype)
    x, y = head(stream, 1)
    y_dtype = np.asarray(_first_leaf(y)).dtype
    return map_arrays(lambda a: tuple(np.shape(a))[1:], x), map_arrays(lambda a: tuple(np.shape(a))[1:], y), y_dtype


def size(stream: Any) -> int | None:
    """How many elements (batches, when batched) the stream has, None when it does not know."""
    if is_tf_data(stream):
        cardinality = int(stream.cardinality())
        return cardinality if cardinality >= 0 else None
    return len(stream)


# Arrays or dicts of arrays (several inputs or outputs), row-wise.

def length(x: Any) -> int:
    return len(_first_leaf(x))


def rows(x: Any, index: Any) -> Any:
    return {name: value[index] for name, value in x.items()} if isinstance(x, dict) else x[index]


def concatenate(parts: list[Any]) -> Any:
    if isinstance(parts[0], dict):
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return np.concatenate(parts)


def _first_leaf(x: Any) -> Any:
    while isinstance(x, (dict, tuple, list)):
        x = next(iter(x.values())) if isinstance(x, dict) else x[0]
    return x


def map_arrays(function: Any, x: Any) -> Any:
    """``function`` of an array, or of each array of a dict (several inputs or outputs)."""
    return {name: function(value) for name, value in x.items()} if isinstance(x, dict) else function(x)


def _numpy(x: Any) -> Any:
    return {name: np.asarray(value) for name, value in x.items()} if isinstance(x, dict) else np.asarray(x)
