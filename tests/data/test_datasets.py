import numpy as np
import pytest

from hpo.errors import SetupError


def test_user_arrays_are_split_stratified_with_the_seed_and_labels_numbered():
    from hpo.data import Data

    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 4))
    y = np.array(["cat"] * 80 + ["dog"] * 20)
    data = Data((x, y), validation=0.25)
    first, again, other = data.split(0), data.split(0), data.split(1)
    assert first.task == "classification" and first.n_classes == 2 and first.x_train.dtype == np.float32
    assert len(first.x_val) == 25 and np.bincount(first.y_val).tolist() == [20, 5]  # stratified
    assert (first.x_val == again.x_val).all() and not (first.x_val == other.x_val).all()
    assert first.x_test is None and "no test set" in first.describe()
    assert first.fingerprint() == other.fingerprint()  # the seed moves the split, not what the data is
    assert first.fingerprint()["class_counts"] == [80, 20]


def test_floating_targets_are_regression_and_a_dataframe_names_its_target():
    import pandas as pd

    from hpo.data import Data

    frame = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) ** 2, "price": np.linspace(1, 2, 40)})
    data = Data(frame, validation=0.2, test=frame.iloc[:5], target="price").split(3)
    assert data.task == "regression" and data.n_classes is None and data.input_shape == (2,)
    assert data.output_shape == (1,) and data.y_train.dtype == np.float32 and len(data.x_test) == 5
    info = data.info()
    assert info.task == "regression" and info.sample(3).shape == (3, 2) and info.n_classes is None
    assert (info.sample(3) == info.sample(3)).all() and len(info.sample(10_000)) == len(data.x_train)
    assert "regression, target (1,)" in data.describe()
    stated = Data((np.zeros((10, 2)), np.arange(10) % 3), task="regression").split(0)
    assert stated.task == "regression"


@pytest.mark.parametrize("make, message", [
    (lambda new: new((np.zeros((3, 2)), np.zeros(4))), "train has 3 inputs but 4 targets"),
    (lambda new: new(np.zeros((3, 2))), "train must be .x, y. arrays, a DataFrame, a tf.data.Dataset or a keras.utils.PyDataset"),
    (lambda new: new((np.zeros((3, 2)), np.zeros(3)), validation=1.5), "validation fraction must be between 0 and 1"),
    (lambda new: new((np.zeros((3, 2)), np.zeros(3)), task="ranking"), "task must be 'classification' or 'regression'"),
])
def test_bad_data_is_one_line(make, message):
    from hpo.data import Data

    with pytest.raises(SetupError, match=message):
        make(Data)


def test_unknown_test_labels_are_named():
    from hpo.data import Data

    data = Data((np.zeros((4, 2)), np.array([0, 1, 0, 1])), validation=(np.zeros((2, 2)), np.array([1, 0])),
                test=(np.zeros((1, 2)), np.array([7])))
    with pytest.raises(SetupError, match=r"labels \['7'\] are not in the training labels"):
        data.split(0)


def test_in_memory_pipelines_batch_with_the_trials_size_and_shuffle_seeded():
    from hpo.data import Data

    x = np.arange(40, dtype="float32").reshape(20, 2)
    data = Data((x, np.arange(20) % 2), validation=(x[:4], np.array([0, 1, 0, 1]))).split(0)
    train, validation = data.pipelines(8, shuffle=False, seed=0, repeat=False)
    first_x, first_y = next(iter(train))
    assert (first_x.numpy() == x[:8]).all() and (first_y.numpy() == (np.arange(8) % 2)).all()
    shuffled, _ = data.pipelines(8, shuffle=True, seed=0, repeat=False)
    again, _ = data.pipelines(8, shuffle=True, seed=0, repeat=False)
    first_shuffled = next(iter(shuffled))[0].numpy()
    assert not (first_shuffled == x[:8]).all() and (first_shuffled == next(iter(again))[0].numpy()).all()
    assert next(iter(validation))[0].shape == (4, 2) and not data.batched


