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
from typing import TYPE_CHECKING, Callable, Literal, Sequence

from hpo._environment import (
    PARENT_PID_ENV,
    PROGRESS_ENV,
    QUIET_STOP_ENV,
    RUN_CLOCK_ENV,
    STORAGE_ENV,
    THREADS_ENV,
    WORKER_LABELS_ENV,
)
from hpo.driver._budget import budget_state, count_finished, count_started
from hpo.driver._devices import CUDA_ENV, assign
from hpo.driver._notebook import BAR, in_notebook
from hpo.driver._progress import ProgressPrinter, run_clock_value
from hpo.driver._recovery import recover_dead_trials
from hpo.errors import ERROR_PREFIX, EXIT_SETUP, EXIT_STUDY_FAILED, WorkerError

if TYPE_CHECKING:
    import optuna

    from hpo.schedulers import Scheduler
    from hpo.storage import StudyFiles
    from hpo.study import StudySpec

POLL_S = 0.25  # how often the parent looks at its workers (one count query): their exit shows within it
BAR_EVERY = 4  # polls between updates of a notebook's progress bar (one count and one best query)


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


# How the pool reads a worker's exit, and what it does next: pure, so every branch is tested
# without starting a process (tests/driver/test_workers.py).
@dataclass(frozen=True)
class WorkerExit:
    kind: Literal["done", "stopped", "failed", "crashed"]
    detail: str = ""  # failed: the worker's one-line error; crashed: "signal 9" / "exit code 1"
    code: int = 0  # failed: the exit code the parent exits with


def classify_exit(code: int, *, stopping: bool, label: str, last_error: str = "") -> WorkerExit:
    """A worker's exit code read in context: ``stopping`` when the pool asked its workers to
    stop (a signal, or another worker's failure)."""
    if code == 0:
        return WorkerExit("done")
    if code in (EXIT_STUDY_FAILED, EXIT_SETUP):
        return WorkerExit("failed", f"worker {label}: {last_error or f'exit code {code}'}", code)
    if stopping:  # stopped as asked, or killed by us before it could install its handlers
        return WorkerExit("stopped")
    return WorkerExit("crashed", f"signal {-code}" if code < 0 else f"exit code {code}")


@dataclass
class PoolState:
    """What a pool of ``size`` workers has seen: it decides whether to start workers and how
    the pool ends. ``3 * size`` crashes in a row (no worker finishing in between) fail the study:
    a worker that dies at start-up every time would otherwise be restarted forever."""

    size: int
    signals: int = 0
    crashes_in_a_row: int = 0
    failure: tuple[int, str] | None = None

    @property
    def stopping(self) -> bool:
        return self.signals > 0 or self.failure is not None

    def may_start(self, budget_done: bool) -> bool:
        return not self.stopping and not budget_done

    def record(self, ended: WorkerExit) -> bool:
        """Count a worker's exit; True when every other worker must be stopped now."""
        if ended.kind == "done":
            self.crashes_in_a_row = 0
        elif ended.kind == "failed":
            self.failure = self.failure or (ended.code, ended.detail)
            return True
        elif ended.kind == "crashed":
            self.crashes_in_a_row += 1
            if self.crashes_in_a_row >= 3 * self.size:
                self.failure = (EXIT_STUDY_FAILED, f"{self.crashes_in_a_row} workers died in a row; last: {ended.detail}")
                return True
        return False

    def end(self) -> None:
        """Once every worker is gone: raise what stopped the pool, if anything did."""
        if self.failure is not None:
            code, message = self.failure
            raise WorkerError(message, code)  # the CLI exits with the worker's code
        if self.signals:
            raise KeyboardInterrupt


