"""The data a study trains on: the user's :class:`Data`, and the split forms trials use.

:class:`Data` is what a user hands hpo (from a loader, see :mod:`hpo.data._sources`, or from
Python, ``hpo.run(spec, data=...)``). Split with the study's seed it becomes a
:class:`Dataset` (in memory: NumPy arrays, or dicts of them for several inputs or outputs) or
a :class:`StreamedDataset` (``tf.data`` or ``keras.utils.PyDataset``, see :mod:`hpo.data._streams`).
Both answer the same questions, so the trial runner, ``hpo best`` and the report never ask
which one they hold: what the model is told (:class:`ModelInfo`), the training and validation
pipelines for a batch size, the first validation examples, the labels, the test set, and a
fingerprint of what the trials were scored on.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from dataclasses import dataclass
from typing import Any, Callable, Union

import numpy as np

import hpo.data._streams as streams
from hpo.errors import SetupError

TASKS = ("classification", "regression")
# The dataset setting of a study whose data was passed from Python (hpo.run(spec, data=...)).
MEMORY_DATASET = "<in-memory Data>"
# Validation and test batches only run inference, so their size changes speed, not results.
VALIDATION_BATCH_SIZE = 1024

# One output's labels, or a dict of them (a model with several outputs). The same goes for
# inputs, shapes, a task and a class count: a dict keyed by the input's or output's name.
Arrays = Union[np.ndarray, dict[str, np.ndarray]]
Shape = Union[tuple[int, ...], dict[str, tuple[int, ...]]]
Task = Union[str, dict[str, str]]
ClassCount = Union[int, None, dict[str, Union[int, None]]]


@dataclass(frozen=True)
class ModelInfo:
    """What ``build(params, info)`` is told about the data (never the data itself).

    With several inputs, ``input_shape`` is a dict of input name -> shape; with several
    outputs, ``output_shape``, ``n_classes`` and ``task`` are dicts of output name -> value.
    """

    input_shape: Shape
    output_shape: Shape  # (n_classes,) for classification, the target's shape for regression
    n_classes: ClassCount  # None for regression
    task: Task  # "classification" or "regression"
    sample: Callable[[int], Any]  # up to n training inputs, e.g. for Normalization.adapt


class TrainingData(abc.ABC):
    """The data trials train on, whichever form it has: :class:`Dataset` (in memory) and
    :class:`StreamedDataset` (``tf.data`` or ``PyDataset``) implement it, so the trial runner,
    ``hpo best`` and a module's own ``fit`` ask it the same questions: what the model is told
    (:meth:`info`), the training and validation pipelines for a batch size, the first
    validation examples, the training labels, the test set, a description and a fingerprint."""

    name: str
    task: Task
    n_classes: ClassCount
    input_shape: Shape
    target_shape: Shape  # one example's labels
    batched = False  # batched by the data itself: a suggested batch_size cannot apply

    @property
    def output_shape(self) -> Shape:
        def shape(n_classes: int | None, target: tuple[int, ...]) -> tuple[int, ...]:
            return (n_classes,) if n_classes is not None else (tuple(target) or (1,))

        if isinstance(self.n_classes, dict):
            assert isinstance(self.target_shape, dict)
            return {name: shape(n, self.target_shape[name]) for name, n in self.n_classes.items()}
        assert not isinstance(self.target_shape, dict)
        return shape(self.n_classes, self.target_shape)

    def info(self) -> ModelInfo:
        return ModelInfo(self.input_shape, self.output_shape, self.n_classes, self.task, self.sample)

    @abc.abstractmethod
    def sample(self, n: int) -> Any:
        """Up to ``n`` training inputs, drawn at random (the same each call)."""

    @abc.abstractmethod
    def train_labels(self) -> Arrays:
        """The training labels (class counts, ``class_weight="balanced"``)."""

    @abc.abstractmethod
    def validation_head(self, n: int) -> tuple[Any, Any]:
        """The first ``n`` validation examples, as ``(x, y)``."""

    @abc.abstractmethod
    def pipelines(self, batch_size: int, *, shuffle: bool, seed: int, repeat: bool) -> tuple[Any, Any]:
        """The training and validation data as Keras' ``fit`` takes them."""

    @abc.abstractmethod
    def test_set(self) -> Any:
        """The test split as ``evaluate`` takes it, or None when there is none."""

    @abc.abstractmethod
    def _sizes(self) -> str:
        """How many examples each split has, for :meth:`describe`."""

    @abc.abstractmethod
    def _examples(self) -> dict[str, Any]:
        """Sizes for the fingerprint."""

    @abc.abstractmethod
    def _counted_labels(self) -> Arrays:
        """The labels whose class counts go into the fingerprint."""

    def describe(self) -> str:
        if isinstance(self.n_classes, dict):
            target = f"outputs {', '.join(self.n_classes)}"
        elif self.n_classes is not None:
            target = f"{self.n_classes} classes"
        else:
            target = f"regression, target {self.output_shape}"
        return f"{self.name}: {self._sizes()}, input {self.input_shape}, {target}"

    def fingerprint(self) -> dict[str, Any]:
        """What the study's trials were scored on, independent of the split's seed: a resume on
        other data would mix incomparable trials (stored with the study, see :mod:`hpo.driver._study_setup`)."""
        fingerprint: dict[str, Any] = {
            "source": self.name, "task": self.task, "input_shape": _listed(self.input_shape),
            "output_shape": _listed(self.output_shape), **self._examples(),
        }
        if _has_classes(self.n_classes):
            fingerprint["class_counts"] = _each(
                lambda labels, n: None if n is None else [int(c) for c in np.bincount(
                    _class_indices(labels).ravel(), minlength=n)],
                self._counted_labels(), self.n_classes)
        return fingerprint


