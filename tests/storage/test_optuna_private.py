"""Optuna's private names, checked against the real thing (an SQLite RDBStorage)."""

import datetime

import optuna
import pytest
from optuna.storages import RDBStorage

from hpo.storage._optuna_private import rdb_models, stale_trial_ids, study_id, study_storage, trial_id, unwrapped_storage


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


def test_a_finished_trials_user_attribute_is_written_where_optuna_refuses(sqlite_url):
    from hpo.storage._database import open_storage
    from hpo.storage._optuna_private import set_finished_trial_user_attr, trial_id

    study = optuna.create_study(study_name="done", storage=open_storage(sqlite_url))
    study.optimize(lambda trial: 1.0, n_trials=1)
    finished = study.trials[0]
    with pytest.raises(RuntimeError):  # what Optuna says
        study._storage.set_trial_user_attr(trial_id(finished), "promoted_to", 5)
    set_finished_trial_user_attr(study._storage, trial_id(finished), "promoted_to", 5)
    set_finished_trial_user_attr(study._storage, trial_id(finished), "promoted_to", 6)  # replaced, not duplicated
    assert optuna.load_study(study_name="done", storage=sqlite_url).trials[0].user_attrs == {"promoted_to": 6}
    assert study.trials[0].user_attrs == {"promoted_to": 6}  # this process's cache too

    memory = optuna.create_study()
    memory.optimize(lambda trial: 1.0, n_trials=1)
    set_finished_trial_user_attr(memory._storage, trial_id(memory.trials[0]), "promoted_to", 2)
    assert memory.trials[0].user_attrs == {"promoted_to": 2}
