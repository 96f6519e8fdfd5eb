"""The files one study keeps on this machine, beside its storage.

Storage holds what every worker on every host must agree on (trials, values, attributes).
Everything here is local and disposable: which process runs which trial, budget
reservations, per-trial epoch checkpoints and the best trial's saved model. Losing it costs at
most the epochs of the trials that were running; nothing in storage depends on it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import socket
from pathlib import Path
from typing import IO, TYPE_CHECKING, Iterable, Iterator

from hpo._environment import HOST_ENV
from hpo.storage._checkpoints import TrialCheckpoint
from hpo.storage._database import rdb_storage, runtime_dir, server_lock, sqlite_path

if TYPE_CHECKING:
    import optuna

    from hpo.storage._artifacts import CheckpointMirror


# Overrides the host name hpo tells its own workers from other hosts' by (tests simulate
# hosts with it, each with its own HPO_HOME).


def host_name() -> str:
    """This host's name for hpo: ``HPO_HOST``, else the machine's host name."""
    return os.environ.get(HOST_ENV) or socket.gethostname()


def worker_id() -> str:
    """``host:pid`` of this process."""
    return f"{host_name()}:{os.getpid()}"


def process_is_dead(worker: str) -> bool:
    """True only when ``worker`` (``host:pid``) ran on this host and its process is gone."""
    host, _, pid_text = worker.rpartition(":")
    if host != host_name() or not pid_text.isdigit():
        return False  # another machine: only its heartbeat can tell
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, owned by someone else
    return False


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:60]


class HeldLock:
    """An exclusive lock between processes of this host, released when its holder dies.

    Acquired and released by separate calls (``release`` is idempotent), for a lock that
    spans code the caller does not own, such as Optuna's ``ask`` inside ``optimize``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        if self._handle is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a")
        fcntl.flock(handle, fcntl.LOCK_EX)
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def __enter__(self) -> "HeldLock":
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def file_lock(path: Path) -> HeldLock:
    """``with file_lock(path):`` holds an exclusive lock of this host for the block."""
    return HeldLock(path)


@contextlib.contextmanager
def storage_lock(storage_url: str) -> Iterator[None]:
    """Serialises creating tables and studies in one storage, and recovering its dead trials.

    Several processes creating a new SQLite file at the same moment race on its schema
    (optuna/optuna#1092); on PostgreSQL, 8 processes creating Optuna's tables at once failed
    with a duplicate ``pg_type`` key (benchmarks/storage_throughput.py). On a database server
    the lock is the server's (:func:`hpo.storage._database.server_lock`), shared by every host. Otherwise
    it sits beside the SQLite file, so every process that opens that file finds the same lock
    whatever its working directory or ``HPO_HOME``.
    """
    held = server_lock(storage_url, "hpo-storage")
    if held is not None:
        try:
            yield
        finally:
            held.release()
        return
    try:
        path = sqlite_path(storage_url)
    except Exception:  # noqa: BLE001 - an invalid URL: open_storage reports it, under any lock
        path = None
    if path is not None:
        lock = path.with_name(path.name + ".hpo-lock")
    else:
        key = hashlib.sha1(storage_url.encode()).hexdigest()[:16]
        lock = runtime_dir() / "locks" / f"{key}.lock"
    with file_lock(lock):
        yield


def storage_lock_for(study: "optuna.Study") -> contextlib.AbstractContextManager[object]:
    """:func:`storage_lock` of the study's database (none needed for in-memory storage)."""
    storage = rdb_storage(study)
    return storage_lock(storage.url) if storage is not None else contextlib.nullcontext()


