"""The two-step Ctrl-C / SIGTERM handler."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hpo import _interrupts as interrupts


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


def test_a_second_signal_inside_a_recording_block_stops_as_the_block_ends():
    written = []
    with interrupts.graceful_stop():
        _deliver(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            with interrupts.recording():
                _deliver(signal.SIGINT)
                written.append("the rest of the record")
        assert written == ["the rest of the record"]
        with interrupts.recording():  # nothing deferred is left over
            pass
        with pytest.raises(KeyboardInterrupt):
            _deliver(signal.SIGINT)  # outside the block, at once as before


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


@pytest.mark.slow
def test_parent_death_signals_arriving_while_the_stop_flag_is_set_do_not_hang_or_recurse():
    # An orphaned worker hung when the kernel's repeated parent-death signal interrupted the
    # handler's own Event.set(); here a thread sends the signal over and over while the main
    # thread keeps setting the flag.
    script = textwrap.dedent("""
        import os, threading, time
        from hpo import _interrupts as interrupts

        done = threading.Event()

        def send():
            while not done.is_set():
                os.kill(os.getpid(), interrupts.PARENT_GONE_SIGNAL)
                time.sleep(0.0005)

        with interrupts.graceful_stop():
            sender = threading.Thread(target=send, daemon=True)
            sender.start()
            for _ in range(300_000):
                interrupts.request_stop()
            done.set()
            sender.join()
            print("finished", interrupts.stop_requested())
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.strip() == "finished True"
