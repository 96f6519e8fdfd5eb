"""Where studies live: the database (:func:`open_storage`, :func:`resolve_url`,
:func:`mask_url`), the few reads Optuna's API lacks, Optuna's private names in one place, a
study's local files (:class:`StudyFiles`), epoch checkpoints (:class:`TrialCheckpoint`),
Optuna's artifact store shared by hosts, and storage calls that wait out an outage
(:func:`riding_out`).
"""

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports

if TYPE_CHECKING:
    from hpo.storage._artifacts import open_mirror, resolve_uri
    from hpo.storage._checkpoints import DISK_FULL, CheckpointState, TrialCheckpoint
    from hpo.storage._database import (
        SERVER_BACKENDS,
        DatabaseLock,
        Heartbeat,
        mask_url,
        open_storage,
        rdb_storage,
        resolve_url,
        runtime_dir,
    )
    from hpo.storage._optuna_private import (
        set_finished_trial_user_attr,
        stale_trial_ids,
        study_id,
        study_storage,
        trial_id,
    )
    from hpo.storage._outages import given_up, riding_out
    from hpo.storage._queries import FinishedTrial, best_value, count_by_state, epochs_charged, finished_trial
    from hpo.storage._study_files import (
        StudyFiles,
        host_name,
        process_is_dead,
        storage_lock,
        storage_lock_for,
    )

__all__ = [
    "CheckpointState", "DISK_FULL", "DatabaseLock", "FinishedTrial", "Heartbeat", "SERVER_BACKENDS",
    "StudyFiles", "TrialCheckpoint", "best_value", "count_by_state", "epochs_charged", "finished_trial",
    "given_up", "host_name", "mask_url", "open_mirror", "open_storage", "process_is_dead", "rdb_storage",
    "resolve_uri", "resolve_url", "riding_out", "runtime_dir", "set_finished_trial_user_attr",
    "stale_trial_ids", "storage_lock", "storage_lock_for", "study_id", "study_storage", "trial_id",
]

_EXPORTS = {
    "hpo.storage._artifacts": ("open_mirror", "resolve_uri"),
    "hpo.storage._checkpoints": ("CheckpointState", "DISK_FULL", "TrialCheckpoint"),
    "hpo.storage._database": (
        "DatabaseLock", "Heartbeat", "SERVER_BACKENDS", "mask_url", "open_storage", "rdb_storage",
        "resolve_url", "runtime_dir",
    ),
    "hpo.storage._optuna_private": (
        "set_finished_trial_user_attr", "stale_trial_ids", "study_id", "study_storage", "trial_id",
    ),
    "hpo.storage._outages": ("given_up", "riding_out"),
    "hpo.storage._queries": (
        "FinishedTrial", "best_value", "count_by_state", "epochs_charged", "finished_trial",
    ),
    "hpo.storage._study_files": (
        "StudyFiles", "host_name", "process_is_dead", "storage_lock", "storage_lock_for",
    ),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