@dataclass(frozen=True, eq=False)
class Dataset(TrainingData):
    """In-memory train / validation / test splits, as trials use them."""

    name: str
    x_train: Arrays
    y_train: Arrays
    x_val: Arrays
    y_val: Arrays
    x_test: Arrays | None
    y_test: Arrays | None
    n_classes: ClassCount  # None for regression
    task: Task = "classification"
    # hpo.Data(groups=...): each training and validation example's group, in that order
    groups: np.ndarray | None = None

    @property
    def input_shape(self) -> Shape:  # type: ignore[override]
        return streams.map_arrays(lambda x: tuple(x.shape[1:]), self.x_train)

    @property
    def target_shape(self) -> Shape:  # type: ignore[override]
        return streams.map_arrays(lambda y: tuple(y.shape[1:]), self.y_train)

    def sample(self, n: int) -> Arrays:
        """Up to ``n`` training inputs drawn evenly at random (the same ones every call), not
        the first ``n``: data sorted by a column would otherwise adapt a Normalization to one end."""
        count = streams.length(self.x_train)
        if n >= count:
            return self.x_train
        picked = np.sort(np.random.default_rng(0).choice(count, size=n, replace=False))
        return streams.rows(self.x_train, picked)

    def train_labels(self) -> Arrays:
        return self.y_train

    def validation_head(self, n: int) -> tuple[Arrays, Arrays]:
        """The first (up to) ``n`` validation examples ``(x, y)``."""
        return streams.rows(self.x_val, slice(0, n)), streams.rows(self.y_val, slice(0, n))

    def pipelines(self, batch_size: int, *, shuffle: bool, seed: int, repeat: bool) -> tuple[Any, Any]:
        """Training and validation batches for Keras' ``fit``, in the form the backend runs
        fastest: ``tf.data`` pipelines on TensorFlow (about 3x less Keras overhead per epoch
        than NumPy arrays on small data: 60 ms instead of 160 ms per digits epoch here, which is
        most of a small trial), :class:`hpo.data._batches.ArrayBatches` on torch and JAX.
        ``repeat``: epochs of ``steps_per_epoch`` batches run through the data in turn."""
        if not _on_tensorflow():
            from hpo.data._batches import ArrayBatches

            return (ArrayBatches(self.x_train, self.y_train, batch_size, shuffle=shuffle, seed=seed, repeat=repeat),
                    ArrayBatches(self.x_val, self.y_val, VALIDATION_BATCH_SIZE, shuffle=False, seed=seed))
        import tensorflow as tf

        train = tf.data.Dataset.from_tensor_slices((self.x_train, self.y_train))
        if shuffle:
            train = train.shuffle(streams.length(self.x_train), seed=seed, reshuffle_each_iteration=True)
        train = train.batch(batch_size)
        if repeat:
            train = train.repeat()
        validation = tf.data.Dataset.from_tensor_slices((self.x_val, self.y_val)).batch(VALIDATION_BATCH_SIZE)
        return train.prefetch(tf.data.AUTOTUNE), validation.prefetch(tf.data.AUTOTUNE)

    def folds(self, k: int, seed: int) -> list["Dataset"]:
        """``k`` cross-validation splits of the training and validation examples together
        (``cv=k``): fold ``i`` validates on the ``i``-th part and trains on the others; the test
        set stays as it is. Grouped (no group on both sides) when the data has ``groups``,
        stratified for one classification output whose every class has ``k`` examples, shuffled
        with ``seed`` otherwise; the same folds for every trial of a study."""
        from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

        x, y = _joined(self.x_train, self.x_val), _joined(self.y_train, self.y_val)
        rows = np.arange(streams.length(x))
        if self.groups is not None:
            if len(np.unique(self.groups)) < k:
                raise SetupError(f"cv={k} needs at least {k} groups; the data has {len(np.unique(self.groups))}")
            parts = GroupKFold(n_splits=k, shuffle=True, random_state=seed).split(rows, groups=self.groups)
        elif isinstance(y, np.ndarray) and self.n_classes is not None and not isinstance(self.n_classes, dict) \
                and y.ndim == 1 and np.bincount(y.astype("int64")).min() >= k:
            parts = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(rows, y)
        else:
            parts = KFold(n_splits=k, shuffle=True, random_state=seed).split(rows)
        return [dataclasses.replace(self, x_train=streams.rows(x, train), y_train=streams.rows(y, train),
                                    x_val=streams.rows(x, val), y_val=streams.rows(y, val), groups=None)
                for train, val in parts]

    def pooled(self) -> "Dataset":
        """Training and validation examples together as the training split (the validation
        split stays, for a module's own ``fit``): the final model of a cross-validated study."""
        return dataclasses.replace(self, x_train=_joined(self.x_train, self.x_val),
                                   y_train=_joined(self.y_train, self.y_val), groups=None)

    def test_set(self) -> Any:
        """The test split in batches, for ``model.evaluate``; None when there is none."""
        if self.x_test is None or self.y_test is None:
            return None
        if not _on_tensorflow():
            from hpo.data._batches import ArrayBatches

            return ArrayBatches(self.x_test, self.y_test, VALIDATION_BATCH_SIZE, shuffle=False, seed=0)
        import tensorflow as tf

        return tf.data.Dataset.from_tensor_slices((self.x_test, self.y_test)).batch(VALIDATION_BATCH_SIZE)

    def _sizes(self) -> str:
        test = f"{streams.length(self.x_test)} test" if self.x_test is not None else "no test set"
        return f"{streams.length(self.x_train)} train / {streams.length(self.x_val)} validation / {test}"

    def _examples(self) -> dict[str, Any]:
        return {"examples": streams.length(self.x_train) + streams.length(self.x_val),
                "test_examples": 0 if self.x_test is None else streams.length(self.x_test)}

    def _counted_labels(self) -> Arrays:  # train and validation: the seed moves the split
        return _each_label(lambda train, validation: np.concatenate([train, validation]), self.y_train, self.y_val)


