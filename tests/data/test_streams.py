import numpy as np
import pytest

from hpo.data import _streams as streams
from hpo.errors import SetupError


def _dataset(x, y):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, y))


def test_streams_are_told_from_arrays_and_batching_from_the_leading_dimension():
    x, y = np.zeros((10, 3), dtype="float32"), np.arange(10)
    stream = _dataset(x, y)
    assert streams.is_stream(stream) and not streams.is_stream((x, y)) and not streams.is_stream(x)
    assert not streams.is_batched(stream) and streams.is_batched(stream.batch(4))
    assert streams.size(stream) == 10 and streams.size(stream.batch(4)) == 3
    assert streams.size(stream.repeat()) is None  # infinite: unknown
    assert streams.batched(stream.batch(4), 64) is not None
    assert next(iter(streams.batched(stream, 6)))[0].shape == (6, 3)


def test_head_reads_only_as_many_batches_as_it_needs_and_keeps_dicts():
    x = {"a": np.arange(20, dtype="float32").reshape(10, 2), "b": np.ones((10, 1), dtype="float32")}
    stream = _dataset(x, np.arange(10)).batch(3)
    head_x, head_y = streams.head(stream, 5)
    assert head_x["a"].shape == (5, 2) and head_x["b"].shape == (5, 1) and list(head_y) == [0, 1, 2, 3, 4]
    assert list(streams.labels(stream)) == list(range(10))
    inputs, targets, dtype = streams.element_shapes(stream)
    assert inputs == {"a": (2,), "b": (1,)} and targets == () and dtype.kind == "i"
    assert streams.length(x) == 10 and streams.rows(x, slice(0, 2))["a"].shape == (2, 2)
    assert streams.concatenate([x, x])["b"].shape == (20, 1)


def test_a_py_dataset_is_read_batch_by_batch():
    import keras

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return np.full((3, 4, 4), index, dtype="float32"), np.array([index] * 3, dtype="float32")

    batches = Batches()
    assert streams.is_stream(batches) and streams.is_batched(batches) and streams.size(batches) == 2
    inputs, targets, dtype = streams.element_shapes(batches)
    assert inputs == (4, 4) and targets == () and dtype.kind == "f"
    assert streams.labels(batches).tolist() == [0, 0, 0, 1, 1, 1]
    streams.check_elements(batches, "train")


def test_elements_must_be_labelled_pairs():
    import keras

    with pytest.raises(SetupError, match="train is a tf.data.Dataset whose elements are not"):
        streams.check_elements(_dataset(np.zeros((3, 2)), np.zeros(3)).map(lambda x, y: x), "train")

    class Unlabelled(keras.utils.PyDataset):
        def __len__(self):
            return 1

        def __getitem__(self, index):
            return np.zeros((2, 2))

    with pytest.raises(SetupError, match="validation is a PyDataset whose batches are not"):
        streams.check_elements(Unlabelled(), "validation")
