import datetime
import sqlite3
import types

import optuna
import pytest
from optuna.storages import RDBStorage
from optuna.trial import TrialState
from sqlalchemy.exc import IntegrityError, OperationalError

import hpo.storage._outages as outages
from hpo.errors import StorageError
from hpo.storage._database import Heartbeat, open_storage
from hpo.storage._outages import OutageAwareStorage, is_lost_connection, may_judge_heartbeats, riding_out


class ServerGone(Exception):
    """What a server's driver raises (psycopg2.OperationalError, say): not sqlite3's."""


def lost(message="server closed the connection unexpectedly"):
    return OperationalError("SELECT 1", {}, ServerGone(message))


@pytest.fixture(autouse=True)
def no_outage_seen(monkeypatch):
    outages.forget_outages()
    waits = []
    monkeypatch.setattr(outages.time, "sleep", waits.append)
    yield waits
    outages.forget_outages()


def test_lost_connections_and_full_disks_are_waited_out_and_refusals_are_not():
    assert is_lost_connection(lost())
    try:  # Optuna wraps the driver's error in its own on commit
        try:
            raise lost()
        except OperationalError as error:
            raise optuna.exceptions.StorageInternalError("An exception is raised during the commit") from error
    except optuna.exceptions.StorageInternalError as wrapped:
        assert is_lost_connection(wrapped)
    assert is_lost_connection(OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full")))
    assert not is_lost_connection(OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")))
    assert not is_lost_connection(IntegrityError("INSERT", {}, ServerGone("duplicate key")))
    assert not is_lost_connection(ValueError("no"))


def test_a_call_is_made_again_with_a_growing_wait_and_the_outage_is_said_once(no_outage_seen, capsys):
    failures = [lost(), lost(), lost()]

    def call():
        if failures:
            raise failures.pop()
        return "done"

    assert riding_out(call, what="the storage X") == "done"
    assert no_outage_seen == [0.5, 1.0, 2.0]
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("hpo: the storage X failed (server closed the connection unexpectedly); waiting up to 600 s")
    assert lines[1].startswith("hpo: the storage X is back after")


def test_the_wait_is_bounded_and_other_errors_are_raised_at_once(monkeypatch, no_outage_seen):
    monkeypatch.setenv("HPO_STORAGE_PATIENCE", "0")

    def down():
        raise lost("connection refused")

    with pytest.raises(StorageError, match=r"the storage X unreachable for \d+ s, giving up \(HPO_STORAGE_PATIENCE\): "
                                           r"connection refused"):
        riding_out(down, what="the storage X")
    with pytest.raises(StorageError, match="giving up"):  # the next call does not wait again
        riding_out(down, what="the storage X")
    # Optuna's heartbeat thread ends quietly then (a traceback of a thread is no one-line error).
    monkeypatch.setattr(RDBStorage, "record_heartbeat", lambda self, trial_id: down())
    OutageAwareStorage.record_heartbeat(types.SimpleNamespace(shown="the storage X"), 0)
    assert no_outage_seen == [0.5]  # one wait in all, by the first call
    with pytest.raises(ValueError):
        riding_out(lambda: int("x"))
    outages.forget_outages()
    monkeypatch.setenv("HPO_STORAGE_PATIENCE", "soon")
    with pytest.raises(StorageError, match="HPO_STORAGE_PATIENCE='soon' is not a number"):
        riding_out(down)
    with pytest.raises(StorageError, match="HPO_STORAGE_PATIENCE='soon' is not a number"):
        open_storage("sqlite://")  # said before anything is opened


def test_heartbeats_are_not_judged_during_an_outage_nor_for_a_grace_period_after_it(monkeypatch):
    assert may_judge_heartbeats(40)
    judged, failures = [], [lost()]

    def call():
        if failures:
            raise failures.pop()
        judged.append(may_judge_heartbeats(40))  # while this very call is waited for

    riding_out(call)
    assert judged == [False]
    assert not may_judge_heartbeats(40)
    recovered = outages._last_recovery
    monkeypatch.setattr(outages.time, "monotonic", lambda: recovered + 41)
    assert may_judge_heartbeats(40)


def test_every_storage_is_outage_aware_and_a_stale_trial_waits_out_the_grace_after_an_outage(sqlite_url):
    storage = open_storage(sqlite_url, heartbeat=Heartbeat(interval=1, grace_period=5))
    assert isinstance(storage, OutageAwareStorage) and storage.shown.startswith("the storage sqlite:///")
    study = optuna.create_study(storage=storage, study_name="s")
    trial = study.ask()
    storage.record_heartbeat(trial._trial_id)
    with storage.engine.begin() as connection:  # its worker went silent a minute ago
        connection.exec_driver_sql("UPDATE trial_heartbeats SET heartbeat = ?",
                                   (datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
                                    - datetime.timedelta(seconds=60),))
    assert storage._get_stale_trial_ids(study._study_id) == [trial._trial_id]
    riding_out(_fails_once())  # this process just saw an outage end
    assert storage._get_stale_trial_ids(study._study_id) == []


def _fails_once():
    failures = [lost()]

    def call():
        if failures:
            raise failures.pop()

    return call


def test_a_final_state_whose_commit_landed_before_the_connection_dropped_counts_as_written(sqlite_url, monkeypatch):
    storage = open_storage(sqlite_url)
    study = optuna.create_study(storage=storage, study_name="s")
    trial = study.ask()
    real = RDBStorage.set_trial_state_values
    calls = []

    def commit_then_drop(self, trial_id, state, values=None):
        calls.append(state)
        if len(calls) == 1:
            real(self, trial_id, state, values)
            raise lost()
        return real(self, trial_id, state, values)

    monkeypatch.setattr(RDBStorage, "set_trial_state_values", commit_then_drop)
    assert storage.set_trial_state_values(trial._trial_id, TrialState.COMPLETE, [1.0])
    assert calls == [TrialState.COMPLETE, TrialState.COMPLETE]
    assert storage.get_trial(trial._trial_id).state == TrialState.COMPLETE
    # A trial another process finished is still refused.
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)


def test_every_call_of_rdbstorage_that_opens_a_session_waits_out_outages():
    # Optuna's caching layer calls private ones too (_get_trials while a sampler suggests):
    # a call left out fails the trial in flight when its server restarts.
    import inspect

    opening = {name for name, method in inspect.getmembers(RDBStorage, inspect.isfunction)
               if "_create_scoped_session(" in inspect.getsource(method)}
    assert opening and opening <= set(outages._RIDDEN_OUT) | set(OutageAwareStorage.__dict__)
    assert {"_get_trials", "_set_trial_param", "_create_new_trial", "record_heartbeat"} <= opening
