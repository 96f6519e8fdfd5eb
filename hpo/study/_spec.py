"""The study specification: everything a study script states, validated on construction.

A spec is stored with the study (as a study user attribute) so that ``hpo resume NAME`` can
continue a study without its script, and so that a re-run with other settings can say what
changed.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Literal, Mapping, cast

import hpo._plugins as plugins
from hpo._keras_runtime import BACKENDS
from hpo.errors import SetupError
from hpo.schedulers import SCHEDULER_NAMES, check_scheduler
from hpo.search import PRUNER_NAMES, SAMPLER_NAMES, check_pruner_name, check_sampler_name
from hpo.study._fit_options import check_fit_options
from hpo.study._metrics import direction_of

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
DIRECTIONS = ("maximize", "minimize")

# Settings that define *what* is being optimised. Changing one of them on an existing study
# would mix incomparable trials, so it is an error; every other setting may change on resume.
IDENTITY_FIELDS = ("objective", "dataset", "metric", "direction", "also_minimize", "cv", "repeats")
# Second objectives a study can minimise alongside its metric (multi-objective studies).
SECOND_OBJECTIVES = ("n_params", "inference_ms")
TRACKING_KINDS = ("tensorboard", "mlflow")  # where trials are also written as they train (hpo.tracking)


Direction = Literal["maximize", "minimize"]


@dataclasses.dataclass(frozen=True)
class CliSetting:
    """How a setting is overridden on the command line (``--name-with-dashes``)."""

    type: type  # int, str, or bool (a --flag/--no-flag pair)
    help: str
    metavar: str = "N"


def _cli(default: Any, type: type, help: str, metavar: str = "N") -> Any:  # noqa: A002 - argparse's names
    """A spec field that ``hpo run`` and ``hpo resume`` can override (see :func:`cli_settings`)."""
    return dataclasses.field(default=default, metadata={"cli": CliSetting(type, help, metavar)})


@dataclasses.dataclass(frozen=True)
class StudySpec:
    """What a study script states.

    Args:
        name: study name in storage; letters, digits, ``_``, ``-``, ``.``.
        objective: a built-in objective (``"mlp"``), a dotted module path, or a ``.py`` file
            (relative to the study script) defining ``suggest(trial)`` and
            ``build(params, info)`` (:class:`hpo.ObjectiveModule`).
        dataset: a built-in dataset name (``"digits"``, ``"mnist"``, ``"cifar10"``), or the
            user's loader as ``"package.module:load"`` / ``"file.py:load"`` (see :mod:`hpo.data`).
        metric: the Keras log key that is monitored (``val_accuracy``, ``val_loss``, ...).
            It drives the study direction, early stopping, pruning and the trial's value.
        direction: ``"maximize"`` or ``"minimize"``; when omitted (or empty), looked up from
            ``metric``'s name in a table (:func:`hpo.study.direction_of`; ``val_mae``: minimize,
            ``val_auc``: maximize); a metric not in that table needs it.
        sampler: a name from :data:`hpo.search.SAMPLER_NAMES`, or the user's own
            ``BaseSampler`` as ``"package.module:Name"`` / ``"file.py:Name"``.
        pruner: a name from :data:`hpo.search.PRUNER_NAMES`, or the user's own
            ``BasePruner`` as ``"package.module:Name"`` / ``"file.py:Name"`` (called with
            ``pruner_options``).
        n_trials: the budget: how many *finished* (complete or pruned) trials the study should
            have in total. Re-running tops up to it. With a scheduler it counts configurations:
            the continuations of paused trials are not new ones.
        epoch_budget: when set, the study also ends once its trials have trained this many
            epochs in total (each epoch is granted under the budget's lock before it starts, so
            the total is exact across workers and hosts; a trial that is refused its next epoch
            ends with its best epoch so far). Epochs a retry or continuation takes over from a
            checkpoint are not counted again.
        max_epochs: epochs per trial at most.
        patience: early-stopping patience in epochs.
        seed: seeds the sampler, Keras and the data splits.
        enqueue: parameter sets tried first in a new study.
        enqueue_defaults: also enqueue the objective's recommended defaults first.
        max_consecutive_failures: stop the study after this many failed trials in a row.
        max_retries: how often a trial whose process died or was stopped is retried (from its
            last epoch checkpoint) before it stays failed.
        workers: worker processes running trials at once on this machine (``--workers``).
        recycle_after: a worker process is replaced by a fresh one after this many trials, so
            memory cannot creep across trials (TensorFlow keeps about 8 MiB per digits trial
            here). 0 runs a single worker's trials in the ``hpo`` process itself, never
            replaced.
        deterministic: deterministic TensorFlow ops, so that two runs with the same seed give
            the same values to the last bit (slower); without it they agree to float rounding.
        warm_start: the name of an earlier study in the same storage whose best
            ``warm_start_trials`` trials are enqueued first in a new study.
        warm_start_trials: how many of the earlier study's best trials ``warm_start`` enqueues.
        also_minimize: a second objective minimised together with ``metric``: ``"n_params"``
            (parameter count) or ``"inference_ms"`` (milliseconds per sample on the validation
            set). The study then has a Pareto front instead of one best trial; Optuna does not
            prune multi-objective studies, so pruning is off.
        pick_within: with ``also_minimize``, the rule that picks one trial of the Pareto front
            (for ``hpo show``, ``hpo best`` and the kept model): the best ``metric`` among the
            trials whose second objective is at most this; without it, the best ``metric``.
        grid: for ``sampler="grid"``: the values of each gridded parameter; parameters left
            out take the objective's ``DEFAULT_PARAMS``.
        pruner_options: keyword arguments of the pruner (``threshold``: ``lower``/``upper``,
            default the chance level; ``learning-curve``: ``threshold``, ``min_epochs``,
            ``fit_weight``).
        scheduler: ``"none"`` (Optuna's pruners stop trials), ``"asha"`` or ``"hyperband"``
            (trials pause at rungs and the best continue from their checkpoints), ``"pbt"``
            (population-based training), or the user's own :class:`hpo.schedulers.Scheduler`
            as ``"package.module:Name"`` / ``"file.py:Name"``; see :mod:`hpo.schedulers`.
            Needs ``pruner="none"``.
        scheduler_options: ``asha``/``hyperband``: ``reduction_factor`` (default 3) and
            ``min_epochs`` (the first rung, default 1). ``pbt``: ``population`` (the members:
            n_trials, which it must equal), ``interval`` (epochs per segment, default 2),
            ``mutable`` (parameters perturbed on exploit, default ``["learning_rate"]``),
            ``quantile`` (default 0.25), ``resample_probability`` (default 0.25), ``explore``
            (the user's function ``explore(params) -> params``, run after the perturbation, as
            ``"package.module:name"`` / ``"file.py:name"``). The user's own scheduler: its
            keyword arguments.
        cv: k-fold cross-validation of in-memory data (1: the one validation split): each trial
            trains ``cv`` models, its value is the mean of the folds' best-epoch values (see
            the docs' "Picking on small data" for how pruning and retries see the folds).
        repeats: trainings per fold with other seeds; the value is the mean over all of them.
        confirm_top: when the budget is met, the leading configurations are re-checked, each
            with ``max(cv, 5)`` more folds (a fresh fold assignment) × ``repeats`` seeds, and the
            pick is the best mean over all of a re-checked configuration's evaluations.
        fit_options: Keras ``fit`` arguments hpo passes on: ``class_weight`` (a dict or
            ``"balanced"``), ``shuffle``, ``steps_per_epoch``.
        storage: storage URL; ``--storage`` and ``HPO_STORAGE`` take precedence.
        artifacts: where epoch checkpoints and kept models are also stored, so a retry on any
            host continues from the last finished epoch: a directory or
            ``s3://bucket/prefix``; ``--artifacts`` and ``HPO_ARTIFACTS`` take precedence.
        tracking: where trials are also written as they train: ``{"tensorboard": DIR}`` (a
            TensorBoard run per configuration, with the HParams plugin's data) and/or
            ``{"mlflow": URI}`` (an MLflow run per trial, nested in one per study; the kept model
            as an MLflow model), and the user's own :class:`hpo.tracking.Tracker` as
            ``{"package.module:Name": target}``; ``--tensorboard``/``HPO_TENSORBOARD`` and
            ``--mlflow``/``HPO_MLFLOW`` take precedence (:mod:`hpo.tracking`).
        heartbeat_interval: seconds between a running trial's heartbeats (Optuna's
            ``RDBStorage`` heartbeat; default 10).
        grace_period: seconds without a heartbeat after which a running trial counts as dead,
            is failed and retried by any worker of any host (default 40). Longer than
            ``heartbeat_interval``.
        backend: the Keras backend trials train on: ``"tensorflow"`` (default), ``"torch"`` or
            ``"jax"`` (installed with hpo's extra of the same name). Not part of the study's
            identity: a resume may switch it, and says so.
    """

    name: str
    objective: str = "mlp"
    dataset: str = "digits"
    metric: str = "val_accuracy"
    direction: str = ""
    sampler: str = _cli("tpe", str, f"one of: {', '.join(SAMPLER_NAMES)}, or package.module:Name", "NAME")
    # learning-curve since benchmarks/choose_defaults.py (README, "Choosing the defaults")
    pruner: str = _cli("learning-curve", str, f"one of: {', '.join(PRUNER_NAMES)}, or package.module:Name", "NAME")
    n_trials: int = _cli(30, int, "budget: total number of finished trials the study should have")
    max_epochs: int = _cli(30, int, "epochs per trial at most")
    patience: int = 5
    seed: int = _cli(0, int, "seed for sampler, Keras and splits")
    enqueue: tuple[Mapping[str, Any], ...] = ()
    enqueue_defaults: bool = True
    max_consecutive_failures: int = 5
    max_retries: int = 2
    workers: int = _cli(1, int, "run trials in N worker processes at once (each gets cores/N threads)")
    recycle_after: int = _cli(25, int, "replace a worker process by a fresh one after N trials (0: never)")
    deterministic: bool = _cli(False, bool, "deterministic TensorFlow ops: same seed, same values to the "
                               "last bit (--no-deterministic switches a stored study back)")
    warm_start: str | None = _cli(None, str, "a new study starts with the best trials of this earlier study",
                                  "STUDY")
    warm_start_trials: int = 3
    also_minimize: str | None = None
    pick_within: float | None = None
    grid: Mapping[str, tuple[Any, ...]] = dataclasses.field(default_factory=dict)
    pruner_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    scheduler: str = _cli("none", str, f"pause and continue trials: {', '.join(SCHEDULER_NAMES)} "
                          "(needs --pruner none)", "NAME")
    scheduler_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    epoch_budget: int | None = _cli(None, int, "the study also ends when its trials have trained N epochs "
                                    "in total, exactly, across workers and hosts")
    cv: int = _cli(1, int, "k-fold cross-validation: each trial's value is the mean over k folds (in-memory data)")
    repeats: int = _cli(1, int, "train each fold R times with other seeds; the value is the mean", "R")
    confirm_top: int = _cli(0, int, "when the budget is met, re-check the K leading configurations on "
                            "max(cv, 5) more folds and pick by all their evaluations", "K")
    fit_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    storage: str | None = None
    artifacts: str | None = _cli(None, str, "artifact store for checkpoints and kept models, shared by every "
                                 "host: a directory or s3://bucket/prefix ($HPO_ARTIFACTS)", "URI")
    tracking: Mapping[str, str] = dataclasses.field(default_factory=dict)
    heartbeat_interval: int = _cli(10, int, "seconds between the heartbeats a running trial writes to storage",
                                   "SECONDS")
    grace_period: int = _cli(40, int, "a running trial without a heartbeat for this long is failed and "
                             "retried (its worker died, on any host)", "SECONDS")
    backend: str = _cli("tensorflow", str, f"Keras backend the trials train on: {', '.join(BACKENDS)}", "NAME")

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_PATTERN.match(self.name):
            raise SetupError(
                f"invalid study name {self.name!r}: use letters, digits, '_', '-' or '.'"
            )
        for field in ("objective", "dataset", "metric"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value:
                raise SetupError(f"{field} must be a non-empty string, got {value!r}")
        direction = self.direction or direction_of(self.metric)
        if direction not in DIRECTIONS:
            raise SetupError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
        object.__setattr__(self, "direction", direction)
        check_sampler_name(self.sampler)
        check_pruner_name(self.pruner)
        for field in ("n_trials", "max_epochs", "patience", "max_consecutive_failures", "workers",
                      "heartbeat_interval", "grace_period"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SetupError(f"{field} must be a positive integer, got {value!r}")
        if self.grace_period <= self.heartbeat_interval:
            raise SetupError(f"grace_period ({self.grace_period} s) must be longer than heartbeat_interval "
                             f"({self.heartbeat_interval} s), or live trials would be failed")
        if self.backend not in BACKENDS:
            raise SetupError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.artifacts is not None and (not isinstance(self.artifacts, str) or not self.artifacts):
            raise SetupError(f"artifacts must be a directory or s3://bucket/prefix, got {self.artifacts!r}")
        if self.warm_start is not None and (not isinstance(self.warm_start, str) or not self.warm_start):
            raise SetupError(f"warm_start must be a study name, got {self.warm_start!r}")
        if not isinstance(self.deterministic, bool):
            raise SetupError(f"deterministic must be True or False, got {self.deterministic!r}")
        for field in ("cv", "repeats"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SetupError(f"{field} must be a positive integer, got {value!r}")
        for field in ("seed", "max_retries", "recycle_after", "warm_start_trials", "confirm_top"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SetupError(f"{field} must be a non-negative integer, got {value!r}")
        enqueue = tuple(dict(params) for params in self.enqueue)
        for params in enqueue:
            for key, value in params.items():
                if not isinstance(key, str) or not _is_param_value(value):
                    raise SetupError(f"enqueued parameter {key!r}={value!r} is not a number/string")
        object.__setattr__(self, "enqueue", enqueue)
        if self.also_minimize is not None and self.also_minimize not in SECOND_OBJECTIVES:
            raise SetupError(f"also_minimize must be one of {', '.join(SECOND_OBJECTIVES)}, "
                             f"got {self.also_minimize!r}")
        if self.pick_within is not None and (self.also_minimize is None or isinstance(self.pick_within, bool)
                                             or not isinstance(self.pick_within, (int, float))):
            raise SetupError("pick_within is a number, and needs also_minimize")
        if not isinstance(self.grid, Mapping):
            raise SetupError(f"grid must be a mapping of parameter name to values, got {self.grid!r}")
        grid = {}
        for key, values in self.grid.items():
            values = tuple(values) if isinstance(values, (list, tuple)) else (values,)
            if not isinstance(key, str) or not values or not all(map(_is_param_value, values)):
                raise SetupError(f"grid entry {key!r}: give a non-empty list of numbers/strings, got {values!r}")
            grid[key] = values
        object.__setattr__(self, "grid", grid)
        if not isinstance(self.pruner_options, Mapping) or not all(
                isinstance(k, str) and _is_param_value(v) for k, v in self.pruner_options.items()):
            raise SetupError(f"pruner_options must map option names to numbers, got {self.pruner_options!r}")
        object.__setattr__(self, "pruner_options", dict(self.pruner_options))
        if not isinstance(self.scheduler, str) or not isinstance(self.scheduler_options, Mapping):
            raise SetupError(f"scheduler must be a name and scheduler_options a mapping, got "
                             f"{self.scheduler!r} and {self.scheduler_options!r}")
        check_scheduler(self.scheduler, self.scheduler_options, pruner=self.pruner, max_epochs=self.max_epochs,
                        n_trials=self.n_trials)
        object.__setattr__(self, "scheduler_options", dict(self.scheduler_options))
        if self.scheduler != "none" and self.multi_objective:
            raise SetupError("a scheduler ranks trials by one metric; it cannot run with also_minimize")
        if self.evaluated_more_than_once or self.confirm_top:
            if self.scheduler != "none":
                raise SetupError("cv, repeats and confirm_top train whole configurations; they cannot "
                                 f"run with scheduler={self.scheduler!r}")
            if self.multi_objective:
                raise SetupError("cv, repeats and confirm_top average one metric; they cannot run with also_minimize")
        if self.epoch_budget is not None and (isinstance(self.epoch_budget, bool)
                                              or not isinstance(self.epoch_budget, int) or self.epoch_budget < 1):
            raise SetupError(f"epoch_budget must be a positive integer, got {self.epoch_budget!r}")
        object.__setattr__(self, "fit_options", check_fit_options(self.fit_options))
        object.__setattr__(self, "tracking", _check_tracking(self.tracking))

    @property
    def directions(self) -> list[Direction]:
        """One direction per objective: the metric's, then ``minimize`` for ``also_minimize``."""
        first = cast(Direction, self.direction)
        return [first, "minimize"] if self.also_minimize else [first]

    @property
    def evaluated_more_than_once(self) -> bool:
        """Whether a trial trains several models (``cv`` folds × ``repeats`` seeds)."""
        return self.cv > 1 or self.repeats > 1

    @property
    def multi_objective(self) -> bool:
        return self.also_minimize is not None

    # Storage round trip ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The settings stored with the study (JSON-serialisable; the storage URL is not)."""
        data = dataclasses.asdict(self)
        data.pop("storage")
        data["enqueue"] = [dict(params) for params in self.enqueue]
        data["grid"] = {name: list(values) for name, values in self.grid.items()}
        data["pruner_options"] = dict(self.pruner_options)
        data["scheduler_options"] = dict(self.scheduler_options)
        data["fit_options"] = dict(self.fit_options)
        data["tracking"] = dict(self.tracking)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "StudySpec":
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SetupError(f"unknown study settings: {', '.join(unknown)}")
        values = dict(data)
        values["enqueue"] = tuple(values.get("enqueue", ()))
        return cls(**values)  # grid and pruner_options of older studies: the empty defaults

    def with_overrides(self, **overrides: Any) -> "StudySpec":
        """A copy with the given settings replaced; ``None`` means "not overridden"."""
        given = {key: value for key, value in overrides.items() if value is not None}
        return dataclasses.replace(self, **given)

    def differences(self, stored: "StudySpec") -> list[tuple[str, Any, Any]]:
        """``(setting, stored value, this value)`` for every stored setting that differs."""
        mine, theirs = self.to_dict(), stored.to_dict()
        return [(key, theirs[key], mine[key]) for key in mine if mine[key] != theirs[key]]


def cli_settings() -> list[tuple[str, CliSetting]]:
    """``(field name, how to override it)`` of every setting the command line can override:
    the one list ``hpo run``/``hpo resume`` build their flags and overrides from."""
    return [(field.name, field.metadata["cli"]) for field in dataclasses.fields(StudySpec)
            if "cli" in field.metadata]


def _check_tracking(tracking: Any) -> dict[str, str]:
    if not isinstance(tracking, Mapping):
        raise SetupError(f"tracking must map 'tensorboard' and/or 'mlflow' to a directory or URI, got {tracking!r}")
    for kind, value in tracking.items():
        if kind not in TRACKING_KINDS and not (isinstance(kind, str) and plugins.is_reference(kind)):
            raise SetupError(f"unknown tracking {kind!r}: use {' or '.join(map(repr, TRACKING_KINDS))}, "
                             "or your own tracker as 'package.module:Name'")
        if not isinstance(value, str) or not value:
            raise SetupError(f"tracking {kind!r} must be a directory or URI, got {value!r}")
    return dict(tracking)


def _is_param_value(value: Any) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    return isinstance(value, (int, float)) and math.isfinite(value)
