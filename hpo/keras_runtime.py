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
    """Import Keras (and TensorFlow) once, quietly. A no-op when already imported."""
    if "keras" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if os.environ.get("HPO_TF_VERBOSE") == "1":
        import keras  # noqa: F401
        return
    with _stderr_fd_silenced():
        import keras  # noqa: F401

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()  # device probing prints too
