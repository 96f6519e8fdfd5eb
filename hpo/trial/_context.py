"""What the trials of one process share (:class:`StudyContext`, built once) and what one trial
carries through its phases (:class:`TrialRun`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Protocol, Sequence

from hpo.errors import SetupError

if TYPE_CHECKING:
    import keras
    import optuna

    from hpo.data import TrainingData
    from hpo.objectives import Objective
    from hpo.schedulers import Scheduler
    from hpo.storage import StudyFiles, TrialCheckpoint
    from hpo.study import StudySpec
    from hpo.tracking import Trackers
    from hpo.trial._training import FitResult, FitSettings

DEFAULT_BATCH_SIZE = 64
# What a trial returns to Optuna: the metric, or (metric, second objective) with also_minimize.
TrialValue = float | Sequence[float]


class EpochGrants(Protocol):
    """The study's epoch budget (:class:`hpo.driver._budget.EpochLedger`): a trial's grant of
    each epoch, asked before it trains it."""

    def grants(self, trial: "optuna.trial.BaseTrial") -> Callable[[], bool]: ...


def fit_settings(spec: "StudySpec", params: dict[str, Any], seed: int,
                 class_weight: dict[int, float] | None = None, pause_at: frozenset[int] = frozenset()) -> "FitSettings":
    """How a configuration trains in this study (the search and ``hpo best`` alike);
    ``class_weight`` is :func:`class_weight_for`'s, computed once per process; ``pause_at`` a
    scheduler's rungs (none for ``hpo best``)."""
    from hpo.objectives import epoch_schedule
    from hpo.trial._training import FitSettings

    return FitSettings(
        monitor=spec.metric,
        direction=spec.direction,
        max_epochs=spec.max_epochs,
        patience=spec.patience,
        batch_size=int(params.get("batch_size", DEFAULT_BATCH_SIZE)),
        seed=seed,
        learning_rate_schedule=epoch_schedule(params, spec.max_epochs),
        class_weight=class_weight,
        shuffle=bool(spec.fit_options.get("shuffle", True)),
        steps_per_epoch=spec.fit_options.get("steps_per_epoch"),
        pause_at=pause_at,
    )


def class_weight_for(spec: "StudySpec", data: "TrainingData") -> dict[int, float] | None:
    """The study's ``class_weight`` fit option for this data (``"balanced"`` from its labels)."""
    from hpo.study import class_weights

    option = spec.fit_options.get("class_weight")
    if option is None:
        return None
    if isinstance(data.n_classes, dict):
        raise SetupError("fit_options: class_weight is for a model with one output (Keras takes no "
                         "class_weight for several); weight its losses in compile() instead")
    if data.n_classes is None:
        raise SetupError("fit_options: class_weight is for classification; this data is a regression task")
    labels = data.train_labels()
    assert not isinstance(labels, dict)
    return class_weights(option, labels)


@dataclass(frozen=True, eq=False)
class StudyContext:
    """What every trial of one process shares, built once per process: the study's settings,
    the objective and the data it loaded, its files (checkpoints, kept models; None trains
    without them), its scheduler, its epoch budget's ledger, its trackers, and where warnings
    go. The class weights and the folds of cross-validation are computed from the data once,
    here, not per trial."""

    spec: "StudySpec"
    objective: "Objective"
    data: "TrainingData"
    files: "StudyFiles | None" = None
    scheduler: "Scheduler | None" = None
    epoch_ledger: EpochGrants | None = None
    trackers: "Trackers | None" = None
    warn: Callable[[str], None] = print
    class_weight: dict[int, float] | None = field(init=False)
    _folds: dict[bool, list["TrainingData"]] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_weight", class_weight_for(self.spec, self.data))

    def fit_settings(self, params: dict[str, Any], seed: int, pause_at: frozenset[int] = frozenset()) -> "FitSettings":
        """How a configuration trains in this study (:func:`fit_settings`, this data's class weights)."""
        return fit_settings(self.spec, params, seed, self.class_weight, pause_at)

    def folds(self, confirming: bool) -> list["TrainingData"]:
        """The folds a trial trains on (a re-check's: a fresh assignment), made once per process."""
        if confirming not in self._folds:
            from hpo.trial._evaluations import fold_count, fold_seed, folds_of

            self._folds[confirming] = folds_of(self.data, fold_count(self.spec, confirming=confirming),
                                               fold_seed(self.spec, confirming=confirming))
        return self._folds[confirming]


@dataclass(eq=False)
class TrialRun:
    """One trial on its way through the runner's phases: what ``prepare`` found (its parameters,
    its user attributes as the trial started, how it trains, its checkpoint and whether it goes
    on from one) and what the hooks added to it (its epoch grant, what runs once a copied
    checkpoint is loaded, the callbacks of the evaluation that reports)."""

    trial: "optuna.trial.BaseTrial"
    params: dict[str, Any]
    attrs: dict[str, Any]
    settings: "FitSettings"
    confirms: int | None = None  # the trial this one re-checks (hpo.driver._confirmation)
    checkpoint: "TrialCheckpoint | None" = None
    resuming: bool = False  # it goes on from a checkpoint: a retry, a continuation, a PBT segment
    grant: Callable[[], bool] | None = None
    after_restore: "Callable[[keras.Model], None] | None" = None
    reporting_callbacks: list["keras.callbacks.Callback"] = field(default_factory=list)

    def with_settings(self, **changes: Any) -> None:
        self.settings = dataclasses.replace(self.settings, **changes)


class Scored(NamedTuple):
    """A trial's objective values and the last training that made them (its model is the one
    kept; None for a retry of a trial whose evaluations had all been recorded)."""

    values: tuple[float, ...]
    result: "FitResult | None"
