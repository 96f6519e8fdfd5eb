"""`hpo dashboard`'s errors, without serving (the served dashboard: test_report_cli.py)."""

import sys

import optuna_dashboard
import pytest

from hpo.errors import SetupError
from hpo.report.dashboard import run_dashboard
from tests.report.studies import make_study


def test_a_missing_storage_or_package_is_one_line(tmp_path, monkeypatch):
    with pytest.raises(SetupError, match="no study storage at"):
        run_dashboard(f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)
    with pytest.raises(SetupError, match=r"pip install optuna-dashboard"):
        run_dashboard(f"sqlite:///{tmp_path / 'none.db'}")


def test_it_binds_to_the_loopback_interface_only_and_says_when_the_port_is_taken(sqlite_url, monkeypatch):
    make_study(sqlite_url)
    calls = []

    def fake_server(storage, host, port):
        calls.append((host, port))
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(optuna_dashboard, "run_server", fake_server)
    lines = []
    with pytest.raises(SetupError, match="cannot serve the dashboard on 127.0.0.1:8123: Address already in use"):
        run_dashboard(sqlite_url, port=8123, out=lines.append)
    assert calls == [("127.0.0.1", 8123)] and "http://127.0.0.1:8123/" in lines[0]
