"""Optuna's private names, checked against the real thing (an SQLite RDBStorage)."""

import datetime

import optuna
from optuna.storages import RDBStorage

from hpo.storage.optuna_private import rdb_models, stale_trial_ids, study_id, study_storage, trial_id, unwrapped_storage


def test_the_study_and_trial_ids_are_the_storage_keys(sqlite_url):
    study = optuna.create_study(storage=sqlite_url, study_name="s")
    trial = study.ask()
    storage = study_storage(study)
    assert storage.get_study_id_from_name("s") == study_id(study)
    assert storage.get_trial(trial_id(trial)).number == trial.number == 0
    frozen = study.trials[0]
    assert trial_id(frozen) == trial_id(trial)
    assert isinstance(unwrapped_storage(study), RDBStorage)


def test_stale_trials_are_the_running_ones_without_a_recent_heartbeat(sqlite_url):
    storage = RDBStorage(sqlite_url, heartbeat_interval=1, grace_period=1)
    study = optuna.create_study(storage=storage, study_name="s")
    running = study.ask()
    storage.record_heartbeat(trial_id(running))
    assert stale_trial_ids(storage, study_id(study)) == set()
    with storage.scoped_session() as session:  # its last heartbeat a minute ago
        beat = session.query(rdb_models().TrialHeartbeatModel).one()
        beat.heartbeat -= datetime.timedelta(minutes=1)
        session.commit()
    assert stale_trial_ids(storage, study_id(study)) == {trial_id(running)}


def test_storages_without_heartbeats_have_no_stale_trials():
    study = optuna.create_study()
    study.ask()
    assert stale_trial_ids(study_storage(study), study_id(study)) == set()
