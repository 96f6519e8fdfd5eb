"""Importing Keras quietly, with the thread pool a worker is given."""

import os

import pytest

from hpo import keras_runtime

POOL_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


@pytest.fixture
def clean_pools(monkeypatch):
    for variable in POOL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def test_a_worker_gets_its_thread_count_and_an_explicit_setting_wins(clean_pools):
    clean_pools.setenv("HPO_THREADS", "1")
    clean_pools.setenv("OMP_NUM_THREADS", "3")  # set by the user: kept
    keras_runtime._size_thread_pools()
    assert [os.environ[v] for v in POOL_VARIABLES] == ["1", "1", "3"]


@pytest.mark.parametrize("value", ["", "0", "two"])
def test_without_a_usable_thread_count_tensorflow_picks_its_own(clean_pools, value):
    clean_pools.setenv("HPO_THREADS", value)
    keras_runtime._size_thread_pools()
    assert not any(v in os.environ for v in POOL_VARIABLES)


def test_start_up_noise_on_file_descriptor_2_is_dropped_and_stderr_comes_back(capfd):
    with keras_runtime._stderr_fd_silenced():
        os.write(2, b"oneDNN custom operations are on\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_deterministic_ops_switch_tensorflows_determinism_on(monkeypatch):
    import tensorflow as tf

    calls = []
    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism", lambda: calls.append(True))
    keras_runtime.use_deterministic_ops()
    assert calls == [True]
