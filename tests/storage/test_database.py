import sqlite3

import optuna
import pytest

from hpo.errors import StorageError
from hpo.storage._database import mask_url, open_storage, resolve_url


def test_precedence_is_flag_then_environment_then_script_then_default(monkeypatch, isolated_runtime):
    assert resolve_url(None) == f"sqlite:///{isolated_runtime / 'hpo.db'}"
    assert resolve_url(None, "sqlite:///script.db") == "sqlite:///script.db"
    monkeypatch.setenv("HPO_STORAGE", "sqlite:///env.db")
    assert resolve_url(None, "sqlite:///script.db") == "sqlite:///env.db"
    assert resolve_url("sqlite:///flag.db", "sqlite:///script.db") == "sqlite:///flag.db"


def test_passwords_are_masked():
    assert mask_url("postgresql://hpo:s3cret@db:5432/studies") == "postgresql://hpo:***@db:5432/studies"
    assert "s3cret" not in mask_url("not a url hpo:s3cret@db")


def test_default_storage_is_created_under_the_runtime_directory(isolated_runtime):
    storage = open_storage(resolve_url(None))
    optuna.create_study(storage=storage, study_name="x")
    assert (isolated_runtime / "hpo.db").is_file()


def test_sqlite_uses_write_ahead_logging_and_a_busy_timeout(sqlite_url):
    storage = open_storage(sqlite_url)
    with storage.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert storage.engine_kwargs["connect_args"]["timeout"] >= 30


def test_corrupt_database_is_reported_and_left_unchanged(tmp_path):
    path = tmp_path / "broken.db"
    garbage = b"this is not a database" * 200
    path.write_bytes(garbage)
    with pytest.raises(StorageError, match=f"corrupt or non-SQLite database file {path}"):
        open_storage(f"sqlite:///{path}")
    assert path.read_bytes() == garbage


def test_truncated_optuna_database_is_reported_and_left_unchanged(tmp_path):
    path = tmp_path / "study.db"
    optuna.create_study(storage=f"sqlite:///{path}", study_name="s").optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StorageError, match="corrupt"):
        open_storage(f"sqlite:///{path}")
    assert path.read_bytes() == data[: len(data) // 2]


def test_foreign_sqlite_database_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "app.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE customers (id INTEGER)")
    connection.commit()
    connection.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="not an Optuna storage; refusing to modify it"):
        open_storage(f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_a_file_another_process_is_still_creating_counts_as_optuna(tmp_path):
    path = tmp_path / "new.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE studies (study_id INTEGER PRIMARY KEY, study_name VARCHAR(512))")
    connection.commit()
    connection.close()
    optuna.create_study(storage=open_storage(f"sqlite:///{path}"), study_name="s")


def test_reading_a_missing_storage_does_not_create_it(tmp_path):
    path = tmp_path / "nothing.db"
    with pytest.raises(StorageError, match="no study storage at"):
        open_storage(f"sqlite:///{path}", create=False)
    assert not path.exists()


def test_unreachable_server_is_one_line_without_the_password():
    with pytest.raises(StorageError) as caught:
        open_storage("postgresql://hpo:s3cret@127.0.0.1:1/studies")
    message = str(caught.value)
    assert "s3cret" not in message and "\n" not in message
    assert message.startswith("cannot open storage postgresql://hpo:***@127.0.0.1:1/studies")


def test_invalid_url_is_named():
    with pytest.raises(StorageError, match="invalid storage URL"):
        open_storage("definitely not a url")


def racing_rdb_storage(monkeypatch, url, first_error, *, create_first=True):
    """Make Optuna's RDBStorage lose a race once: the other process creates the file's schema
    (unless it exists already) and the first call raises ``first_error``; later calls open
    normally. Returns the ``skip_table_creation`` argument of each call."""
    import hpo.storage._outages as outages

    real = outages.OutageAwareStorage  # hpo's RDBStorage
    calls = []

    def racing_storage(*args, **kwargs):
        calls.append(kwargs.get("skip_table_creation"))
        if len(calls) == 1:
            if create_first:
                real(url)
            raise first_error
        return real(*args, **kwargs)

    monkeypatch.setattr(outages, "OutageAwareStorage", racing_storage)
    return calls


def test_tables_created_by_another_process_at_the_same_moment_are_opened(tmp_path, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    url = f"sqlite:///{tmp_path / 'raced.db'}"
    # what Optuna raises when the other process wrote the version first
    calls = racing_rdb_storage(monkeypatch, url, IntegrityError("INSERT INTO alembic_version", {},
                                                                  Exception("UNIQUE constraint failed")))
    storage = open_storage(url)
    assert len(calls) == 2
    assert storage.get_all_studies() == []


@pytest.mark.parametrize("create", [True, False])
def test_a_schema_version_written_by_another_process_first_is_opened_by_creators_and_readers(tmp_path, monkeypatch, create):
    # Optuna stamps the schema version even with skip_table_creation, so a report opening a
    # file whose tables a run is creating can lose that insert too (seen in CI).
    from sqlalchemy.exc import IntegrityError

    url = f"sqlite:///{tmp_path / 'raced.db'}"
    optuna.storages.RDBStorage(url)
    calls = racing_rdb_storage(monkeypatch, url, IntegrityError("INSERT INTO alembic_version", {},
                                                                  Exception("UNIQUE constraint failed")),
                               create_first=False)
    storage = open_storage(url, create=create)
    assert calls == [not create, not create]
    assert storage.get_all_studies() == []


def test_a_table_created_by_another_process_at_the_same_moment_is_opened(tmp_path, monkeypatch):
    # Optuna's create_all checks then creates; a script calling optuna.load_study on the same new
    # file can create a table in between (seen in CI beside `hpo run --workers 2`).
    from sqlalchemy.exc import OperationalError

    url = f"sqlite:///{tmp_path / 'raced.db'}"
    calls = racing_rdb_storage(monkeypatch, url, OperationalError(
        "CREATE TABLE study_directions", {}, Exception("table study_directions already exists")))
    assert open_storage(url).get_all_studies() == []
    assert len(calls) == 2


def test_other_operational_errors_are_not_retried(tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    calls = []

    def locked_storage(*args, **kwargs):
        calls.append(1)
        raise OperationalError("SELECT", {}, Exception("disk I/O error"))

    import hpo.storage._outages as outages

    monkeypatch.setattr(outages, "OutageAwareStorage", locked_storage)
    with pytest.raises(StorageError, match="disk I/O error"):
        open_storage(f"sqlite:///{tmp_path / 'broken.db'}")
    assert len(calls) == 1
