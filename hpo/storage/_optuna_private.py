"""Every private name of Optuna hpo uses, in one place, each with why (Optuna 5.x).

When Optuna renames one of them, this module is the one to change; the tests of
:mod:`hpo.storage._queries` and :mod:`hpo.driver._recovery` run against the real thing.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from optuna.artifacts._protocol import ArtifactStore as ArtifactStore  # no public home for the protocol

__all__ = ["ArtifactStore", "rdb_models", "set_finished_trial_user_attr", "stale_trial_ids", "study_id",
           "study_storage", "trial_id", "unwrapped_storage"]


def study_storage(study: "optuna.Study") -> "optuna.storages.BaseStorage":
    """The storage a study object talks to. ``Study`` has no public accessor; hpo needs it to
    load a second study from the same connection (warm start, resume) and for the artifact store."""
    return study._storage


def unwrapped_storage(study: "optuna.Study") -> "optuna.storages.BaseStorage":
    """The storage under Optuna's private caching layer (``_CachedStorage._backend``), which is
    where an ``RDBStorage`` and its engine live."""
    storage = study._storage
    return getattr(storage, "_backend", storage)


def study_id(study: "optuna.Study") -> int:
    """The study's row id: the key of hpo's advisory lock and of the queries in
    :mod:`hpo.storage._queries`. ``Study`` does not expose it."""
    return study._study_id


def trial_id(trial: "optuna.trial.Trial | optuna.trial.FrozenTrial") -> int:
    """A trial's storage id, unique across studies (trial numbers are per study): the key of
    the running-trial markers and of the artifact store's links. Neither trial class exposes it."""
    return trial._trial_id


def stale_trial_ids(storage: "optuna.storages.BaseStorage", study: int) -> set[int]:
    """The RUNNING trials whose heartbeat is older than the grace period. Optuna's own
    ``fail_stale_trials`` reads the same private helper, but fails them at once; hpo first
    decides which are retried from their checkpoints. Empty for storages without heartbeats."""
    finder = getattr(storage, "_get_stale_trial_ids", None)
    return set(finder(study)) if finder is not None else set()


def rdb_models() -> Any:
    """``optuna.storages._rdb.models``, the SQLAlchemy tables of ``RDBStorage``: one ordered
    query for the best value, one for a finished trial, where Optuna's API loads every trial or
    re-reads the whole trial with its relations (measurements in :mod:`hpo.storage._queries`)."""
    from optuna.storages._rdb import models

    return models


def set_finished_trial_user_attr(storage: "optuna.storages.BaseStorage", trial: int, key: str, value: Any) -> None:
    """Write a user attribute of a *finished* trial, which Optuna's ``set_trial_user_attr``
    refuses (``check_trial_is_updatable``): the attribute row is written into ``RDBStorage``'s
    table directly, or into ``InMemoryStorage``'s trial. Processes that cached the finished
    trial (Optuna's ``_CachedStorage``) do not see it; a process that loads the study does.
    Used for ``promoted_to`` only (:mod:`hpo.driver._scheduling`), which nothing hpo decides reads."""
    import json

    backend = getattr(storage, "_backend", storage)
    engine = getattr(backend, "engine", None)
    if engine is None:
        found = getattr(backend, "_get_trial", None)
        if found is not None:  # InMemoryStorage: its FrozenTrial is the stored one
            found(trial).user_attrs[key] = value
        return
    from sqlalchemy import delete, insert
    from sqlalchemy.orm import Session

    table = rdb_models().TrialUserAttributeModel
    with Session(engine) as session, session.begin():
        session.execute(delete(table).where(table.trial_id == trial, table.key == key))
        session.execute(insert(table).values(trial_id=trial, key=key, value_json=json.dumps(value)))
    cached = getattr(storage, "_backend", None) is not None
    if cached:  # this process's own cache of the trial, if it holds one
        with contextlib.suppress(Exception):
            storage.get_trial(trial).user_attrs[key] = value
