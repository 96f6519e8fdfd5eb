"""Storage URLs: where a study lives, how it is opened, and how its URL is shown.

Optuna's ``RDBStorage`` accepts any SQLAlchemy URL; this module adds what it lacks for
unattended runs:

* a default: one SQLite file under the runtime directory (``HPO_HOME``, default ``hpo-runs``);
* SQLite settings for several processes on one file: a busy timeout (optuna/optuna#497) and
  write-ahead logging, so a reader (a report, the dashboard) never blocks a writing worker;
* checks *before* Optuna touches a file, so a corrupt database or a foreign SQLite file is
  reported in one line and left exactly as it was (Optuna would create its tables in it);
* a heartbeat, so trials of a dead worker are detected;
* calls that wait for a server that restarts or drops connections, or a disk that fills up,
  instead of failing (:mod:`hpo.storage._outages`);
* masking of passwords whenever a URL is printed.
"""

from __future__ import annotations

import os
import sqlite3
import time
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from hpo._environment import HOME_ENV, STORAGE_ENV
from hpo.errors import StorageError
from hpo.storage._optuna_private import unwrapped_storage

if TYPE_CHECKING:
    import optuna

HEARTBEAT_INTERVAL_S = 10
HEARTBEAT_GRACE_S = 40
SQLITE_BUSY_TIMEOUT_S = 60
# A database server's connections per process: the trial loop, Optuna's heartbeat thread and
# the budget's slot lock (hpo.driver._budget) each hold one at times, so 3 with a little overflow
# (SQLAlchemy's default of 5 + 10 would let 20 workers hold up to 300). pre_ping: a worker
# outlives a server restart or an idle timeout instead of failing its next write.
SERVER_POOL = {"pool_size": 3, "max_overflow": 3, "pool_pre_ping": True}
DEFAULT_DATABASE = "hpo.db"
# Tries to open a storage whose schema another process is writing at the same moment.
_SCHEMA_RACE_RETRIES = 3
_OPTUNA_TABLES = {"studies", "trials", "version_info", "alembic_version"}

# DB-API packages Optuna needs per SQLAlchemy dialect, for a missing-driver message.
_DRIVER_PACKAGES = {
    "postgresql": "psycopg2-binary",
    "mysql": "pymysql",
    "mssql": "pyodbc",
    "oracle": "oracledb",
}


@dataclass(frozen=True)
class Heartbeat:
    """How a storage watches running trials: each writes a heartbeat every ``interval``
    seconds; one silent for ``grace_period`` seconds is stale, and Optuna hands it to
    ``on_stale(study, trial)`` after failing it (hpo queues its retry there)."""

    interval: int = HEARTBEAT_INTERVAL_S
    grace_period: int = HEARTBEAT_GRACE_S
    on_stale: "Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None" = None


# Database servers whose own locks hpo uses, so that processes of several hosts agree.
SERVER_BACKENDS = ("postgresql", "mysql")
_GET_LOCK_WAIT_S = 10  # how long one GET_LOCK call waits before it is asked again