class StreamedDataset(TrainingData):
    """Streamed train / validation / test sets (``tf.data`` or ``keras.utils.PyDataset``),
    used as they are; an unbatched ``tf.data`` stream is batched with the trial's batch size.
    A module's own ``fit`` finds them as ``data.train``, ``data.validation`` and ``data.test``."""

    def __init__(self, name: str, train: Any, validation: Any, test: Any, task: str | None) -> None:
        self.name, self.train, self.validation, self.test = name, train, validation, test
        self.batched = streams.is_batched(train)
        self.input_shape, self.target_shape, label_dtype = streams.element_shapes(train)
        if label_dtype.kind in "SUO":
            raise SetupError(f"Data: {name}'s labels are strings; map them to integers in the stream")
        self.task = task or ("regression" if label_dtype.kind in "fc" else "classification")
        self.n_classes = None
        if self.task == "classification":
            self.n_classes = _each(lambda y, _: _class_count(y, getattr(train, "class_names", None)),
                                   self.train_labels(), self.target_shape)

    @functools.cached_property
    def _labels(self) -> Arrays:
        # One pass over the training stream per process (the loader runs once per worker):
        # the class count, class_weight="balanced" and the fingerprint need its labels.
        return streams.labels(self.train)

    def train_labels(self) -> Arrays:
        return self._labels

    def _counted_labels(self) -> Arrays:
        return self._labels

    def sample(self, n: int) -> Any:
        """The first (up to) ``n`` training inputs."""
        return streams.head(self.train, n)[0]

    def validation_head(self, n: int) -> tuple[Any, Any]:
        return streams.head(self.validation, n)

    def pipelines(self, batch_size: int, *, shuffle: bool, seed: int, repeat: bool) -> tuple[Any, Any]:
        """The streams as Keras' ``fit`` takes them; ``shuffle`` is the stream's own business."""
        train, validation = self.train, streams.batched(self.validation, VALIDATION_BATCH_SIZE)
        if streams.is_tf_data(train):
            train = streams.batched(train, batch_size)
            if repeat:
                train = train.repeat()
        return train, validation

    def test_set(self) -> Any:
        return None if self.test is None else streams.batched(self.test, VALIDATION_BATCH_SIZE)

    def _sizes(self) -> str:
        def count(stream: Any) -> str:
            size = streams.size(stream)
            return f"{'?' if size is None else size} {'batches' if streams.is_batched(stream) else 'examples'}"

        test = f"{count(self.test)} test" if self.test is not None else "no test set"
        return f"streamed, {count(self.train)} train / {count(self.validation)} validation / {test}"

    def _examples(self) -> dict[str, Any]:
        return {"examples": streams.length(self._labels), "batched": self.batched,
                "validation": streams.size(self.validation), "test": self.test is not None}


