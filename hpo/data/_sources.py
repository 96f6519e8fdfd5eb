"""Where a study's data comes from: a built-in dataset, or the user's loader.

A study names its data as a built-in dataset (``digits``, ``mnist``, ``cifar10``) or as the
user's loader by import path (:mod:`hpo._plugins`): ``"package.module:load"``,
``"file.py:load"``, or ``"file.py"`` (its ``load``). A loader is called as ``load(seed)`` and
returns an :class:`hpo.Data` (split here with the study's seed) or a split
:class:`hpo.data.Dataset`. Images are kept as ``(N, height, width, channels)`` float32 in
[0, 1] so the MLP (which flattens) and a CNN share loaders. The search only ever sees
validation scores; the test split is used once, by ``hpo best``. Loading is cached per
process: trials never reload data.
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path
from typing import Any, Callable

import numpy as np

import hpo._plugins as plugins
from hpo._environment import DATA_DIR_ENV
from hpo.data._datasets import MEMORY_DATASET, Data, Dataset, StreamedDataset, TrainingData
from hpo.errors import DatasetUnavailableError, SetupError

# Seed 000 holds out 10% of MNIST's training images for validation (validation_split=0.1).
VALIDATION_FRACTION = 0.1
DOWNLOAD_TIMEOUT_S = 20


def keras_cache_dir() -> Path:
    """Where ``keras.datasets`` files are looked for (``HPO_DATA_DIR`` overrides)."""
    return Path(os.environ.get(DATA_DIR_ENV, Path.home() / ".keras" / "datasets"))


def load_dataset(name: str, *, seed: int = 0) -> TrainingData:
    """The named dataset (or the user's loader's) split with ``seed``; cached, so repeated
    calls cost nothing."""
    if name == MEMORY_DATASET:
        raise SetupError("this study's data was passed from Python (hpo.run(spec, data=hpo.Data(...))) "
                         "and is not stored: resume it the same way, hpo.resume(name, data=...)")
    if name not in _LOADERS and not plugins.is_reference(name):
        raise SetupError(f"unknown dataset {name!r}; choose one of: {', '.join(sorted(_LOADERS))}, "
                         "or your own loader as 'package.module:load' or 'file.py:load'")
    return _load_cached(name, seed, str(keras_cache_dir()))


@functools.lru_cache(maxsize=4)
def _load_cached(name: str, seed: int, cache_dir: str) -> TrainingData:
    if plugins.is_reference(name):
        return _load_user(name, seed)
    return _LOADERS[name](seed, Path(cache_dir))


def _load_user(reference: str, seed: int) -> TrainingData:
    """The user's ``load(seed)`` (an :class:`Data`, split here, or a split :class:`Dataset`);
    a loader that fails or returns something else is a setup error."""
    target, attribute = plugins.split(reference)
    loader: Any = plugins.load_object(f"{target}:{attribute or 'load'}", what="dataset")
    if not callable(loader):
        raise SetupError(f"dataset {reference!r}: {attribute or 'load'} is not a function")
    try:
        dataset = loader(seed)
    except SetupError:
        raise
    except Exception as error:
        raise SetupError(f"dataset {reference!r} failed to load: {type(error).__name__}: {error}") from error
    if isinstance(dataset, Data):
        return dataset.split(seed, name=reference)
    if not isinstance(dataset, (Dataset, StreamedDataset)):
        raise SetupError(f"dataset {reference!r}: load(seed) returned a {type(dataset).__name__}, "
                         "not an hpo.Data")
    return dataset


def _split(
    name: str, x_trainval: np.ndarray, y_trainval: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
    seed: int, validation_fraction: float,
) -> Dataset:
    """Split a stratified, seeded validation set off the training data."""
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(
        x_trainval, y_trainval, test_size=validation_fraction, stratify=y_trainval, random_state=seed
    )
    n_classes = int(max(y_trainval.max(), y_test.max())) + 1
    return Dataset(name, x_train, y_train, x_val, y_val, x_test, y_test, n_classes)


_SPLIT_KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def _digits(seed: int, cache_dir: Path) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1,797 images): works offline, trains in seconds.

    The split arrays are kept in the cache folder (460 KB a seed, keyed by scikit-learn's
    version, whose splitter made them), so the next process reads them instead of importing
    scikit-learn: 1.8 s of the 11 s a worker took to start (2026-12-04)."""
    from importlib.metadata import version

    cached = cache_dir / f"hpo-digits-sklearn{version('scikit-learn')}-seed{seed}.npz"
    try:
        with np.load(cached) as npz:
            x_train, y_train, x_val, y_val, x_test, y_test = (npz[key] for key in _SPLIT_KEYS)
        return Dataset("digits", x_train, y_train, x_val, y_val, x_test, y_test, n_classes=10)
    except (OSError, KeyError, ValueError):  # not written yet, or damaged: made again
        pass
    dataset = _split_digits(seed)
    scratch = cached.with_name(f"{cached.name}.{os.getpid()}.tmp.npz")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.savez(scratch, **{key: getattr(dataset, key) for key in _SPLIT_KEYS})
        os.replace(scratch, cached)  # whole or not at all: processes may start together
    except OSError:  # a read-only cache folder: every process splits for itself
        scratch.unlink(missing_ok=True)
    return dataset


