"""Importing Keras for the commands that train, without TensorFlow's start-up noise.

TensorFlow writes CUDA probing and oneDNN notices straight to file descriptor 2 before its
logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` cannot silence them; every trial line of
a CPU study would otherwise follow a screen of them. ``HPO_TF_VERBOSE=1`` keeps them.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


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


def prepare_keras() -> None:
    """Import Keras (and TensorFlow) once, quietly. A no-op when already imported.

    ``HPO_THREADS`` (set by ``hpo run --workers N`` for its workers) sizes TensorFlow's CPU
    thread pools, so N workers share the cores instead of each starting one thread per core.
    """
    if "keras" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _size_thread_pools()
    if os.environ.get("HPO_TF_VERBOSE") == "1":
        import keras  # noqa: F401
        return
    with _stderr_fd_silenced():
        import keras  # noqa: F401

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            # Device probing prints too. Memory growth: workers sharing a GPU (hpo.devices)
            # would otherwise each reserve nearly all of its memory at their first op.
            for gpu in tf.config.list_physical_devices("GPU"):
                tf.config.experimental.set_memory_growth(gpu, True)


def _size_thread_pools() -> None:
    """TensorFlow's and OpenMP's pool sizes from ``HPO_THREADS`` (read when TensorFlow starts)."""
    threads = os.environ.get("HPO_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        for variable in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            os.environ.setdefault(variable, threads)


def use_deterministic_ops() -> None:
    """Make TensorFlow's kernels deterministic (``tf.config.experimental.enable_op_determinism``):
    the same seed then gives the same values to the last bit, at some cost in speed (parallel
    reductions run in a fixed order). Without it, repeated runs agree to float rounding."""
    prepare_keras()
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