def _on_tensorflow() -> bool:
    import keras

    return bool(keras.backend.backend() == "tensorflow")


class Data:
    """The user's own data: ``hpo.Data(train, validation=0.2, test=None, *, target=None, task=None)``.

    ``train``, ``validation`` and ``test`` are each ``(x, y)`` with NumPy arrays (or anything
    ``numpy.asarray`` takes; dicts of arrays for several inputs or outputs), a pandas DataFrame
    whose ``target`` column(s) are ``y``, a ``tf.data.Dataset`` of ``(x, y)`` (batched or not)
    or a ``keras.utils.PyDataset``. A float ``validation`` splits that share off in-memory
    training data, seeded with the study's seed (stratified for classification); streamed
    training data must come with its own validation set. ``task`` is inferred from ``y``
    (integer, boolean or string labels: classification; floating targets: regression) unless
    stated. String labels are numbered in sorted order. ``test`` is used once, by ``hpo best``.
    ``groups`` (in-memory data): one group label per training example (then per validation
    example, when ``validation`` is a set of its own); the validation split and the folds of
    ``cv`` keep each group on one side (patients, users, sessions).
    """

    def __init__(self, train: Any, validation: Any = 0.2, test: Any = None, *,
                 target: str | list[str] | None = None, task: str | None = None,
                 name: str = "data", groups: Any = None) -> None:
        if task is not None and task not in TASKS:
            raise SetupError(f"Data: task must be 'classification' or 'regression', got {task!r}")
        if isinstance(validation, float) and not 0.0 < validation < 1.0:
            raise SetupError(f"Data: a validation fraction must be between 0 and 1, got {validation!r}")
        self.target, self.name, self.stated_task = target, name, task
        self.streamed = any(streams.is_stream(part) for part in (train, validation, test))
        if self.streamed and isinstance(validation, float):
            raise SetupError("Data: streamed training data (tf.data, PyDataset) needs its own validation set: "
                             "hpo.Data(train, validation=validation_stream)")
        self.train = self._part(train, "train")
        self.validation = validation if isinstance(validation, float) else self._part(validation, "validation")
        self.test = None if test is None else self._part(test, "test")
        self.groups = None if groups is None else np.asarray(groups).ravel()
        if self.streamed:
            if self.groups is not None:
                raise SetupError("Data: groups= is for in-memory data (arrays or DataFrames)")
            return
        expected = streams.length(self.train[0]) + (0 if isinstance(self.validation, float)
                                                    else streams.length(self.validation[0]))
        if self.groups is not None and len(self.groups) != expected:
            raise SetupError(f"Data: groups has {len(self.groups)} labels; the training "
                             f"{'' if isinstance(self.validation, float) else 'and validation '}data has {expected} examples")
        y_all = [self.train[1]] + ([self.validation[1]] if not isinstance(self.validation, float) else [])
        self.task: Task = _each_label(lambda y: task or _infer_task(y), self.train[1])
        self.classes = _each_label(
            lambda *ys: np.unique(np.concatenate([np.asarray(y).ravel() for y in ys])), *y_all)
        self.classes = _each(lambda classes, t: classes if t == "classification" else None, self.classes, self.task)

    def _part(self, part: Any, what: str) -> Any:
        if streams.is_stream(part):
            streams.check_elements(part, what)
            return part
        x, y = self._arrays(part, what)
        if self.streamed:  # next to streamed parts, arrays become an (unbatched) stream too
            import tensorflow as tf

            return tf.data.Dataset.from_tensor_slices((x, y))
        return x, y

    def _arrays(self, part: Any, what: str) -> tuple[Arrays, Arrays]:
        if hasattr(part, "columns") and hasattr(part, "drop"):  # a pandas DataFrame
            if self.target is None:
                raise SetupError(f"Data: {what} is a DataFrame; name its target column(s): target='price'")
            targets = [self.target] if isinstance(self.target, str) else list(self.target)
            missing = [t for t in targets if t not in part.columns]
            if missing:
                raise SetupError(f"Data: {what} has no column {missing[0]!r}")
            y = part[targets[0]].to_numpy() if isinstance(self.target, str) else part[targets].to_numpy()
            x = part.drop(columns=targets).to_numpy(dtype="float32")
            return x, y
        if not isinstance(part, (tuple, list)) or len(part) != 2:
            raise SetupError(f"Data: {what} must be (x, y) arrays, a DataFrame, a tf.data.Dataset or a "
                             f"keras.utils.PyDataset, got {type(part).__name__}")
        x, y = streams.map_arrays(_inputs, part[0]), streams.map_arrays(np.asarray, part[1])
        lengths = lambda arrays: {len(a) for a in (arrays.values() if isinstance(arrays, dict) else [arrays])}  # noqa: E731
        if len(lengths(x)) > 1 or len(lengths(y)) > 1:
            raise SetupError(f"Data: {what}'s arrays differ in length")
        if streams.length(x) != streams.length(y):
            raise SetupError(f"Data: {what} has {streams.length(x)} inputs but {streams.length(y)} targets")
        if streams.length(x) == 0:
            raise SetupError(f"Data: {what} is empty")
        return x, y

    def _labels(self, y: Arrays) -> Arrays:
        def number(labels: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
            if classes is None:
                return labels.astype("float32")
            unknown = set(np.unique(labels)) - set(classes.tolist())
            if unknown:
                raise SetupError(f"Data: labels {sorted(map(str, unknown))[:3]} are not in the training labels")
            return np.searchsorted(classes, labels).astype("int64")

        return _each(number, y, self.classes)

    def split(self, seed: int, *, name: str | None = None) -> TrainingData:
        """Train, validation and test splits for the study's ``seed`` (``name``: where the data
        came from, for the description and the fingerprint)."""
        name = name or self.name
        if self.streamed:
            return StreamedDataset(name, self.train, self.validation, self.test, self.stated_task)
        from sklearn.model_selection import train_test_split

        x, y = self.train[0], self._labels(self.train[1])
        groups = self.groups
        if isinstance(self.validation, float):
            # Indices, so dicts of arrays split alike; the same split as splitting the arrays.
            stratify = y if isinstance(y, np.ndarray) and not isinstance(self.classes, dict) and \
                self.classes is not None and np.bincount(y).min() >= 2 else None
            if groups is not None:
                from sklearn.model_selection import GroupShuffleSplit

                train_rows, val_rows = next(GroupShuffleSplit(n_splits=1, test_size=self.validation, random_state=seed)
                                            .split(np.arange(streams.length(x)), groups=groups))
                groups = np.concatenate([groups[train_rows], groups[val_rows]])
            else:
                train_rows, val_rows = train_test_split(np.arange(streams.length(x)), test_size=self.validation,
                                                        stratify=stratify, random_state=seed)
            x_train, x_val = streams.rows(x, train_rows), streams.rows(x, val_rows)
            y_train, y_val = streams.rows(y, train_rows), streams.rows(y, val_rows)
        else:
            x_train, y_train = x, y
            x_val, y_val = self.validation[0], self._labels(self.validation[1])
        x_test = y_test = None
        if self.test is not None:
            x_test, y_test = self.test[0], self._labels(self.test[1])
        n_classes = _each(lambda classes, _: None if classes is None else len(classes), self.classes, self.task)
        return Dataset(name, x_train, y_train, x_val, y_val, x_test, y_test, n_classes, self.task, groups)


def _joined(first: Arrays, second: Arrays) -> Arrays:
    """Two splits' arrays (or dicts of them) one after the other."""
    if isinstance(first, dict):
        assert isinstance(second, dict)
        return {name: np.concatenate([first[name], second[name]]) for name in first}
    assert not isinstance(second, dict)
    return np.concatenate([first, second])


def _inputs(x: Any) -> np.ndarray:
    x = np.asarray(x)
    return x.astype("float32") if x.dtype.kind in "fiub" and x.dtype != np.float32 else x


def _infer_task(y: np.ndarray) -> str:
    return "regression" if np.asarray(y).dtype.kind in "fc" else "classification"


def _each(function: Callable[[Any, Any], Any], values: Any, other: Any) -> Any:
    """``function(value, other)`` for one output, or for each output of a dict (``other`` is
    then a dict with the same names, or one value for all)."""
    if isinstance(values, dict):
        return {name: function(value, other[name] if isinstance(other, dict) else other)
                for name, value in values.items()}
    return function(values, other)


def _each_label(function: Callable[..., Any], *labels: Any) -> Any:
    """``function(*labels)`` for one output, or for each output of dicts of labels."""
    if isinstance(labels[0], dict):
        return {name: function(*(np.asarray(y[name]) for y in labels)) for name in labels[0]}
    return function(*(np.asarray(y) for y in labels))


def _has_classes(n_classes: ClassCount) -> bool:
    if isinstance(n_classes, dict):
        return any(n is not None for n in n_classes.values())
    return n_classes is not None


def _class_indices(labels: np.ndarray) -> np.ndarray:
    """Integer class labels; one-hot rows become their class."""
    labels = np.asarray(labels)
    if labels.dtype.kind == "f" and labels.ndim >= 2 and labels.shape[-1] > 1:
        return labels.argmax(axis=-1)
    return labels.astype("int64")


def _class_count(labels: np.ndarray, class_names: Any) -> int:
    if class_names is not None:  # keras.utils.image_dataset_from_directory names its classes
        return len(class_names)
    labels = np.asarray(labels)
    if labels.dtype.kind == "f" and labels.ndim >= 2 and labels.shape[-1] > 1:
        return int(labels.shape[-1])  # one-hot
    return int(_class_indices(labels).max()) + 1


def _listed(shape: Shape) -> Any:
    return {name: list(value) for name, value in shape.items()} if isinstance(shape, dict) else list(shape)
