"""The data a study trains on.

* :class:`Data`: the user's training, validation and test parts (arrays, DataFrames,
  ``tf.data``, ``PyDataset``), and the split forms trials use (:class:`Dataset` in memory,
  :class:`StreamedDataset` for streams);
* :func:`load_dataset`: the built-in datasets and the user's loader (``"module:load"``);
* :class:`ArrayBatches`: seeded in-memory batches for the torch and JAX backends;
* ``length`` and ``rows``: what hpo reads of a stream without loading it.
"""

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports

if TYPE_CHECKING:
    from hpo.data._batches import ArrayBatches
    from hpo.data._datasets import MEMORY_DATASET, Data, Dataset, ModelInfo, StreamedDataset, TrainingData
    from hpo.data._sources import load_dataset
    from hpo.data._streams import length, rows

__all__ = [
    "ArrayBatches", "Data", "Dataset", "MEMORY_DATASET", "ModelInfo", "StreamedDataset", "TrainingData",
    "length", "load_dataset", "rows",
]

_EXPORTS = {
    "hpo.data._batches": ("ArrayBatches",),
    "hpo.data._datasets": (
        "Data", "Dataset", "MEMORY_DATASET", "ModelInfo", "StreamedDataset", "TrainingData",
    ),
    "hpo.data._sources": ("load_dataset",),
    "hpo.data._streams": ("length", "rows"),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
