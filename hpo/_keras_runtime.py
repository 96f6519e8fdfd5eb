"""Importing Keras for the commands that train: on the study's backend, without its start-up noise.

Keras reads ``KERAS_BACKEND`` once, when it is first imported, so :func:`select_backend` runs
before anything imports Keras: in ``hpo run``/``resume``/``worker`` before the objective
module is loaded, and in each worker process (which is told the backend on its command line).

TensorFlow writes CUDA probing and oneDNN notices straight to file descriptor 2 before its
logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` cannot silence them; every trial line of
a CPU study would otherwise follow a screen of them. ``HPO_TF_VERBOSE=1`` keeps them.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from typing import Iterator

from hpo._environment import TF_VERBOSE_ENV, THREADS_ENV
from hpo.errors import SetupError

# The Keras backends hpo trains on, and the package each needs (hpo's extra of the same name
# installs it; TensorFlow is a dependency of hpo itself).
BACKENDS = ("tensorflow", "torch", "jax")
BACKEND_ENV = "KERAS_BACKEND"


def select_backend(name: str) -> None:
    """Make ``name`` the Keras backend of this process (and of the workers it starts).

    Stops with one line when its package is not installed, or when Keras was already imported
    on another backend (a notebook that imported Keras first: Keras cannot switch then).
    """
    import importlib.util

    if name not in BACKENDS:
        raise SetupError(f"unknown Keras backend {name!r}: use one of {', '.join(BACKENDS)}")
    if importlib.util.find_spec(name) is None:
        raise SetupError(f"the Keras backend {name!r} is not installed; install it with: "
                         f"pip install 'hpo[{name}]'")
    if "keras" in sys.modules:
        import keras

        current = keras.backend.backend()
        if current != name:
            raise SetupError(f"Keras is already imported on the {current!r} backend and cannot switch to "
                             f"{name!r}: set backend={current!r}, or set {BACKEND_ENV}={name} before "
                             "importing Keras")
    os.environ[BACKEND_ENV] = name


@contextlib.contextmanager
def _stderr_fd_silenced() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def active_backend() -> str:
    """The backend Keras runs on in this process (imports Keras)."""
    prepare_keras()
    import keras

    return str(keras.backend.backend())


def prepare_keras() -> None:
    """Import Keras (and its backend) once, quietly. A no-op when already imported.

    ``HPO_THREADS`` (set by ``hpo run --workers N`` for its workers) sizes the backend's CPU
    thread pools, so N workers share the cores instead of each starting one thread per core.
    """
    if "keras" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _size_thread_pools()
    if os.environ.get(TF_VERBOSE_ENV) == "1":
        import keras
        return
    with _stderr_fd_silenced():
        import keras

        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            # Device probing prints too. Memory growth: workers sharing a GPU (hpo.driver._devices)
            # would otherwise each reserve nearly all of its memory at their first op.
            for gpu in tf.config.list_physical_devices("GPU"):
                tf.config.experimental.set_memory_growth(gpu, True)
        elif backend == "torch":
            threads = os.environ.get(THREADS_ENV, "")
            if threads.isdigit() and int(threads) > 0:
                import torch

                torch.set_num_threads(int(threads))  # OMP_NUM_THREADS alone misses its interop pool


def _size_thread_pools() -> None:
    """TensorFlow's and OpenMP's pool sizes from ``HPO_THREADS`` (read when the backend starts).
    JAX has no thread-count setting; with one thread per worker, XLA's CPU client is told to
    run single-threaded. JAX would also take 75 % of a GPU's memory at its first op, which
    workers sharing a GPU cannot all do: it allocates as it goes instead."""
    threads = os.environ.get(THREADS_ENV, "")
    if threads.isdigit() and int(threads) > 0:
        for variable in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            os.environ.setdefault(variable, threads)
        if threads == "1" and os.environ.get(BACKEND_ENV) == "jax":
            flags = os.environ.get("XLA_FLAGS", "")
            if "xla_cpu_multi_thread_eigen" not in flags:
                os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


@contextlib.contextmanager
def tensorflow_left_unimported() -> Iterator[None]:
    """Keras' checks ``tf.available`` inside, answered "no" while TensorFlow is not imported.

    Keras asks whether TensorFlow is installed before ``isinstance(x, tf.TensorShape)`` (saving
    a model) or seeding it for ``tf.data`` (``set_random_seed``), and asking imports it: 2.0 s
    and 460 MB of resident memory in each torch or JAX process here (measured with Keras and
    torch loaded), in processes that never use it (hpo's batches there are
    :class:`hpo.data._batches.ArrayBatches`). While TensorFlow is not imported no object is a
    TensorFlow object and no ``tf.data`` pipeline exists, so "not available" changes no result.
    When it is imported (the backend, a data module's ``tf.data``) nothing changes.
    """
    from keras.src.utils import module_utils

    lazy = module_utils.tensorflow
    if "tensorflow" in sys.modules or not hasattr(lazy, "_available"):
        yield
        return
    saved, lazy._available = lazy._available, False
    try:
        yield
    finally:
        lazy._available = saved


def set_random_seed(seed: int) -> None:
    """``keras.utils.set_random_seed`` (Python, NumPy, the backend, Keras' seed generator),
    without importing TensorFlow where it is not (:func:`tensorflow_left_unimported`)."""
    import keras

    with tensorflow_left_unimported():
        keras.utils.set_random_seed(seed)


def use_deterministic_ops() -> None:
    """Make the backend's kernels deterministic (TensorFlow's ``enable_op_determinism``,
    PyTorch's ``use_deterministic_algorithms``; JAX on CPU is deterministic already): the same
    seed then gives the same values to the last bit, at some cost in speed (parallel
    reductions run in a fixed order). Without it, repeated runs agree to float rounding."""
    prepare_keras()
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True, warn_only=True)


@contextlib.contextmanager
def long_lived_heap_frozen() -> Iterator[None]:
    """Exempt what is alive when the loop starts (TensorFlow, Keras, the data) from garbage
    collection until it ends: the full collection of every Keras trial (in clear_session)
    would otherwise walk the 320,000 objects TensorFlow and Keras keep, 0.12 s a trial (and
    a bare Keras loop's 6-epoch digits trials took 1.3x as long without it here).
    Only cyclic garbage among those objects waits for the end of the loop."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
