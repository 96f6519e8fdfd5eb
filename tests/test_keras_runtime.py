"""Importing Keras quietly on the study's backend, with the thread pool a worker is given."""

import os
import subprocess
import sys

import pytest

from hpo import _keras_runtime as keras_runtime
from hpo.data._sources import load_dataset
from hpo.errors import SetupError
from tests.conftest import REPO, hpo_command, write_study_script

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


def test_the_backend_is_set_for_keras_and_the_workers_this_process_starts(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    keras_runtime.select_backend("tensorflow")  # this test process imported Keras on it
    assert os.environ["KERAS_BACKEND"] == "tensorflow"


def test_an_unknown_or_missing_backend_stops_with_the_install_command(monkeypatch):
    import importlib.util

    with pytest.raises(SetupError, match="unknown Keras backend 'mxnet'"):
        keras_runtime.select_backend("mxnet")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))
    with pytest.raises(SetupError, match=r"backend 'jax' is not installed; install it with: pip install 'hpo\[jax\]'"):
        keras_runtime.select_backend("jax")


def test_keras_already_imported_on_another_backend_cannot_switch(monkeypatch):
    import keras

    assert keras.backend.backend() == "tensorflow"
    with pytest.raises(SetupError, match="already imported on the 'tensorflow' backend and cannot switch to 'torch'"):
        keras_runtime.select_backend("torch")


@pytest.mark.slow
def test_a_study_trains_on_jax_and_its_best_model_loads_on_tensorflow(tmp_path):
    # With inference_ms as a second objective: timing a prediction works on JAX too.
    import keras
    import optuna

    script = write_study_script(tmp_path, name="on_jax", n_trials=2, max_epochs=2, backend="jax",
                                 also_minimize="inference_ms")
    env = {**os.environ, "HPO_HOME": str(tmp_path / "home"), "HPO_STORAGE": ""}
    ran = subprocess.run(hpo_command("run", str(script)), cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stderr
    study = optuna.load_study(study_name="on_jax", storage=f"sqlite:///{tmp_path / 'home' / 'hpo.db'}")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert all(t.values[1] > 0 for t in study.trials)  # milliseconds per sample
    model_path = tmp_path / "best.keras"
    best = subprocess.run(hpo_command("best", "on_jax", "--out", str(model_path)), cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert best.returncode == 0, best.stderr
    test_accuracy = float(best.stdout.split("test accuracy: ")[1].split()[0])
    model = keras.models.load_model(model_path)  # saved on JAX, loaded here on TensorFlow
    digits = load_dataset("digits", seed=0)
    x, y = digits.x_test, digits.y_test
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] == pytest.approx(test_accuracy, abs=1e-4)


@pytest.mark.slow
def test_on_torch_seeding_and_saving_import_no_tensorflow_and_seeding_draws_as_keras_does(tmp_path):
    code = (
        "import sys\n"
        "import keras, numpy as np, random, torch\n"
        "from hpo._keras_runtime import set_random_seed, tensorflow_left_unimported\n"
        "def draws():\n"
        "    return (random.random(), float(np.random.rand()), float(torch.rand(1)),\n"
        "            float(keras.ops.convert_to_numpy(keras.random.uniform((1,)))[0]))\n"
        "set_random_seed(7); ours = draws()\n"
        "model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\n"
        "with tensorflow_left_unimported():\n"
        f"    model.save({str(tmp_path / 'm.keras')!r})\n"
        "assert 'tensorflow' not in sys.modules\n"
        "keras.utils.set_random_seed(7); theirs = draws()\n"
        "assert 'tensorflow' in sys.modules  # Keras' own imports it\n"
        "assert ours == theirs, (ours, theirs)\n"
        "with tensorflow_left_unimported():  # once imported, Keras sees it\n"
        "    from keras.src.utils.module_utils import tensorflow\n"
        "    assert tensorflow.available\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "KERAS_BACKEND": "torch"})
    assert done.returncode == 0, done.stderr[-2000:]
