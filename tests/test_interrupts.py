"""The two-step Ctrl-C / SIGTERM handler."""

import os
import signal
import time

import pytest

from hpo import interrupts


def _deliver(signum):
    os.kill(os.getpid(), signum)
    time.sleep(0.05)  # Python runs the handler at the next bytecode boundary


@pytest.mark.parametrize("first, second", [(signal.SIGINT, signal.SIGINT), (signal.SIGTERM, signal.SIGINT)])
def test_the_first_signal_asks_for_a_stop_and_the_second_stops_at_once(first, second, capfd):
    with interrupts.graceful_stop():
        _deliver(first)
        assert interrupts.stop_requested()
        assert "stopping after the current epoch (press Ctrl-C again to stop now)" in capfd.readouterr().err
        with pytest.raises(KeyboardInterrupt):
            _deliver(second)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def test_a_new_run_starts_without_an_old_stop_request():
    interrupts.request_stop()
    with interrupts.graceful_stop():
        assert not interrupts.stop_requested()


def test_workers_leave_the_announcement_to_their_parent(monkeypatch, capfd):
    monkeypatch.setenv("HPO_QUIET_STOP", "1")
    with interrupts.graceful_stop():
        _deliver(signal.SIGTERM)
        assert interrupts.stop_requested()
    assert capfd.readouterr().err == ""
