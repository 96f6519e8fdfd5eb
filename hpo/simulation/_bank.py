"""A curve bank: the recorded learning curves of many configurations of one task.

Per configuration: its parameters, its parameter count, and per epoch the validation metric
(the study's ``metric``), the validation loss, the test metric and the wall seconds the epoch
took. Stored as two files per task in one folder (``HPO_CURVE_BANK``, default
``benchmarks/curve_bank``): ``TASK.json`` (metric, direction, the search space as Optuna's
distribution JSON, the configurations) and ``TASK.npz`` (the arrays, configurations × epochs).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from hpo._environment import CURVE_BANK_ENV
from hpo.errors import SetupError

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

DEFAULT_DIRECTORY = Path("benchmarks") / "curve_bank"
ARRAYS = ("curves", "losses", "test_curves", "seconds", "n_params")


@dataclass(frozen=True, eq=False)
class CurveBank:
    task: str
    metric: str
    direction: Literal["maximize", "minimize"]
    configs: list[dict[str, Any]]
    distributions: dict[str, "BaseDistribution"]  # the search space the configurations were drawn from
    curves: np.ndarray  # configurations x epochs: the validation metric
    losses: np.ndarray  # the validation loss
    test_curves: np.ndarray  # the test metric
    seconds: np.ndarray  # wall seconds of each epoch
    n_params: np.ndarray = field(default_factory=lambda: np.zeros(0))  # one per configuration
    # Where each configuration was recorded ("study:trial number"); a repeat bank's name the
    # configuration of the main bank they repeat.
    sources: list[str] = field(default_factory=list)
    # The objective whose ``suggest`` drew the configurations, as a study script names it ("mlp",
    # "studies/models/binary_mlp.py"); "" when unknown.
    objective: str = ""

    def __post_init__(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise SetupError(f"curve bank {self.task!r}: direction must be maximize or minimize, not {self.direction!r}")
        shape = (len(self.configs), self.curves.shape[1] if self.curves.ndim == 2 else -1)
        for name in ("curves", "losses", "test_curves", "seconds"):
            array = getattr(self, name)
            if array.ndim != 2 or array.shape != shape:
                raise SetupError(f"curve bank {self.task!r}: {name} has shape {array.shape}, expected "
                                 f"{len(self.configs)} configurations x epochs")
        if not np.isfinite(self.curves).all() or (self.seconds <= 0).any():
            raise SetupError(f"curve bank {self.task!r}: curves must be finite and epoch seconds positive")
        if self.n_params.size and self.n_params.shape != (len(self.configs),):
            raise SetupError(f"curve bank {self.task!r}: n_params needs one value per configuration")
        if self.sources and len(self.sources) != len(self.configs):
            raise SetupError(f"curve bank {self.task!r}: sources needs one entry per configuration")

    @property
    def n_configs(self) -> int:
        return len(self.configs)

    @property
    def n_epochs(self) -> int:
        return int(self.curves.shape[1])

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    def on_metric(self, metric: str) -> "CurveBank":
        """The bank scored by another recorded validation series: its own ``metric`` or
        ``val_loss`` (minimised), named ``TASK:val_loss``. Without pruning and early stopping
        the monitored metric did not change training, so the same curves serve both; a study
        on a metric that saturates (AUC 1.0 on a small validation set) can be replayed on its
        loss instead. ``test_curves`` stay the recorded test metric (the pick's test AUC)."""
        if metric == self.metric:
            return self
        if metric != "val_loss":
            raise SetupError(f"curve bank {self.task!r} records {self.metric} and val_loss, not {metric!r}")
        return dataclasses.replace(self, task=f"{self.task}:{metric}", metric=metric, direction="minimize",
                                   curves=self.losses)

    def final_best(self, index: int, epochs: int | None = None) -> float:
        """Configuration ``index``'s score after ``epochs`` (all by default): its best epoch so
        far, as hpo scores a trial (early stopping restores the best epoch's weights)."""
        curve = self.curves[index, : epochs or self.n_epochs]
        return float(curve.max() if self.maximize else curve.min())

    def save(self, directory: Path) -> Path:
        from optuna.distributions import distribution_to_json

        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "task": self.task, "metric": self.metric, "direction": self.direction,
            "distributions": {name: distribution_to_json(d) for name, d in self.distributions.items()},
            "configs": self.configs,
            "sources": self.sources,
            "objective": self.objective,
        }
        (directory / f"{self.task}.json").write_text(json.dumps(meta, indent=1))
        np.savez_compressed(directory / f"{self.task}.npz", **{name: getattr(self, name) for name in ARRAYS})
        return directory / f"{self.task}.json"


def bank_directory(directory: str | Path | None = None) -> Path:
    return Path(directory or os.environ.get(CURVE_BANK_ENV) or DEFAULT_DIRECTORY)


def load_bank(task: str, directory: str | Path | None = None) -> CurveBank:
    """The curve bank of ``task`` (``TASK:val_loss`` for :meth:`CurveBank.on_metric`); a
    :class:`SetupError` naming the files when it is not there."""
    from optuna.distributions import json_to_distribution

    if ":" in task:
        name, metric = task.split(":", 1)
        return load_bank(name, directory).on_metric(metric)
    folder = bank_directory(directory)
    meta_path, arrays_path = folder / f"{task}.json", folder / f"{task}.npz"
    if not meta_path.is_file() or not arrays_path.is_file():
        raise SetupError(f"no curve bank for task {task!r} in {folder}: expected {meta_path.name} and {arrays_path.name}")
    try:
        meta = json.loads(meta_path.read_text())
        with np.load(arrays_path) as arrays:
            loaded = {name: arrays[name] for name in ARRAYS}
        distributions = {name: json_to_distribution(text) for name, text in meta["distributions"].items()}
        return CurveBank(task=meta["task"], metric=meta["metric"], direction=meta["direction"],
                         configs=list(meta["configs"]), distributions=distributions,
                         sources=list(meta.get("sources", [])), objective=str(meta.get("objective", "")),
                         **loaded)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SetupError(f"curve bank {task!r} in {folder} is unreadable: {type(error).__name__}: {error}") from None
