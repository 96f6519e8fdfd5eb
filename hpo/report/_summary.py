"""One summary record of a stored study (``hpo ls``, ``hpo show``, the report, the end of a run)."""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import hpo.records as records
from hpo._selection import chosen_trial, pareto_front
from hpo.errors import SetupError

if TYPE_CHECKING:
    import optuna

STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


def format_clock(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``; ``--:--`` for an unknown (infinite or NaN) time."""
    if not math.isfinite(seconds):
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@dataclasses.dataclass(frozen=True)
class StudySummary:
    """What hpo says about a study in a few lines, built once by :func:`summarize` from its
    trials: the rows of ``hpo ls``, ``hpo show`` (text and ``--json``), the report's summary
    and the end of ``hpo run`` all render this record, so they never disagree."""

    name: str
    directions: tuple[str, ...]  # "maximize"/"minimize", one per objective
    states: dict[str, int]  # trials per state, every state of STATES present
    best: "optuna.trial.FrozenTrial | None"  # the trial the study stands for (hpo._selection)
    pareto_front: tuple["optuna.trial.FrozenTrial", ...] | None  # multi-objective studies only
    settings: dict[str, Any] | None  # hpo's stored StudySpec; None for a study hpo did not make
    failures: tuple[tuple[int, str], ...]  # (number, reason) of the last 10 failed trials
    trial_seconds: float  # all trials' time, a running trial's until `taken_at`
    finished_seconds: tuple[float, ...]  # one per complete or pruned trial
    wall_seconds: float | None  # first start to last end; None before any trial started
    taken_at: datetime.datetime

    @property
    def n_trials(self) -> int:
        return sum(self.states.values())

    @property
    def n_finished(self) -> int:
        """Trials that count against the budget."""
        return self.states["COMPLETE"] + self.states["PRUNED"]

    @property
    def direction(self) -> str:
        return "/".join(self.directions)

    def row(self) -> dict[str, Any]:
        """``hpo ls --json``: one study."""
        return {
            "name": self.name,
            "direction": self.direction,
            "n_trials": self.n_trials,
            "states": dict(self.states),
            "best_value": self.best.values[0] if self.best else None,
            "best_trial": self.best.number if self.best else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """``hpo show --json``."""
        best = self.best
        return {
            "name": self.name,
            "direction": self.direction,
            "n_trials": self.n_trials,
            "states": dict(self.states),
            "settings": self.settings,
            "best": None if best is None else {
                "number": best.number,
                "value": best.values[0],
                "values": list(best.values),
                "params": best.params,
                "user_attrs": records.compact(best.user_attrs),
                "intermediate_values": {str(k): v for k, v in sorted(best.intermediate_values.items())},
            },
            "total_trial_seconds": self.trial_seconds,
            "pareto_front": None if self.pareto_front is None else [
                {"number": t.number, "values": list(t.values), "params": t.params} for t in self.pareto_front
            ],
            "failures": [{"number": number, "reason": reason} for number, reason in self.failures],
        }


def trial_seconds(trial: "optuna.trial.FrozenTrial", now: datetime.datetime) -> float | None:
    """A trial's time: start to end, a running trial's until ``now``; None before it started."""
    if trial.datetime_start is None:
        return None
    end = trial.datetime_complete or (now if trial.state.name == "RUNNING" else None)
    return None if end is None else (end - trial.datetime_start).total_seconds()


def summarize(name: str, trials: Sequence["optuna.trial.FrozenTrial"], directions: Sequence[object],
              settings: dict[str, Any] | None, *, now: datetime.datetime | None = None) -> StudySummary:
    """The summary of a study's trials (``directions`` as Optuna's enum or hpo's strings)."""
    now = now or datetime.datetime.now()
    counted = Counter(trial.state.name for trial in trials)
    names = tuple(str(getattr(d, "name", d)).lower() for d in directions)
    multi = len(names) > 1

    timed = [(t, d) for t in trials if (d := trial_seconds(t, now)) is not None]
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete] or [now]
    return StudySummary(
        name=name,
        directions=names,
        states={state: counted.get(state, 0) for state in STATES},
        best=chosen_trial(trials, names, records.pick_within(settings)),
        pareto_front=tuple(pareto_front(trials, names)) if multi else None,
        settings=settings,
        failures=tuple((t.number, records.fail_reason(t.user_attrs)) for t in trials if t.state.name == "FAIL")[-10:],
        trial_seconds=sum(d for _, d in timed),
        finished_seconds=tuple(d for t, d in timed if t.state.name in ("COMPLETE", "PRUNED")),
        wall_seconds=(max(ends) - min(starts)).total_seconds() if starts else None,
        taken_at=now,
    )


def summarize_study(study: "optuna.Study") -> StudySummary:
    """:func:`summarize` of a stored study."""
    return summarize(study.study_name, study.get_trials(deepcopy=False), study.directions,
                     records.spec_dict(study.user_attrs))


def load_summary(storage: "optuna.storages.BaseStorage", name: str) -> StudySummary:
    """The summary of study ``name``; :class:`SetupError` when there is none."""
    import optuna

    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise SetupError(f"no study named {name!r} in this storage (see `hpo ls`)") from None
    return summarize_study(study)


def list_studies(storage: "optuna.storages.BaseStorage") -> list[dict[str, Any]]:
    """``hpo ls``: one row per study (name, direction, trial counts per state, best value)."""
    import optuna

    return [load_summary(storage, name).row() for name in optuna.get_all_study_names(storage)]


def describe_study(storage: "optuna.storages.BaseStorage", name: str) -> dict[str, Any]:
    """``hpo show --json``: counts, the best trial and its parameters, the stored hpo settings,
    recent failures."""
    return load_summary(storage, name).to_dict()
