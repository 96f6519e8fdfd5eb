"""Questions hpo asks the study's database before or after every trial, in a query or two each.

The one place hpo reads Optuna's private RDB models (``optuna.storages._rdb.models``).
Optuna's public answers load every trial (``study.get_trials``), which costs milliseconds per
trial on a study of a few hundred and grows with it; hpo asks these before or after every
trial. Measured with ``benchmarks/driver_overhead.py`` (200 trivial TPE trials on SQLite,
profiled): reading the best trial through ``get_trials`` for the progress line took 12 % of
the run, more than everything else hpo adds; one query here cost 0.3 ms. And Optuna's
``optimize(callbacks=...)`` reads the finished trial back in full (six queries: the trial and
five lazy-loaded relations) for the callbacks; :func:`finished_trial` reads what hpo's progress
line and failure guard need in one. On other storages (in-memory, journal) and for several
objectives these fall back to Optuna's public API.
"""

from __future__ import annotations

import collections
import datetime
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import hpo.records as records
from hpo._selection import chosen_in_study
from hpo.storage._database import rdb_storage
from hpo.storage._optuna_private import rdb_models, study_id, study_storage

if TYPE_CHECKING:
    from collections import Counter

    import optuna
    from optuna.trial import TrialState


def count_by_state(study: "optuna.Study") -> "Counter[TrialState]":
    """Trials per state: one GROUP BY in the database where it is one."""
    storage = rdb_storage(study)
    if storage is not None:
        models = rdb_models()
        from sqlalchemy import func, select

        query = (
            select(models.TrialModel.state, func.count())
            .where(models.TrialModel.study_id == study_id(study))
            .group_by(models.TrialModel.state)
        )
        return collections.Counter({state: count for state, count in _rows(storage, query)})
    return collections.Counter(t.state for t in study.get_trials(deepcopy=False))


def best_value(study: "optuna.Study") -> tuple[float, int] | None:
    """``(value, trial number)`` of a single-objective study's best complete trial, the
    earlier trial among equal values (as :func:`hpo._selection.chosen_trial`); None when no
    trial is complete."""
    from optuna.trial import TrialState

    storage = rdb_storage(study)
    if storage is None or len(study.directions) != 1:
        best = chosen_in_study(study)
        return (best.values[0], best.number) if best is not None and best.values else None
    models = rdb_models()
    from sqlalchemy import case, select

    stored = models.TrialValueModel
    kinds = stored.TrialValueType
    # Optuna stores infinite values as a type with a NULL value: rank them first.
    rank = case((stored.value_type == kinds.INF_NEG, -1), (stored.value_type == kinds.FINITE, 0), else_=1)
    maximize = study.directions[0].name == "MAXIMIZE"
    query = (
        select(stored.value_type, stored.value, models.TrialModel.number)
        .join(stored, stored.trial_id == models.TrialModel.trial_id)
        .where(models.TrialModel.study_id == study_id(study), models.TrialModel.state == TrialState.COMPLETE,
               stored.objective == 0)
        .order_by(*((rank.desc(), stored.value.desc()) if maximize else (rank.asc(), stored.value.asc())),
                  models.TrialModel.number.asc())
        .limit(1)
    )
    rows = _rows(storage, query)
    if not rows:
        return None
    kind, value, number = rows[0]
    return _stored_value(kind, value), int(number)


# The trial attributes the progress line shows (hpo.driver._progress).
SHOWN_IN_PROGRESS = (records.FAIL_REASON, records.PAUSED_AT_EPOCH, records.PBT_MEMBER, records.VALUE_SE,
                     records.CONFIRMS)


@dataclass(frozen=True)
class FinishedTrial:
    """What the progress line and the failure guard read of a trial that just ended (the
    attributes they use of Optuna's ``FrozenTrial``, under the same names), and the study's
    count of finished trials at that moment."""

    number: int
    state: "TrialState"
    values: list[float] | None
    duration: datetime.timedelta | None
    last_step: int | None
    user_attrs: dict[str, Any] = field(default_factory=dict)  # the SHOWN_IN_PROGRESS ones only
    finished_in_study: int | None = None  # complete or pruned trials, this one included

    @classmethod
    def of(cls, trial: "optuna.trial.FrozenTrial", finished_in_study: int | None = None) -> "FinishedTrial":
        return cls(trial.number, trial.state, trial.values, trial.duration, trial.last_step,
                   dict(trial.user_attrs), finished_in_study)


