"""Weight histograms stored with the best trial, for the report."""

import keras
import numpy as np

from hpo.trial._histograms import BINS, weight_histograms


def test_one_histogram_per_trainable_tensor_counting_every_weight():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    stored = weight_histograms(model)
    assert stored["n_tensors"] == 4
    sizes = [int(np.prod(t["shape"])) for t in stored["tensors"]]
    assert sizes == [20, 4, 8, 2]
    for tensor, size in zip(stored["tensors"], sizes):
        assert len(tensor["counts"]) == BINS and len(tensor["edges"]) == BINS + 1
        assert sum(tensor["counts"]) == size
        assert tensor["edges"] == sorted(tensor["edges"])
    # The zero-initialised bias is constant: one bin around it still holds all its values.
    assert stored["tensors"][1]["edges"][0] < 0 < stored["tensors"][1]["edges"][-1]
    assert "kernel" in stored["tensors"][0]["name"]


def test_histograms_are_json_and_small():
    import json

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(128), keras.layers.Dense(10)])
    text = json.dumps(weight_histograms(model))
    assert len(text) < 4 * 1024
