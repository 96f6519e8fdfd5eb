"""In-memory arrays as Keras batches, for the torch and JAX backends.

On TensorFlow, :class:`hpo.data.Dataset` feeds Keras ``tf.data`` pipelines (fastest there). On
torch and JAX a ``tf.data`` pipeline is converted batch by batch and costs more than it saves
(digits MLP, 2 cores, per epoch: torch 0.31 s from ``tf.data``, 0.25 s from NumPy arrays,
0.18-0.20 s from this class; JAX 0.05 s, 0.02 s and 0.02 s); it would also import TensorFlow
into a worker that does not otherwise need it. Keras' own array adapter shuffles with NumPy's
global random state; these batches shuffle with their own seeded generator, one permutation
per pass, so a trial's batches follow from its seed alone.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

import hpo.data._streams as streams


class ArrayBatches(keras.utils.PyDataset):
    """Batches of ``(x, y)`` arrays (or dicts of them), shuffled once per pass with ``seed``.

    ``repeat``: an endless sequence of passes, for ``steps_per_epoch``: Keras then asks for
    batch indices that keep counting across epochs, so epochs run through the data in turn.
    """

    def __init__(self, x: Any, y: Any, batch_size: int, *, shuffle: bool, seed: int, repeat: bool = False) -> None:
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.shuffle, self.seed, self.repeat = shuffle, seed, repeat
        self.count = streams.length(x)
        self.per_pass = -(-self.count // batch_size)
        self.passes_done = 0  # passes finished (the epochs of a non-repeating sequence)
        self._order: tuple[int, np.ndarray] | None = None

    @property
    def num_batches(self) -> int | None:
        return None if self.repeat else self.per_pass

    def __len__(self) -> int:
        return self.per_pass

    def order(self, pass_number: int) -> np.ndarray:
        """The example order of pass ``pass_number`` (cached for the pass in progress)."""
        if self._order is None or self._order[0] != pass_number:
            order = (np.random.default_rng([self.seed, pass_number]).permutation(self.count) if self.shuffle
                     else np.arange(self.count))
            self._order = (pass_number, order)
        return self._order[1]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        pass_number, batch = divmod(index, self.per_pass) if self.repeat else (self.passes_done, index)
        picked = self.order(pass_number)[batch * self.batch_size:(batch + 1) * self.batch_size]
        return streams.rows(self.x, picked), streams.rows(self.y, picked)

    def on_epoch_end(self) -> None:
        if not self.repeat:
            self.passes_done += 1
