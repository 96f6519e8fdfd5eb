"""In-memory arrays as Keras batches (the torch and JAX backends)."""

import numpy as np

from hpo.data._batches import ArrayBatches


def _examples(batches, indices):
    return np.concatenate([batches[i][0] for i in indices])


def test_every_example_once_per_pass_in_a_seeded_order_that_changes_each_pass():
    x, y = np.arange(10), np.arange(10) * 2
    batches = ArrayBatches(x, y, 4, shuffle=True, seed=3)
    assert len(batches) == batches.num_batches == 3
    first = _examples(batches, range(3))
    assert sorted(first) == list(range(10)) and list(first) != list(range(10))
    assert all((batches[i][1] == batches[i][0] * 2).all() for i in range(3))  # x and y move together
    batches.on_epoch_end()
    second = _examples(batches, range(3))
    assert sorted(second) == list(range(10)) and list(second) != list(first)
    again = ArrayBatches(x, y, 4, shuffle=True, seed=3)
    assert list(_examples(again, range(3))) == list(first)  # the seed alone decides


def test_repeating_batches_count_on_across_passes_for_steps_per_epoch():
    batches = ArrayBatches(np.arange(6), np.arange(6), 4, shuffle=True, seed=0, repeat=True)
    assert batches.num_batches is None  # endless: Keras then needs steps_per_epoch
    passes = [_examples(batches, range(2 * p, 2 * p + 2)) for p in range(3)]
    assert all(sorted(p) == list(range(6)) for p in passes)
    assert list(passes[0]) != list(passes[1])


def test_unshuffled_dict_inputs_keep_their_order_and_names():
    x = {"a": np.arange(5), "b": np.arange(5) + 10}
    batches = ArrayBatches(x, {"out": np.arange(5)}, 2, shuffle=False, seed=0)
    inputs, targets = batches[2]
    assert list(inputs["a"]) == [4] and list(inputs["b"]) == [14] and list(targets["out"]) == [4]
