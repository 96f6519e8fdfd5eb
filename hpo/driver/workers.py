"""Several worker processes on one study: ``hpo run --workers N``.

The parent creates the study before any worker starts (so N processes never race on a new
database's schema), then keeps N workers running until the budget is met. Each worker is an
``hpo worker`` process with its own TensorFlow and a CPU thread pool of ``cores / N`` threads,
so the workers do not oversubscribe the cores. A worker exits after ``recycle_after`` trials
and is replaced, so memory cannot creep across trials. A worker that dies (out-of-memory
killer, kill -9) has its trial recovered at once and retried from its last epoch.

Workers run in their own session so that a Ctrl-C in the terminal reaches the parent only:
the parent forwards each signal once, and the workers stop like a single ``hpo run`` does.
A worker whose parent dies gets a parent-death signal (Linux), so killing ``hpo run`` stops its
workers at their next epoch boundary instead of leaving them running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

from hpo.driver.budget import count_finished, count_started
from hpo.driver.devices import CUDA_ENV, assign
from hpo.driver.progress import run_clock_value
from hpo.driver.recovery import recover_dead_trials
from hpo.environment import PARENT_PID_ENV, QUIET_STOP_ENV, RUN_CLOCK_ENV, STORAGE_ENV, THREADS_ENV, WORKER_LABELS_ENV
from hpo.errors import ERROR_PREFIX, EXIT_INTERRUPTED, EXIT_SETUP, EXIT_STUDY_FAILED, WorkerError

if TYPE_CHECKING:
    import optuna

    from hpo.storage.study_files import StudyFiles
    from hpo.study.spec import StudySpec

POLL_S = 0.25  # how often the parent looks at its workers (one count query): their exit shows within it


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class _Worker:
    label: str
    process: "subprocess.Popen[str]"
    last_error: str = ""
    relay: threading.Thread | None = field(default=None, repr=False)


def supervise(
    storage_url: str, spec: "StudySpec", files: "StudyFiles", study: "optuna.Study",
    out: Callable[[str], None], gpus: Sequence[str] = (),
) -> int:
    """Keep ``spec.workers`` worker processes running until the budget is met; returns the
    number of trials the workers started. With ``gpus``, worker i sees GPU ``i mod len(gpus)``
    only (:mod:`hpo.driver.devices`)."""
    n_before = count_started(study)
    env = {
        **os.environ,
        PARENT_PID_ENV: str(os.getpid()),
        THREADS_ENV: str(max(1, available_cores() // spec.workers)),
        QUIET_STOP_ENV: "1",
        STORAGE_ENV: storage_url,  # not on the command line, where `ps` would show a password
        RUN_CLOCK_ENV: run_clock_value(count_finished(study)),  # a recycled worker's clock goes on
    }
    if spec.workers > 1:
        env[WORKER_LABELS_ENV] = "1"
    slots: list[_Worker | None] = [None] * spec.workers
    devices = assign(list(gpus), spec.workers)
    spawned = 0
    crashes_in_a_row = 0
    signals = 0
    failure: tuple[int, str] | None = None

    def on_signal(signum: int, frame: object) -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            message = f"{signal.Signals(signum).name}: stopping after the current epoch (press Ctrl-C again to stop now)\n"
            os.write(2, message.encode())
        _stop_workers(slots)  # a second signal reaches them as their second: they stop now

    def start(index: int) -> _Worker:
        nonlocal spawned
        spawned += 1
        label = f"w{index + 1}"
        command = [sys.executable, "-m", "hpo", "worker", spec.name, "--number", str(index + 1),
                   "--heartbeat-interval", str(spec.heartbeat_interval), "--grace-period", str(spec.grace_period),
                   "--backend", spec.backend]
        if spec.recycle_after:
            command += ["--max-trials", str(spec.recycle_after)]
        device = devices[index]
        worker_env = env if device is None else {**env, CUDA_ENV: device}
        process = subprocess.Popen(command, env=worker_env, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        worker = _Worker(label, process)
        worker.relay = threading.Thread(target=_relay_stderr, args=(worker,), daemon=True)
        worker.relay.start()
        return worker

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            if not signals and failure is None and count_finished(study) < spec.n_trials:
                for index, worker in enumerate(slots):
                    if worker is None:
                        slots[index] = start(index)
            if all(worker is None for worker in slots):
                break
            time.sleep(POLL_S)
            for index, worker in enumerate(slots):
                if worker is None or (code := worker.process.poll()) is None:
                    continue
                slots[index] = None
                if worker.relay is not None:
                    worker.relay.join(timeout=5)
                if code == 0:
                    crashes_in_a_row = 0
                elif code == EXIT_INTERRUPTED and signals:
                    pass
                elif code in (EXIT_STUDY_FAILED, EXIT_SETUP):
                    failure = failure or (code, f"worker {worker.label}: {worker.last_error or f'exit code {code}'}")
                    _stop_workers(slots)
                elif signals or failure is not None:
                    pass  # stopped by us before it could install its handlers
                else:
                    crashes_in_a_row += 1
                    how = f"signal {-code}" if code < 0 else f"exit code {code}"
                    out(f"worker {worker.label} died ({how}); recovering its trial")
                    recover_dead_trials(study, spec, files, out)
                    if crashes_in_a_row >= 3 * spec.workers:
                        failure = (EXIT_STUDY_FAILED, f"{crashes_in_a_row} workers died in a row; last: {how}")
                        _stop_workers(slots)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for worker in slots:  # only after an exception in this loop
            if worker is not None and worker.process.poll() is None:
                worker.process.kill()
    recover_dead_trials(study, spec, files, out)  # workers stopped by a second Ctrl-C

    if failure is not None:
        code, message = failure
        raise WorkerError(message, code)  # the CLI exits with the worker's code
    if signals:
        raise KeyboardInterrupt
    return count_started(study) - n_before


def _stop_workers(slots: list[_Worker | None]) -> None:
    """Ask every running worker to stop after its current epoch."""
    for worker in slots:
        if worker is not None and worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)


def _relay_stderr(worker: _Worker) -> None:
    """Pass a worker's stderr through, keeping its error line for the parent's one message."""
    assert worker.process.stderr is not None
    for line in worker.process.stderr:
        if line.startswith(ERROR_PREFIX):
            worker.last_error = line[len(ERROR_PREFIX):].strip()
            continue
        sys.stderr.write(line)
        sys.stderr.flush()


def stop_with_parent() -> None:
    """In a worker: be asked to stop when the parent dies (Linux), and stop if it already has."""
    from hpo.interrupts import PARENT_GONE_SIGNAL

    parent = os.environ.get(PARENT_PID_ENV)
    if not parent:
        return
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        # Not SIGTERM: the kernel can send it more than once, and a second SIGTERM means "now".
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(PARENT_GONE_SIGNAL))
    if str(os.getppid()) != parent:  # died before the line above
        raise KeyboardInterrupt
