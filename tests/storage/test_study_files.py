"""Local files of a study: running markers, budget reservations, kept models, locks."""

import socket
import subprocess
import sys

import pytest

from hpo.storage._study_files import StudyFiles, process_is_dead, storage_lock


def _dead_pid():
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


@pytest.mark.slow
def test_only_a_process_of_this_host_that_is_gone_counts_as_dead():
    host = socket.gethostname()
    assert process_is_dead(f"{host}:{_dead_pid()}")
    assert not process_is_dead(f"{host}:1")  # alive (init), even if not ours
    assert not process_is_dead("another-host:12345")  # only its heartbeat can tell
    assert not process_is_dead("garbage")


@pytest.mark.slow
def test_running_markers_name_the_worker_and_reveal_dead_ones(sqlite_url):
    files = StudyFiles(sqlite_url, "s")
    assert files.running_workers() == {} and not files.has_dead_worker()
    files.mark_running(7)
    assert files.running_workers() == {7: files.worker} and not files.has_dead_worker()
    (files.root / "running" / "8").write_text(f"{socket.gethostname()}:{_dead_pid()}")
    assert files.has_dead_worker()
    files.clear_running(7)
    files.clear_running(7)  # twice is fine
    assert sorted(files.running_workers()) == [8]


_TRY_LOCK = """
import fcntl, sys
with open(sys.argv[1], "a") as handle:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(1)
"""


def _free_for_another_process(path):
    return subprocess.run([sys.executable, "-c", _TRY_LOCK, str(path)]).returncode == 0


@pytest.mark.slow
def test_the_slot_lock_excludes_other_processes_until_released(sqlite_url):
    slot = StudyFiles(sqlite_url, "s").slot_lock()
    slot.acquire()
    slot.acquire()  # held already: no deadlock with itself
    assert not _free_for_another_process(slot.path)
    slot.release()
    slot.release()  # idempotent: the loop releases after the trial in any case
    assert _free_for_another_process(slot.path)


def test_studies_have_separate_directories_per_storage_and_name(tmp_path):
    a = StudyFiles(f"sqlite:///{tmp_path}/a.db", "s")
    b = StudyFiles(f"sqlite:///{tmp_path}/b.db", "s")
    c = StudyFiles(f"sqlite:///{tmp_path}/a.db", "t")
    assert len({a.root, b.root, c.root}) == 3
    assert a.models == b.models  # models are found by study name
    assert a.checkpoint(3).directory != a.checkpoint(4).directory


def test_kept_models_are_listed_and_dropped_by_trial_number(sqlite_url):
    files = StudyFiles(sqlite_url, "s")
    files.models.mkdir(parents=True)
    for number in (2, 5):
        files.model_path(number).write_bytes(b"model")
    (files.models / "best.keras").write_bytes(b"not a trial's")
    assert sorted(files.kept_models()) == [2, 5]
    files.drop_models([2])
    assert sorted(files.kept_models()) == [5] and (files.models / "best.keras").exists()


def test_the_storage_lock_of_a_sqlite_file_sits_beside_it(tmp_path):
    with storage_lock(f"sqlite:///{tmp_path}/x.db"):
        assert (tmp_path / "x.db.hpo-lock").exists()
    with storage_lock("postgresql://u:p@db/x"):
        pass
    with storage_lock("not a url"):
        pass
