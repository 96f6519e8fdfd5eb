import socket

import numpy as np
import pytest

from hpo.data import _sources as data_module
from hpo.data._sources import load_dataset
from hpo.errors import DatasetUnavailableError, SetupError


def test_digits_splits_are_stratified_and_disjoint():
    data = load_dataset("digits", seed=0)
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (1077, 360, 360)
    assert data.input_shape == (8, 8, 1) and data.n_classes == 10
    assert data.x_train.dtype == np.float32 and 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert np.bincount(data.y_val).min() >= 35  # every class represented about equally
    rows = lambda x: {r.tobytes() for r in x.reshape(len(x), -1)}  # noqa: E731
    assert not rows(data.x_val) & rows(data.x_test)


def test_the_seed_moves_the_validation_split_but_never_the_test_set():
    first, second = load_dataset("digits", seed=0), load_dataset("digits", seed=1)
    np.testing.assert_array_equal(first.x_test, second.x_test)
    assert not np.array_equal(first.y_val, second.y_val)


def test_loading_is_cached_per_process():
    assert load_dataset("digits", seed=3) is load_dataset("digits", seed=3)


def test_a_digits_split_is_kept_in_the_cache_folder_and_read_back_as_made(tmp_path):
    sources = data_module
    made = sources._digits(5, tmp_path)  # splits with scikit-learn, then keeps the arrays
    [kept] = tmp_path.glob("hpo-digits-sklearn*-seed5.npz")
    read = sources._digits(5, tmp_path)
    for key in sources._SPLIT_KEYS:
        assert np.array_equal(getattr(read, key), getattr(made, key)) and getattr(read, key).dtype == getattr(made, key).dtype
    assert read.n_classes == made.n_classes == 10
    kept.write_bytes(b"damaged")
    assert np.array_equal(sources._digits(5, tmp_path).x_val, made.x_val)  # made again
    assert list(tmp_path.glob("*.tmp.npz")) == []


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(SetupError, match="unknown dataset 'imagenet'; choose one of: cifar10, digits, mnist"):
        load_dataset("imagenet")


@pytest.fixture
def no_network(monkeypatch):
    def unreachable(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket.socket, "connect", unreachable)


def test_mnist_without_cache_or_network_names_the_expected_file(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("HPO_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetUnavailableError) as caught:
        load_dataset("mnist")
    message = str(caught.value)
    assert str(tmp_path / "mnist.npz") in message and "\n" not in message


def test_mnist_loads_from_the_keras_cache_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HPO_DATA_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "mnist.npz",
        x_train=rng.integers(0, 256, (200, 28, 28), dtype=np.uint8), y_train=np.repeat(np.arange(10), 20),
        x_test=rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), y_test=np.repeat(np.arange(10), 5),
    )
    data = load_dataset("mnist")
    assert data.input_shape == (28, 28, 1) and data.n_classes == 10
    assert len(data.x_val) == 20 and len(data.x_train) == 180 and len(data.x_test) == 50
    assert data.x_train.max() <= 1.0
    data_module._load_cached.cache_clear()


def test_cifar10_without_cache_or_network_names_the_expected_folder(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("HPO_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetUnavailableError) as caught:
        load_dataset("cifar10")
    message = str(caught.value)
    assert str(tmp_path / "cifar-10-batches-py-target") in message and "\n" not in message


@pytest.mark.parametrize("layout", ["cifar-10-batches-py-target/cifar-10-batches-py", "cifar-10-batches-py"])
def test_cifar10_loads_keras_cached_batches(tmp_path, monkeypatch, layout):
    import pickle

    monkeypatch.setenv("HPO_DATA_DIR", str(tmp_path))
    folder = tmp_path / layout
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8),
                 b"labels": list(np.repeat(np.arange(10), 2))}
        (folder / name).write_bytes(pickle.dumps(batch))
    data = load_dataset("cifar10")
    assert data.input_shape == (32, 32, 3) and data.n_classes == 10
    assert len(data.x_train) + len(data.x_val) == 100 and len(data.x_test) == 20
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    data_module._load_cached.cache_clear()


_OWN_LOADER = '''
import numpy as np
from hpo.data import Dataset

calls = []

def load(seed):
    calls.append(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    return Dataset("own", x[:20], y[:20], x[20:30], y[20:30], x[30:], y[30:], 2)

def broken(seed):
    raise OSError("no such table")

def wrong(seed):
    return (1, 2)
'''


def test_a_users_loader_is_named_by_file_or_module_path_and_loaded_once(tmp_path):
    (tmp_path / "own_data.py").write_text(_OWN_LOADER)
    data = load_dataset(f"{tmp_path}/own_data.py", seed=3)
    assert data.name == "own" and data.input_shape == (3,) and data.n_classes == 2
    assert load_dataset(f"{tmp_path}/own_data.py:load", seed=3).x_train.shape == (20, 3)
    assert load_dataset(f"{tmp_path}/own_data.py", seed=3) is data  # once per process
    with pytest.raises(SetupError, match=r"own_data.py:broken' failed to load: OSError: no such table"):
        load_dataset(f"{tmp_path}/own_data.py:broken")
    with pytest.raises(SetupError, match="returned a tuple, not an hpo.Data"):
        load_dataset(f"{tmp_path}/own_data.py:wrong")


def test_a_loader_may_return_hpo_data(tmp_path):
    (tmp_path / "arrays.py").write_text(
        "import numpy as np\nfrom hpo import Data\n\n"
        "def load(seed):\n"
        "    x = np.linspace(0, 1, 60).reshape(30, 2)\n"
        "    return Data((x, x[:, 0] * 2.0), validation=0.2)\n")
    data = load_dataset(f"{tmp_path}/arrays.py", seed=0)
    assert data.task == "regression" and len(data.x_val) == 6 and data.name.endswith("arrays.py")
    with pytest.raises(SetupError, match="data was passed from Python .* hpo.resume\\(name, data=...\\)"):
        load_dataset("<in-memory Data>")