def test_on_torch_and_jax_in_memory_data_comes_as_array_batches_without_tensorflow(monkeypatch):
    import hpo.data._datasets
    from hpo.data import Data
    from hpo.data._batches import ArrayBatches

    monkeypatch.setattr(hpo.data._datasets, "_on_tensorflow", lambda: False)
    x = np.arange(40, dtype="float32").reshape(20, 2)
    data = Data((x, np.arange(20) % 2), validation=0.2, test=(x[:4], np.arange(4) % 2)).split(0)
    train, validation = data.pipelines(8, shuffle=True, seed=1, repeat=True)
    test = data.test_set()
    assert all(isinstance(part, ArrayBatches) for part in (train, validation, test))
    assert train.num_batches is None and train.batch_size == 8 and train.seed == 1
    assert validation.num_batches == 1 and not validation.shuffle and len(test.x) == 4


def test_dicts_of_arrays_split_alike_and_each_output_has_its_own_task():
    from hpo.data import Data

    rng = np.random.default_rng(0)
    x = {"image": rng.normal(size=(50, 4, 4, 1)).astype("float32"), "meta": rng.normal(size=(50, 3)).astype("float32")}
    y = {"price": rng.normal(size=50).astype("float32"), "kind": np.array(["a", "b"] * 25)}
    data = Data((x, y), validation=0.2).split(1)
    assert data.input_shape == {"image": (4, 4, 1), "meta": (3,)}
    assert data.task == {"price": "regression", "kind": "classification"}
    assert data.n_classes == {"price": None, "kind": 2}
    assert data.output_shape == {"price": (1,), "kind": (2,)}
    assert len(data.x_val["meta"]) == len(data.y_val["kind"]) == 10
    row = 3  # the rows of every input and output moved together
    original = int(np.flatnonzero((x["meta"] == data.x_val["meta"][row]).all(axis=1))[0])
    assert (x["image"][original] == data.x_val["image"][row]).all()
    assert y["price"][original] == data.y_val["price"][row]
    assert data.fingerprint()["class_counts"] == {"price": None, "kind": [25, 25]}
    assert data.info().sample(5)["image"].shape == (5, 4, 4, 1)
    head_x, head_y = data.validation_head(2)
    assert head_x["meta"].shape == (2, 3) and head_y["kind"].dtype == np.int64
    with pytest.raises(SetupError, match="arrays differ in length"):
        Data(({"a": np.zeros((3, 1)), "b": np.zeros((2, 1))}, np.zeros(3)))


def _stream(n=30, batch=None, labels=None):
    import tensorflow as tf

    x = np.arange(n * 2, dtype="float32").reshape(n, 2)
    y = np.arange(n) % 3 if labels is None else labels
    stream = tf.data.Dataset.from_tensor_slices((x, y))
    return stream.batch(batch) if batch else stream


def test_tf_data_is_used_as_it_is_and_batched_only_when_it_is_not():
    from hpo.data import Data, StreamedDataset

    unbatched = Data(_stream(), validation=_stream(9)).split(0)
    assert isinstance(unbatched, StreamedDataset) and not unbatched.batched
    assert unbatched.input_shape == (2,) and unbatched.task == "classification" and unbatched.n_classes == 3
    train, validation = unbatched.pipelines(4, shuffle=True, seed=0, repeat=False)
    assert next(iter(train))[0].shape == (4, 2) and next(iter(validation))[0].shape == (9, 2)
    assert unbatched.fingerprint()["class_counts"] == [10, 10, 10] and unbatched.fingerprint()["examples"] == 30
    x, y = unbatched.validation_head(2)
    assert x.shape == (2, 2) and list(y) == [0, 1]
    assert unbatched.sample(5).shape == (5, 2) and unbatched.test_set() is None

    batched = Data(_stream(batch=7), validation=_stream(9, batch=3), test=_stream(6)).split(0)
    assert batched.batched and batched.input_shape == (2,) and batched.output_shape == (3,)
    train, _ = batched.pipelines(64, shuffle=True, seed=0, repeat=False)
    assert next(iter(train))[0].shape == (7, 2)  # the stream's own batches, not the trial's
    assert next(iter(batched.test_set()))[0].shape == (6, 2)
    assert "streamed, 5 batches train / 3 batches validation / 6 examples test" in batched.describe()