class DatabaseLock:
    """A lock in the database server, shared by every host: a session-level advisory lock
    (PostgreSQL's ``pg_advisory_lock``, MySQL's ``GET_LOCK``) named ``name``, on a connection of
    its own from ``engine``. Acquired and released by separate calls (``release`` is
    idempotent) or as a context manager. The server drops it with the session, so a killed
    holder never blocks the others.
    """

    def __init__(self, engine: Any, name: str, *, dispose: bool = False) -> None:
        from sqlalchemy import text

        self.engine, self._dispose, self._connection, self._name = engine, dispose, None, name
        if engine.dialect.name == "postgresql":
            key = zlib.crc32(name.encode())  # a stable key per name
            self._lock, self._unlock = text(f"SELECT pg_advisory_lock({key})"), text(f"SELECT pg_advisory_unlock({key})")
        else:
            # A timeout, asked again until the lock is held: MariaDB answers NULL (no lock, no
            # wait) to MySQL's "-1 waits forever", which let 21 trials of a budget of 20 start
            # (tests/driver/test_budget.py on a real MariaDB server).
            self._lock = text(f"SELECT GET_LOCK('{name}', {_GET_LOCK_WAIT_S})")
            self._unlock = text(f"SELECT RELEASE_LOCK('{name}')")
        self._waits = engine.dialect.name != "postgresql"

    def acquire(self, *, patient: bool = True) -> None:
        """Hold the lock; ``patient``: wait for a server that went away (the budget's slot
        lock, mid-study) rather than fail at once (opening a study: a server that is not
        there is a setup error, said in one line)."""
        from hpo.storage._outages import riding_out

        if self._connection is None:
            self._connection = (riding_out(self._locked_connection, what="the database server") if patient
                                else self._locked_connection())

    def _locked_connection(self) -> Any:
        connection = self.engine.connect()
        try:
            while True:
                held = connection.execute(self._lock).scalar()
                if not self._waits or held == 1:
                    break
                if held is None:
                    raise StorageError(f"the database refused the lock {self._name!r} (GET_LOCK returned NULL)")
            connection.commit()  # the lock belongs to the session, not to this transaction
        except BaseException:
            connection.close()
            raise
        return connection

    def release(self) -> None:
        from hpo.storage._outages import is_lost_connection

        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                connection.execute(self._unlock)
                connection.commit()
            except Exception as error:
                # A server that dropped the connection dropped its session's lock with it.
                if not is_lost_connection(error):
                    raise
            finally:
                connection.close()
                if self._dispose:
                    self.engine.dispose()

    def __enter__(self) -> "DatabaseLock":
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def server_lock(url: str, name: str) -> DatabaseLock | None:
    """:class:`DatabaseLock` ``name`` in the server ``url`` names; None for SQLite (or when the
    server cannot be reached: opening the storage then says why, in one line)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    try:
        if make_url(url).get_backend_name() not in SERVER_BACKENDS:
            return None
        lock = DatabaseLock(create_engine(url, poolclass=NullPool), name, dispose=True)
        lock.acquire(patient=False)
    except (SQLAlchemyError, ImportError, ValueError):
        return None
    return lock


def runtime_dir() -> Path:
    """Where databases, checkpoints, models and reports go (git-ignored)."""
    return Path(os.environ.get(HOME_ENV, "hpo-runs")).resolve()


def default_url() -> str:
    return f"sqlite:///{runtime_dir() / DEFAULT_DATABASE}"


def resolve_url(cli_url: str | None = None, script_url: str | None = None) -> str:
    """One precedence rule: ``--storage`` > ``HPO_STORAGE`` > the study script > default."""
    for candidate in (cli_url, os.environ.get(STORAGE_ENV), script_url):
        if candidate:
            return candidate
    return default_url()


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``, safe to print or store."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # Not parseable: still never echo what could be a secret after a scheme's '//user:'.
        head, sep, tail = url.partition("@")
        return f"{head.split(':', 1)[0]}://***@{tail}" if sep else url


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other backends and in-memory databases."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def rdb_storage(study: "optuna.Study") -> "optuna.storages.RDBStorage | None":
    """The study's RDBStorage (Optuna wraps it in a private caching layer, ``_backend``);
    None for other storages."""
    from optuna.storages import RDBStorage

    storage = unwrapped_storage(study)
    return storage if isinstance(storage, RDBStorage) else None


def _connect(url: str, engine_kwargs: dict, create: bool, heartbeat: Heartbeat) -> "optuna.storages.RDBStorage":
    import optuna
    from sqlalchemy.exc import IntegrityError, OperationalError

    from hpo.storage._outages import OutageAwareStorage

    def connect() -> "optuna.storages.RDBStorage":
        with warnings.catch_warnings():
            # heartbeat_interval is flagged experimental by Optuna; it is what we want.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # A database server may restart, a disk fill up, mid-study: its calls wait for it.
            storage = OutageAwareStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat.interval,
                grace_period=heartbeat.grace_period,
                heartbeat_stale_trial_callback=heartbeat.on_stale,
                skip_table_creation=not create,
            )
            storage.shown = f"the storage {mask_url(url)}"  # in its outage messages
            return storage

    # Another process that does not take hpo's creation lock (a script calling
    # optuna.load_study on the URL, Optuna's own CLI) may be creating the tables of a new file at
    # the same moment. Two losses are possible, and both leave a complete schema behind, so
    # opening again succeeds: Optuna stamps the schema version even with skip_table_creation
    # (its _VersionManager writes version_info and alembic_version when missing), so a reader
    # or a creator can lose that insert (IntegrityError); a creator can lose a CREATE TABLE to
    # the other's (SQLite: "table ... already exists"). Seen in CI: a report beside a starting
    # run, and a test polling with optuna.load_study beside `hpo run --workers 2`.
    for attempt in range(1, _SCHEMA_RACE_RETRIES):
        try:
            return connect()
        except (IntegrityError, OperationalError) as error:
            if isinstance(error, OperationalError) and "already exists" not in str(error):
                raise
            time.sleep(0.05 * attempt)
    return connect()


def open_storage(url: str, *, create: bool = True, heartbeat: Heartbeat = Heartbeat()) -> "optuna.storages.RDBStorage":
    """Open ``url`` for Optuna, or raise :class:`StorageError` with one line saying why.

    With ``create=False`` (commands that only read) a missing SQLite file or a database
    without Optuna's tables is an error instead of being created.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from hpo.storage._outages import patience_s

    shown = mask_url(url)
    patience_s()  # a bad HPO_STORAGE_PATIENCE is a setup error now, not in the middle of an outage
    try:
        backend = make_url(url).get_backend_name()
    except (ArgumentError, ValueError):
        raise StorageError(f"invalid storage URL {shown!r} (expected e.g. sqlite:///path.db)") from None

    engine_kwargs: dict = {}
    path = sqlite_path(url)
    if backend != "sqlite":
        engine_kwargs = dict(SERVER_POOL)
    if backend == "sqlite":
        engine_kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
        if path is not None:
            _check_sqlite_file(path, create=create)

    try:
        storage = _connect(url, engine_kwargs, create, heartbeat)
    except ImportError as error:
        package = _DRIVER_PACKAGES.get(backend, "the DB-API driver for this URL")
        raise StorageError(
            f"cannot open storage {shown}: its database driver is not installed "
            f"(pip install {package})"
        ) from error
    except SQLAlchemyError as error:
        raise StorageError(f"cannot open storage {shown}: {_first_line(error)}") from error
    except RuntimeError as error:  # Optuna's schema-version check
        raise StorageError(f"cannot use storage {shown}: {_first_line(error)}") from error

    if backend == "sqlite" and path is not None:
        @event.listens_for(storage.engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            # WAL lets readers and one writer work at once; NORMAL sync in WAL mode loses
            # nothing when a process is killed (only an OS crash can lose the last commits).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        storage.engine.dispose()  # later connections get the pragmas

    if not create:
        _check_has_optuna_tables(storage, shown)
    return storage


def _check_sqlite_file(path: Path, *, create: bool) -> None:
    if not path.exists():
        if not create:
            raise StorageError(f"no study storage at {path} (run a study first, or pass --storage)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(f"cannot create storage directory {path.parent}: {error.strerror}") from None
        return
    if path.is_dir():
        raise StorageError(f"storage path {path} is a directory, not a SQLite file")
    if path.stat().st_size == 0:
        return
    try:
        # Read-only, so a broken file is inspected without being changed.
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_S)
        try:
            check = connection.execute("PRAGMA quick_check").fetchone()
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise StorageError(f"corrupt or non-SQLite database file {path}: {error}") from error
    if check is None or check[0] != "ok":
        raise StorageError(f"corrupt database file {path}: integrity check says {check[0] if check else 'nothing'}")
    # Any Optuna table means Optuna's file: another process may be creating the rest right now.
    if tables and not tables & _OPTUNA_TABLES:
        raise StorageError(f"{path} is a SQLite database but not an Optuna storage; refusing to modify it")


def _check_has_optuna_tables(storage: "optuna.storages.RDBStorage", shown: str) -> None:
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    try:
        tables = set(inspect(storage.engine).get_table_names())
    except SQLAlchemyError as error:
        raise StorageError(f"cannot read storage {shown}: {_first_line(error)}") from error
    if "studies" not in tables:
        raise StorageError(f"storage {shown} holds no Optuna studies")


def _first_line(error: BaseException) -> str:
    orig = getattr(error, "orig", None)  # SQLAlchemy wraps the driver's error
    text = str(orig if orig is not None else error).strip()
    return text.splitlines()[0] if text else type(error).__name__
