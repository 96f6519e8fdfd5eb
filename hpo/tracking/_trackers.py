"""The trackers a study can name, and the guarded set of one process's (:class:`Trackers`).

optuna-integration's TensorBoard and MLflow callbacks log a finished trial's final value only,
and are deprecated (Optuna 4.9, optuna-integration PRs #281-#283); KerasTuner writes HParams on
the TensorFlow backend only. hpo already sees every epoch of every trial, so it writes them as
they come, on every backend:

* ``tracking={"tensorboard": DIR}`` (``--tensorboard DIR``, ``HPO_TENSORBOARD``): one run per
  configuration, scalars per epoch, the HParams plugin's session (:mod:`hpo.tracking._tensorboard`);
* ``tracking={"mlflow": URI}`` (``--mlflow URI``, ``HPO_MLFLOW``): one parent run per study, a
  nested run per trial, the kept best model as an MLflow model (:mod:`hpo.tracking._mlflow_runs`).

Same precedence as the artifact store: the flag (which sets the variable for the workers it
starts) wins over the variable, which wins over the study script. :data:`TRACKERS` registers
the built-in ones; a study may name its own, ``tracking={"package.module:Name": target}`` (a
:class:`hpo.tracking.Tracker` subclass, or a function returning one).

A tracker is told four things, in the process that trains: a trial started (its parameters and
where it goes on from), an epoch ended (Keras' logs and the learning rate), the trial ended
(its state as storage holds it), a model was kept. Tracking is a view: a tracker that fails
warns once and the trial goes on (:class:`Trackers`); only an unusable setting at the start is
a setup error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import hpo._plugins as plugins
import hpo.records as records
from hpo._environment import MLFLOW_ENV, TENSORBOARD_ENV
from hpo.errors import SetupError
from hpo.tracking._events import Tracker, TrialEnd, TrialStart

if TYPE_CHECKING:
    import optuna

    from hpo.study import StudySpec


@dataclass(frozen=True)
class TrackerKind:
    """A built-in tracker: the variable (set by its flag) that wins over the study's setting, the
    package it needs, the check of its target before a run touches storage, and
    ``open(target, study, spec, prepare)``."""

    variable: str
    package: str
    label: str
    check: Callable[[str], None] | None
    open: Callable[..., Tracker]


def _open_tensorboard(target: str, study: "optuna.Study", spec: "StudySpec", *, prepare: bool) -> Tracker:
    from hpo.tracking._tensorboard import TensorBoardTracker

    return TensorBoardTracker(target, spec.name)


def _open_mlflow(target: str, study: "optuna.Study", spec: "StudySpec", *, prepare: bool) -> Tracker:
    from hpo.tracking._mlflow_runs import MlflowTracker

    return MlflowTracker.open(target, study, spec, prepare=prepare)


def _mlflow_reachable(target: str) -> None:
    from hpo.tracking._mlflow_runs import check_reachable

    check_reachable(target)


TRACKERS: dict[str, TrackerKind] = {
    "tensorboard": TrackerKind(TENSORBOARD_ENV, "tensorboard", "TensorBoard", None, _open_tensorboard),
    "mlflow": TrackerKind(MLFLOW_ENV, "mlflow", "MLflow", _mlflow_reachable, _open_mlflow),
}


def targets(spec: "StudySpec") -> dict[str, str]:
    """Where this process tracks: kind -> directory or URI (the variables, set by the flags,
    win over the study's ``tracking``); a tracker of the user's own by its reference."""
    found = {}
    for kind, tracker in TRACKERS.items():
        value = os.environ.get(tracker.variable) or spec.tracking.get(kind)
        if value:
            found[kind] = value
    found.update({kind: target for kind, target in spec.tracking.items() if kind not in TRACKERS})
    return found


def _needs(module: str, kind: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise SetupError(f"{kind} tracking needs the {module} package: pip install 'hpo[tracking]'")


def check_targets(spec: "StudySpec") -> None:
    """Before a run touches storage: the tracking packages are installed, an MLflow server
    answers and a tracker of the user's own can be imported (a setup error otherwise, with
    nothing stored yet)."""
    for kind, target in targets(spec).items():
        if kind not in TRACKERS:
            plugins.load_factory(kind, what="tracker")
            continue
        tracker = TRACKERS[kind]
        _needs(tracker.package, tracker.label)
        if tracker.check is not None:
            tracker.check(target)


def open_trackers(spec: "StudySpec", study: "optuna.Study", warn: Callable[[str], None], *,
                  prepare: bool = False) -> "Trackers | None":
    """This process's trackers of ``study``, None when it tracks nothing. ``prepare`` (the
    process that starts a run: ``hpo run``, ``hpo worker NAME``) also checks the settings and
    creates what the workers find (the MLflow experiment and parent run). A tracker of the
    user's own (``tracking={"package.module:Name": target}``) is made by calling it with the
    target, and with ``study=``, ``spec=`` and ``prepare=`` when it takes them."""
    trackers: list[Tracker] = []
    for kind, target in targets(spec).items():
        if kind in TRACKERS:
            _needs(TRACKERS[kind].package, TRACKERS[kind].label)
            trackers.append(TRACKERS[kind].open(target, study, spec, prepare=prepare))
        else:
            trackers.append(plugins.make_from(kind, what="tracker", base=Tracker, base_name="an hpo.tracking.Tracker",
                                              options={"target": target},
                                              context={"study": study, "spec": spec, "prepare": prepare}))
    if prepare:
        for tracker in trackers:
            warn(f"tracking: {tracker.where()}")
    return Trackers(trackers, warn) if trackers else None


class Trackers:
    """The trackers of one process, each call guarded: a tracker that raises warns once per
    trial and is skipped for the rest of that trial (an MLflow server that went away must not
    cost a trial, nor a timeout per epoch)."""

    def __init__(self, trackers: list[Tracker], warn: Callable[[str], None]) -> None:
        self.trackers, self.warn = trackers, warn
        self._broken: set[tuple[int, int]] = set()  # (tracker's index, trial number)
        self._runs: dict[int, str] = {}  # trial number -> its run, from its start to its end

    def _each(self, number: int | None, call: Callable[[Tracker], None]) -> None:
        for index, tracker in enumerate(self.trackers):
            if number is not None and (index, number) in self._broken:
                continue
            try:
                call(tracker)
            except Exception as error:  # noqa: BLE001 - tracking is a view: the trial goes on (see the class)
                first_line = str(error).splitlines()[0] if str(error) else ""
                self.warn(f"warning: {tracker.name} tracking failed"
                          f"{'' if number is None else f' for trial {number}'}: {type(error).__name__}: "
                          f"{first_line}; training goes on")
                if number is not None:
                    self._broken.add((index, number))

    def trial_started(self, trial: "optuna.trial.BaseTrial", params: dict[str, Any]) -> None:
        self._start(trial_start(getattr(trial, "study", None), trial.number, trial.user_attrs, params))

    def _start(self, start: TrialStart) -> None:
        self._broken = {key for key in self._broken if key[1] != start.number}
        self._runs[start.number] = start.run
        self._each(start.number, lambda tracker: tracker.trial_started(start))

    def epoch_ended(self, number: int, epoch: int, logs: dict[str, float]) -> None:
        self._each(number, lambda tracker: tracker.epoch_ended(number, epoch, logs))

    def trial_finished(self, study: "optuna.Study", number: int) -> None:
        """Trial ``number`` ended in this process (storage holds its state); one that failed
        before it trained (a broken configuration) is started here first."""
        storage = study._storage
        trial = storage.get_trial(storage.get_trial_id_from_study_id_trial_number(study._study_id, number))
        if number not in self._runs:
            self._start(trial_start(study, number, trial.user_attrs, trial.params))
        attrs, run = trial.user_attrs, self._runs.pop(number)
        end = TrialEnd(number, trial.state.name, trial.values[0] if trial.values else None, trial.last_step, run,
                       attrs.get(records.FAIL_REASON), records.paused_at_epoch(attrs))
        self._each(number, lambda tracker: tracker.trial_finished(end))

    def model_kept(self, number: int, model: Any) -> None:
        self._each(number, lambda tracker: tracker.model_kept(number, model))

    def study_ended(self, budget_met: bool, chosen: int | None) -> None:
        """The run that started the study's trials here ends (its budget met, or not), with
        ``chosen`` the study's pick by :mod:`hpo._selection`'s rule."""
        self._each(None, lambda tracker: tracker.study_ended(budget_met, chosen))

    def close(self) -> None:
        self._each(None, lambda tracker: tracker.close())


def run_name(attrs: Mapping[str, Any], root: int) -> str:
    member = records.pbt_member(attrs)
    return f"member-{member}" if member is not None else f"trial-{root}"


def _stored_attrs(study: "optuna.Study", number: int) -> dict[str, Any] | None:
    storage = study._storage
    try:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
    except KeyError:
        return None
    return storage.get_trial_user_attrs(trial_id)


def _links(attrs: Mapping[str, Any]) -> dict[str, int]:
    links = {"retry_of": records.retry_of(attrs), "continues": records.continues(attrs),
             "pbt_parent": records.pbt_parent(attrs)}
    return {key: value for key, value in links.items() if value is not None}


def trial_start(study: "optuna.Study | None", number: int, attrs: Mapping[str, Any], params: dict[str, Any]) -> TrialStart:
    """What trackers are told when trial ``number`` starts training: its run is its chain's
    first trial's (:mod:`hpo.schedulers._chains`: retries and continuations go on from it)."""
    root, replaced_reason = number, None
    if study is not None:
        seen: set[int] = set()
        current: Mapping[str, Any] = attrs
        while True:
            parent = records.continues(current)
            parent = parent if parent is not None else records.retry_of(current)
            stored = _stored_attrs(study, parent) if parent is not None and parent not in seen else None
            if parent is None or stored is None:
                break
            seen.add(parent)
            root, current = parent, stored
        retried = records.retry_of(attrs)
        if retried is not None:
            stored = _stored_attrs(study, retried)
            replaced_reason = records.fail_reason(stored) if stored is not None else None
    return TrialStart(number, dict(params), run_name(attrs, root), _links(attrs), replaced_reason)