class StudyFiles:
    """Local files of study ``study_name`` stored at ``storage_url``; with a ``mirror``
    (:mod:`hpo.storage._artifacts`), checkpoints and kept models are uploaded too."""

    def __init__(self, storage_url: str, study_name: str, *, mirror: "CheckpointMirror | None" = None) -> None:
        key = hashlib.sha1(f"{storage_url}\0{study_name}".encode()).hexdigest()[:10]
        self.root = runtime_dir() / "studies" / f"{_safe(study_name)}-{key}"
        self.models = runtime_dir() / "models" / _safe(study_name)
        self.worker = worker_id()
        self.mirror = mirror

    # Which process runs which trial -----------------------------------------------------------
    # A file rather than a trial attribute: a database write per trial costs milliseconds on
    # SQLite, a file microseconds. A file left behind by a dead process of this host proves its
    # trial an orphan at once, where the heartbeat would take its grace period.
    @property
    def _running(self) -> Path:
        return self.root / "running"

    def mark_running(self, trial_id: int) -> None:
        self._running.mkdir(parents=True, exist_ok=True)
        (self._running / str(trial_id)).write_text(self.worker)

    def clear_running(self, trial_id: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self._running / str(trial_id)).unlink()

    def running_workers(self) -> dict[int, str]:
        """``{trial id: host:pid}`` of trials started on this host and not yet ended."""
        return {int(name): worker for name, worker in self._read_dir(self._running) if name.isdigit()}

    def has_dead_worker(self) -> bool:
        """Cheap check (no storage access) for trials orphaned by a dead local process."""
        return any(process_is_dead(worker) for _, worker in self._read_dir(self._running))

    # The slot lock ------------------------------------------------------------------------------
    def slot_lock(self) -> "HeldLock":
        """Held by a worker from counting the budget until its new trial is RUNNING in storage.

        So N workers of this host never start more trials than the budget has left, and never
        take the same enqueued trial: on SQLite, Optuna's "SELECT ... FOR UPDATE" when it pops
        a waiting trial locks nothing, and two processes can both run it.
        """
        return HeldLock(self.root / "slot.lock")

    # Epoch checkpoints and kept models ------------------------------------------------------------
    def checkpoint(self, trial_number: int) -> TrialCheckpoint:
        directory = self.root / "checkpoints" / f"trial-{trial_number}"
        if self.mirror is not None:
            from hpo.storage._artifacts import MirroredCheckpoint

            return MirroredCheckpoint(directory, self.mirror, trial_number)
        return TrialCheckpoint(directory)

    def take_over(self, dead_number: int, retry: TrialCheckpoint) -> None:
        """Hand trial ``dead_number``'s checkpoint to its retry's (from any host's upload when
        there is an artifact store)."""
        dead = self.checkpoint(dead_number)
        if self.mirror is not None:
            from hpo.storage._artifacts import MirroredCheckpoint

            if isinstance(retry, MirroredCheckpoint):
                retry.take_over(dead)
                return
        dead.move_to(retry)

    def copy_checkpoint(self, source_number: int, target: TrialCheckpoint) -> None:
        """Give ``target`` a copy of trial ``source_number``'s checkpoint (a PBT segment starting
        from another's), from any host's upload when there is an artifact store."""
        source = self.checkpoint(source_number)
        if self.mirror is not None:
            from hpo.storage._artifacts import MirroredCheckpoint

            if isinstance(target, MirroredCheckpoint):
                target.copy_from(source)
                return
        source.copy_to(target)

    def checkpoint_bytes(self) -> int:
        """What this host's epoch checkpoints take on disk now."""
        directory = self.root / "checkpoints"
        total = 0
        for path in directory.rglob("*") if directory.is_dir() else ():
            with contextlib.suppress(OSError):
                total += path.stat().st_size if path.is_file() else 0
        return total

    def checkpointed_trials(self) -> list[int]:
        directory = self.root / "checkpoints"
        if not directory.is_dir():
            return []
        return sorted(int(p.name[6:]) for p in directory.iterdir() if p.name[6:].isdigit())

    def model_path(self, trial_number: int) -> Path:
        """Where the best epoch's model of a best trial is kept (seed 003's save_best_only)."""
        return self.models / f"trial-{trial_number}.keras"

    def kept_models(self) -> dict[int, Path]:
        if not self.models.is_dir():
            return {}
        found = {}
        for path in self.models.glob("trial-*.keras"):
            number = path.name[len("trial-"):-len(".keras")]
            if number.isdigit():
                found[int(number)] = path
        return found

    def drop_models(self, numbers: Iterable[int]) -> None:
        for number in numbers:
            with contextlib.suppress(FileNotFoundError):
                self.model_path(number).unlink()
            if self.mirror is not None:
                self.mirror.remove_model(number)

    @staticmethod
    def _read_dir(directory: Path) -> list[tuple[str, str]]:
        if not directory.is_dir():
            return []
        found = []
        for path in directory.iterdir():
            with contextlib.suppress(OSError, UnicodeDecodeError):
                found.append((path.name, path.read_text().strip()))
        return found