def finished_trial(study: "optuna.Study", trial_id: int) -> FinishedTrial:
    """The trial ``trial_id`` as :class:`FinishedTrial`, with the study's finished count: one
    query on a database, where Optuna's ``get_trial`` and a count take seven."""
    from optuna.trial import TrialState

    storage = rdb_storage(study)
    if storage is None:
        counts = count_by_state(study)
        return FinishedTrial.of(study_storage(study).get_trial(trial_id),
                                counts[TrialState.COMPLETE] + counts[TrialState.PRUNED])
    models = rdb_models()
    from sqlalchemy import func, select
    from sqlalchemy.orm import aliased

    trials, stored = models.TrialModel, models.TrialValueModel
    others = aliased(models.TrialModel)
    steps, attrs = models.TrialIntermediateValueModel, models.TrialUserAttributeModel
    finished = (select(func.count()).select_from(others)
                .where(others.study_id == trials.study_id,
                       others.state.in_([TrialState.COMPLETE, TrialState.PRUNED])).scalar_subquery())
    last_step = select(func.max(steps.step)).where(steps.trial_id == trials.trial_id).scalar_subquery()
    shown_attrs = [select(attrs.value_json).where(attrs.trial_id == trials.trial_id, attrs.key == key)
                   .scalar_subquery() for key in SHOWN_IN_PROGRESS]
    # Optuna 5 stores the times as naive UTC columns behind properties; a duration needs no zone.
    columns: list[Any] = [trials.number, trials.state, trials._datetime_start_utc, trials._datetime_complete_utc,
                          last_step, finished, *shown_attrs, stored.objective, stored.value, stored.value_type]
    query = (
        select(*columns)
        .outerjoin(stored, stored.trial_id == trials.trial_id)
        .where(trials.trial_id == trial_id)
        .order_by(stored.objective)
    )
    rows = _rows(storage, query)
    number, state, start, end, step, count = rows[0][:6]
    shown = {key: json.loads(value) for key, value in zip(SHOWN_IN_PROGRESS, rows[0][6:6 + len(SHOWN_IN_PROGRESS)])
             if value is not None}
    values = [_stored_value(kind, value) for *_, objective, value, kind in rows if objective is not None]
    return FinishedTrial(
        number=int(number), state=state, values=values or None,
        duration=end - start if start is not None and end is not None else None,
        last_step=None if step is None else int(step),
        user_attrs=shown,
        finished_in_study=int(count),
    )


def _rows(storage: "optuna.storages.RDBStorage", query: Any) -> list[Any]:
    """The rows of ``query``, read again while a database server is away
    (:func:`hpo.storage._outages.riding_out`)."""
    from sqlalchemy.orm import Session

    from hpo.storage._outages import riding_out

    def read() -> list[Any]:
        with Session(storage.engine) as session:
            return list(session.execute(query).all())

    return riding_out(read, what=getattr(storage, "shown", "the storage"))


def _stored_value(kind: Any, value: float | None) -> float:
    """A trial value as Optuna stores it: infinities as a type, with no value."""
    models = rdb_models()

    kinds = models.TrialValueModel.TrialValueType
    return -math.inf if kind == kinds.INF_NEG else math.inf if kind == kinds.INF_POS else float(value or 0.0)


def epochs_charged(study: "optuna.Study", *, excluding: int | None = None) -> int:
    """Epochs charged to the study's ``epoch_budget`` (the rule of
    :func:`hpo.schedulers._chains.epochs_charged`), leaving out trial id ``excluding``: one
    query on a database, where Optuna's API would load every trial with its curve."""
    from hpo.schedulers import epochs_charged as charged

    storage = rdb_storage(study)
    if storage is None:
        from hpo.storage._optuna_private import trial_id

        return charged(t for t in study.get_trials(deepcopy=False) if trial_id(t) != excluding)
    models = rdb_models()
    from optuna.trial import TrialState
    from sqlalchemy import and_, select

    trials, attrs = models.TrialModel, models.TrialUserAttributeModel
    query = (
        select(trials.state, attrs.value_json)
        .outerjoin(attrs, and_(attrs.trial_id == trials.trial_id, attrs.key == records.EPOCHS_RUN))
        .where(trials.study_id == study_id(study), trials.state != TrialState.WAITING)
    )
    if excluding is not None:
        query = query.where(trials.trial_id != excluding)
    rows = _rows(storage, query)
    total = 0
    for state, value_json in rows:
        run = json.loads(value_json) if value_json is not None else 0
        run = run if isinstance(run, int) and not isinstance(run, bool) else 0
        total += max(run, 1) if state == TrialState.RUNNING else run
    return total