class WorkerPool:
    """``spec.workers`` ``hpo worker`` processes on one study, replaced as they exit, until the
    budget is met, a signal stops them or one fails the study. With ``gpus``, worker i sees
    GPU ``i mod len(gpus)`` only (:mod:`hpo.driver._devices`)."""

    def __init__(self, storage_url: str, spec: "StudySpec", files: "StudyFiles", study: "optuna.Study",
                 out: Callable[[str], None], gpus: Sequence[str] = (), scheduler: "Scheduler | None" = None) -> None:
        self.spec, self.files, self.study, self.out = spec, files, study, out
        self.state = PoolState(spec.workers)
        self.slots: list[_Worker | None] = [None] * spec.workers
        self.devices = assign(list(gpus), spec.workers)
        self.scheduler = scheduler
        self.env = {
            **os.environ,
            PARENT_PID_ENV: str(os.getpid()),
            THREADS_ENV: str(max(1, available_cores() // spec.workers)),
            QUIET_STOP_ENV: "1",
            STORAGE_ENV: storage_url,  # not on the command line, where `ps` would show a password
            RUN_CLOCK_ENV: run_clock_value(count_finished(study)),  # a recycled worker's clock goes on
        }
        if spec.workers > 1:
            self.env[WORKER_LABELS_ENV] = "1"
        # In a notebook the workers print no line per trial; this process keeps one bar.
        self.progress = ProgressPrinter.for_study(spec, count_finished(study), out, "CPU", scheduler=scheduler) \
            if in_notebook() else None
        if self.progress is not None:
            self.env[PROGRESS_ENV] = BAR

    def run(self) -> int:
        """Run the pool to its end; returns the number of trials its workers started."""
        n_before = count_started(self.study)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        polls = 0
        try:
            while True:
                if self.progress is not None and polls % BAR_EVERY == 0:
                    self.progress.refresh(self.study)
                polls += 1
                if any(w is None for w in self.slots) and self.state.may_start(self._budget_done()):
                    for index, worker in enumerate(self.slots):
                        if worker is None:
                            self.slots[index] = self._start(index)
                if all(worker is None for worker in self.slots):
                    break
                time.sleep(POLL_S)
                self._collect_exits()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for worker in self.slots:  # only after an exception in this loop
                if worker is not None and worker.process.poll() is None:
                    worker.process.kill()
        recover_dead_trials(self.study, self.spec, self.files, self.out)  # workers stopped by a second Ctrl-C
        if self.progress is not None:
            self.progress.refresh(self.study)
        self.state.end()
        return count_started(self.study) - n_before

    def _budget_done(self) -> bool:
        """Whether the study's budgets are met (read without the slot lock: a worker started
        now that finds nothing to do exits "done")."""
        return budget_state(self.study, self.spec, self.scheduler, self.files).done

    def _collect_exits(self) -> None:
        for index, worker in enumerate(self.slots):
            if worker is None or (code := worker.process.poll()) is None:
                continue
            self.slots[index] = None
            if worker.relay is not None:
                worker.relay.join(timeout=5)
            ended = classify_exit(code, stopping=self.state.stopping, label=worker.label, last_error=worker.last_error)
            stop_all = self.state.record(ended)
            if ended.kind == "crashed":  # its trial is retried from its last epoch
                self.out(f"worker {worker.label} died ({ended.detail}); recovering its trial")
                recover_dead_trials(self.study, self.spec, self.files, self.out)
            if stop_all:
                _stop_workers(self.slots)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.state.signals += 1
        if self.state.signals == 1:
            message = f"{signal.Signals(signum).name}: stopping after the current epoch (press Ctrl-C again to stop now)\n"
            os.write(2, message.encode())
        _stop_workers(self.slots)  # a second signal reaches them as their second: they stop now

    def _start(self, index: int) -> _Worker:
        spec = self.spec
        label = f"w{index + 1}"
        command = [sys.executable, "-m", "hpo", "worker", spec.name, "--number", str(index + 1),
                   "--heartbeat-interval", str(spec.heartbeat_interval), "--grace-period", str(spec.grace_period),
                   "--backend", spec.backend]
        if spec.recycle_after:
            command += ["--max-trials", str(spec.recycle_after)]
        device = self.devices[index]
        worker_env = self.env if device is None else {**self.env, CUDA_ENV: device}
        process = subprocess.Popen(command, env=worker_env, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        worker = _Worker(label, process)
        worker.relay = threading.Thread(target=_relay_stderr, args=(worker,), daemon=True)
        worker.relay.start()
        return worker


def supervise(
    storage_url: str, spec: "StudySpec", files: "StudyFiles", study: "optuna.Study",
    out: Callable[[str], None], gpus: Sequence[str] = (), scheduler: "Scheduler | None" = None,
) -> int:
    """Keep ``spec.workers`` worker processes running until the budget is met; returns the
    number of trials the workers started. ``scheduler`` is the study's (this process's one)."""
    return WorkerPool(storage_url, spec, files, study, out, gpus, scheduler).run()


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
    from hpo._interrupts import PARENT_GONE_SIGNAL

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
