"""Questions hpo asks the study's database before or after every trial, in one query each.

The one place hpo reads Optuna's private RDB models (``optuna.storages._rdb.models``).
Optuna's public answers load every trial (``study.get_trials``), which costs milliseconds per
trial on a study of a few hundred and grows with it; hpo asks these before or after every
trial. Measured with ``benchmarks/driver_overhead.py`` (200 trivial TPE trials on SQLite,
profiled): reading the best trial through ``get_trials`` for the progress line took 12 % of
the run, more than everything else hpo adds; one query here cost 0.3 ms. On other storages
(in-memory, journal) and for several objectives they fall back to Optuna's public API.
"""

from __future__ import annotations

import collections
import math
from typing import TYPE_CHECKING

from hpo.selection import chosen_in_study
from hpo.storage import rdb_storage

if TYPE_CHECKING:
    from collections import Counter

    import optuna
    from optuna.trial import TrialState


def count_by_state(study: "optuna.Study") -> "Counter[TrialState]":
    """Trials per state: one GROUP BY in the database where it is one."""
    storage = rdb_storage(study)
    if storage is not None:
        from optuna.storages._rdb import models
        from sqlalchemy import func, select
        from sqlalchemy.orm import Session

        query = (
            select(models.TrialModel.state, func.count())
            .where(models.TrialModel.study_id == study._study_id)
            .group_by(models.TrialModel.state)
        )
        with Session(storage.engine) as session:
            rows = session.execute(query).all()
            return collections.Counter({state: count for state, count in rows})
    return collections.Counter(t.state for t in study.get_trials(deepcopy=False))


def best_value(study: "optuna.Study") -> tuple[float, int] | None:
    """``(value, trial number)`` of a single-objective study's best complete trial, the
    earlier trial among equal values (as :func:`hpo.selection.chosen_trial`); None when no
    trial is complete."""
    from optuna.trial import TrialState

    storage = rdb_storage(study)
    if storage is None or len(study.directions) != 1:
        best = chosen_in_study(study)
        return (best.values[0], best.number) if best is not None and best.values else None
    from optuna.storages._rdb import models
    from sqlalchemy import case, select
    from sqlalchemy.orm import Session

    stored = models.TrialValueModel
    kinds = stored.TrialValueType
    # Optuna stores infinite values as a type with a NULL value: rank them first.
    rank = case((stored.value_type == kinds.INF_NEG, -1), (stored.value_type == kinds.FINITE, 0), else_=1)
    maximize = study.directions[0].name == "MAXIMIZE"
    query = (
        select(stored.value_type, stored.value, models.TrialModel.number)
        .join(stored, stored.trial_id == models.TrialModel.trial_id)
        .where(models.TrialModel.study_id == study._study_id, models.TrialModel.state == TrialState.COMPLETE,
               stored.objective == 0)
        .order_by(*((rank.desc(), stored.value.desc()) if maximize else (rank.asc(), stored.value.asc())),
                  models.TrialModel.number.asc())
        .limit(1)
    )
    with Session(storage.engine) as session:
        row = session.execute(query).first()
    if row is None:
        return None
    kind, value, number = row
    infinite = {kinds.INF_NEG: -math.inf, kinds.INF_POS: math.inf}
    return (infinite[kind] if kind in infinite else float(value)), int(number)