def test_streamed_data_needs_its_own_validation_set_and_integer_labels():
    from hpo.data import Data

    with pytest.raises(SetupError, match="streamed training data .* needs its own validation set"):
        Data(_stream())
    with pytest.raises(SetupError, match="labels are strings"):
        Data(_stream(labels=np.array(["a", "b", "c"] * 10)), validation=_stream(3)).split(0)
    regression = Data(_stream(labels=np.linspace(0, 1, 30)), validation=_stream(3)).split(0)
    assert regression.task == "regression" and regression.n_classes is None and regression.output_shape == (1,)
    import tensorflow as tf

    with pytest.raises(SetupError, match="not .x, y. pairs"):
        Data(tf.data.Dataset.from_tensor_slices(np.zeros((3, 2))), validation=_stream(3))


def test_a_py_dataset_is_batched_and_arrays_beside_a_stream_become_one():
    import keras

    from hpo.data import Data

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            x = np.full((4, 5), index, dtype="float32")
            return x, np.array([0, 1, 1, 0]) if index != 2 else np.array([1, 1, 1, 1])

    data = Data(Batches(), validation=(np.zeros((6, 5)), np.array([0, 1] * 3))).split(0)
    assert data.batched and data.input_shape == (5,) and data.n_classes == 2
    assert data.fingerprint()["class_counts"] == [4, 8]
    train, validation = data.pipelines(64, shuffle=True, seed=0, repeat=False)
    assert isinstance(train, Batches) and next(iter(validation))[0].shape == (6, 5)
    assert data.sample(6).shape == (6, 5)


def test_both_split_forms_are_training_data_and_the_base_is_abstract():
    from hpo.data import Data, Dataset, StreamedDataset, TrainingData

    assert issubclass(Dataset, TrainingData) and issubclass(StreamedDataset, TrainingData)
    assert isinstance(Data((np.zeros((20, 3)), np.arange(20) % 2)).split(0), TrainingData)
    with pytest.raises(TypeError, match="abstract"):
        TrainingData()


def test_folds_pool_train_and_validation_stratified_and_the_same_for_a_seed():
    from hpo.data import Data

    x, y = np.arange(100, dtype="float32").reshape(50, 2), np.array([0] * 40 + [1] * 10)
    data = Data((x, y), validation=0.2).split(0)
    folds = data.folds(5, seed=3)
    assert len(folds) == 5
    validated = np.concatenate([f.x_val[:, 0] for f in folds])
    assert sorted(validated.tolist()) == sorted(x[:, 0].tolist())  # every example validates once
    for fold in folds:
        assert len(fold.x_train) == 40 and np.bincount(fold.y_val).tolist() == [8, 2]  # stratified
        assert not set(fold.x_val[:, 0]) & set(fold.x_train[:, 0])
    again = data.folds(5, seed=3)
    assert all((a.x_val == b.x_val).all() for a, b in zip(folds, again))
    assert any((a.x_val != b.x_val).any() for a, b in zip(folds, data.folds(5, seed=4)))
    pooled = data.pooled()
    assert len(pooled.x_train) == 50 and pooled.x_test is None


def test_groups_stay_on_one_side_of_the_split_and_of_every_fold():
    from hpo.data import Data

    x, y = np.arange(60, dtype="float32").reshape(60, 1), np.arange(60) % 2
    groups = np.arange(60) // 6  # 10 groups of 6
    split = Data((x, y), validation=0.2, groups=groups).split(0)
    group_of = dict(zip(x[:, 0].tolist(), groups.tolist()))
    train_groups = {group_of[v] for v in split.x_train[:, 0].tolist()}
    val_groups = {group_of[v] for v in split.x_val[:, 0].tolist()}
    assert val_groups and not train_groups & val_groups
    for fold in split.folds(5, seed=0):
        assert not {group_of[v] for v in fold.x_train[:, 0]} & {group_of[v] for v in fold.x_val[:, 0]}
    with pytest.raises(SetupError, match="cv=20 needs at least 20 groups; the data has 10"):
        split.folds(20, seed=0)
    with pytest.raises(SetupError, match="groups has 3 labels; the training data has 60 examples"):
        Data((x, y), groups=[1, 2, 3])


def test_regression_and_dict_folds_are_plain_k_fold():
    from hpo.data import Data

    x = {"a": np.zeros((20, 2), "float32"), "b": np.ones((20, 3), "float32")}
    data = Data((x, np.linspace(0, 1, 20)), validation=0.25).split(0)
    folds = data.folds(4, seed=0)
    assert [len(f.x_val["a"]) for f in folds] == [5, 5, 5, 5] and folds[0].x_train["b"].shape == (15, 3)
