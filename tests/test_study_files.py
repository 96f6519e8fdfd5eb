"""Local files of a study: running markers, budget reservations, kept models, locks."""

import socket
import subprocess
import sys

from hpo.study_files import StudyFiles, process_is_dead, storage_lock


def _dead_pid():
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_only_a_process_of_this_host_that_is_gone_counts_as_dead():
    host = socket.gethostname()
    assert process_is_dead(f"{host}:{_dead_pid()}")
    assert not process_is_dead(f"{host}:1")  # alive (init), even if not ours
    assert not process_is_dead("another-host:12345")  # only its heartbeat can tell
    assert not process_is_dead("garbage")


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


def test_reservations_of_other_live_workers_count_and_dead_ones_are_dropped(sqlite_url):
    files = StudyFiles(sqlite_url, "s")
    files.reserve()
    assert files.live_reservations() == 0  # our own is not another worker's
    reservations = files.root / "reserved"
    (reservations / "other").write_text(f"{socket.gethostname()}:1")
    (reservations / "dead").write_text(f"{socket.gethostname()}:{_dead_pid()}")
    assert files.live_reservations() == 1
    assert not (reservations / "dead").exists()
    files.release()
    files.release()


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
