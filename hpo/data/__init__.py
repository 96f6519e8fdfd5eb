"""The data a study trains on.

* :mod:`~hpo.data.datasets`: the user's :class:`Data` and the split forms trials use
  (:class:`Dataset` in memory, :class:`StreamedDataset` for ``tf.data`` / ``PyDataset``);
* :mod:`~hpo.data.sources`: built-in datasets and the user's loader (``"module:load"``);
* :mod:`~hpo.data.streams`: what hpo reads of a stream without loading it;
* :mod:`~hpo.data.batches`: seeded in-memory batches for the torch and JAX backends.

``hpo.data`` itself re-exports the data classes, as it did when it was one module.
"""

from hpo.data.datasets import MEMORY_DATASET, Data, Dataset, ModelInfo, StreamedDataset, TrainingData

__all__ = ["MEMORY_DATASET", "Data", "Dataset", "ModelInfo", "StreamedDataset", "TrainingData"]