def _split_digits(seed: int) -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = (bunch.images / 16.0).astype("float32")[..., np.newaxis]
    labels = bunch.target.astype("int64")
    # The test set (20%) is split off with a fixed seed: it must not move when the study's
    # seed does. Validation is then as large as the test set: 360 images, 0.25 of the rest.
    x_trainval, x_test, y_trainval, y_test = train_test_split(
        images, labels, test_size=0.2, stratify=labels, random_state=0
    )
    return _split("digits", x_trainval, y_trainval, x_test, y_test, seed, validation_fraction=0.25)


def _keras_npz(filename: str, download: Callable[[str], object], cache_dir: Path) -> Path:
    """The cached file, downloaded through ``keras.datasets`` if it is not there yet."""
    path = cache_dir / filename
    if path.exists():
        return path
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        download(str(path))
    except Exception as error:  # any network or file error means the same thing to the user
        raise DatasetUnavailableError(
            f"dataset file {path} is not cached and could not be downloaded "
            f"({type(error).__name__}); copy it there or set HPO_DATA_DIR to its folder"
        ) from error
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return path


def _mnist(seed: int, cache_dir: Path) -> Dataset:
    """MNIST (seed 000's dataset) from ``keras.datasets``' cached ``mnist.npz``."""

    def download(path: str) -> None:
        import keras

        keras.datasets.mnist.load_data(path=path)

    path = _keras_npz("mnist.npz", download, cache_dir)
    with np.load(path) as npz:
        x_train, y_train, x_test, y_test = (npz[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    scale = lambda x: (x.astype("float32") / 255.0)[..., np.newaxis]  # noqa: E731
    return _split(
        "mnist", scale(x_train), y_train.astype("int64"), scale(x_test), y_test.astype("int64"),
        seed, validation_fraction=VALIDATION_FRACTION,
    )


CIFAR10_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def _cifar10(seed: int, cache_dir: Path) -> Dataset:
    """CIFAR-10 (seed 003's dataset) from ``keras.datasets``' cache: the batches Keras 3 keeps
    in ``cifar-10-batches-py-target/cifar-10-batches-py/``, or the tarball's
    ``cifar-10-batches-py/`` extracted by hand into the cache folder."""
    candidates = [cache_dir / "cifar-10-batches-py-target" / "cifar-10-batches-py",
                  cache_dir / "cifar-10-batches-py"]

    def download(_path: str) -> None:
        import keras

        keras.utils.get_file(fname="cifar-10-batches-py-target", origin=CIFAR10_ORIGIN, extract=True,
                             file_hash=CIFAR10_SHA256, cache_dir=str(cache_dir), cache_subdir=".")

    folder = next((c for c in candidates if (c / "test_batch").exists()), None)
    if folder is None:
        _keras_npz("cifar-10-batches-py-target", download, cache_dir)
        folder = next((c for c in candidates if (c / "test_batch").exists()), None)
        if folder is None:
            raise DatasetUnavailableError(f"CIFAR-10 batches not found under {cache_dir} after download")
    parts = [_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = _cifar_batch(folder / "test_batch")
    x_train = np.concatenate([x for x, _ in parts])
    y_train = np.concatenate([y for _, y in parts])
    return _split("cifar10", x_train, y_train, x_test, y_test, seed,
                  validation_fraction=VALIDATION_FRACTION)


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickled CIFAR batch as (N, 32, 32, 3) float32 in [0, 1] and int64 labels."""
    import pickle

    try:
        with open(path, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (OSError, KeyError, ValueError, pickle.UnpicklingError, EOFError) as error:
        raise DatasetUnavailableError(f"unreadable CIFAR-10 file {path}: {error}") from error
    return (images.transpose(0, 2, 3, 1).astype("float32") / 255.0), labels


_LOADERS: dict[str, Callable[[int, Path], Dataset]] = {
    "digits": _digits,
    "mnist": _mnist,
    "cifar10": _cifar10,
}

DATASET_NAMES = tuple(sorted(_LOADERS))
