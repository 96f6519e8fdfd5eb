"""Trials where teams already look: TensorBoard runs and MLflow runs, written as trials train.

optuna-integration's TensorBoard and MLflow callbacks log a finished trial's final value only,
and are deprecated (Optuna 4.9, optuna-integration PRs #281-#283); KerasTuner writes HParams on
the TensorFlow backend only. hpo already sees every epoch of every trial, so it writes them as
they come, on every backend: ``tracking={"tensorboard": DIR}`` (``--tensorboard DIR``,
``HPO_TENSORBOARD``) and ``tracking={"mlflow": URI}`` (``--mlflow URI``, ``HPO_MLFLOW``).
A :class:`Tracker` is told of each trial's start, epochs, end and kept model
(:class:`TrialStart`, :class:`TrialEnd`); :class:`Trackers` guards each call, so a tracker
that fails warns once and the trial goes on.
"""

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports

if TYPE_CHECKING:
    from hpo.tracking._events import Tracker, TrialEnd, TrialStart
    from hpo.tracking._trackers import (
        TRACKERS,
        TrackerKind,
        Trackers,
        check_targets,
        open_trackers,
        targets,
        trial_start,
    )

__all__ = [
    "TRACKERS", "Tracker", "TrackerKind", "Trackers", "TrialEnd", "TrialStart", "check_targets",
    "open_trackers", "targets", "trial_start",
]

_EXPORTS = {
    "hpo.tracking._events": ("Tracker", "TrialEnd", "TrialStart"),
    "hpo.tracking._trackers": (
        "TRACKERS", "TrackerKind", "Trackers", "check_targets", "open_trackers", "targets", "trial_start",
    ),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
