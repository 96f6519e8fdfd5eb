"""`hpo dashboard`'s errors, without serving (the served dashboard: test_report_cli.py)."""

import sys

import pytest

from hpo.errors import SetupError
from hpo.report._dashboard import run_dashboard
from tests.report.studies import make_study


def test_a_missing_storage_or_package_is_one_line(tmp_path, monkeypatch):
    with pytest.raises(SetupError, match="no study storage at"):
        run_dashboard(f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)
    with pytest.raises(SetupError, match=r"pip install optuna-dashboard"):
        run_dashboard(f"sqlite:///{tmp_path / 'none.db'}")


def test_it_binds_to_the_loopback_interface_only_and_says_when_the_port_is_taken(sqlite_url, monkeypatch):
    import socket

    import hpo.report._dashboard as dashboard

    make_study(sqlite_url)
    calls = []
    real = dashboard.make_server

    def recording(host, port, app, **kwargs):
        calls.append((host, port))
        return real(host, port, app, **kwargs)

    monkeypatch.setattr(dashboard, "make_server", recording)
    lines = []
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SetupError, match=f"cannot serve the dashboard on 127.0.0.1:{port}: Address already in use"):
            run_dashboard(sqlite_url, port=port, out=lines.append)
    assert calls == [("127.0.0.1", port)] and f"http://127.0.0.1:{port}/" in lines[0]
