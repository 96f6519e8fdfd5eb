"""Create or resume a study and top it up to its budget.

The budget is a *total*: a study whose script says ``n_trials=30`` should end with 30 finished
(complete or pruned) trials however often it is interrupted and re-run (optuna/optuna#2638).
Failed trials do not count; they are retried by running more trials, and several failures in
a row stop the study (KerasTuner's ``max_consecutive_failed_trials``).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterator

from hpo.errors import SetupError, TooManyFailuresError, TrialFailure
from hpo.spec import IDENTITY_FIELDS, StudySpec
from hpo.storage import mask_url, open_storage, resolve_url
from hpo.strategies import check_sampler_available, make_pruner, make_sampler

if TYPE_CHECKING:
    import optuna

    from hpo.data import Dataset

SPEC_ATTR = "hpo_spec"
FAIL_REASON_ATTR = "fail_reason"
FAIL_TRACEBACK_ATTR = "fail_traceback"
MAX_REASON_CHARS = 500
MAX_TRACEBACK_CHARS = 4000

Objective = Callable[["optuna.trial.Trial"], float]
Printer = Callable[[str], None]


@dataclass(frozen=True)
class RunOutcome:
    study_name: str
    metric: str
    storage: str  # masked
    n_finished: int
    budget: int
    best_value: float | None
    best_params: dict[str, Any] | None
    best_number: int | None
    trials_run: int  # by this call


def _print(line: str) -> None:
    print(line, flush=True)


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------
def run(
    spec: StudySpec,
    *,
    storage_url: str | None = None,
    objective: Objective | None = None,
    out: Printer = _print,
) -> RunOutcome:
    """Create the study (or resume it) and run trials until the budget is met.

    ``objective`` replaces the spec's Keras objective with any ``(trial) -> float`` callable
    (used by benchmarks and tests); the spec still supplies name, direction, sampler and budget.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # we print our own line per trial
    check_sampler_available(spec.sampler)
    module: ModuleType | None = None
    data: "Dataset | None" = None
    if objective is None:
        # Objective and data first: a missing file must stop the run before a study exists.
        from hpo.data import load_dataset
        from hpo.objectives import load_objective

        module = load_objective(spec.objective)
        data = load_dataset(spec.dataset, seed=spec.seed)  # once per process, never per trial

    url = resolve_url(storage_url, spec.storage)
    storage = open_storage(url, create=True)
    shown = mask_url(url)
    study, is_new = _create_or_load(spec, storage, out)
    markers = RunningMarkers(url, spec.name)
    _recover_dead_trials(study, markers, out)
    if is_new:
        _enqueue_first_trials(study, spec, module)

    finished = count_finished(study)
    if finished >= spec.n_trials:
        out(f"study {spec.name!r} already has {finished}/{spec.n_trials} finished trials; nothing to run")
        return _outcome(study, spec, shown, trials_run=0)

    verb = "created" if is_new else "resumed"
    out(f"{verb} study {spec.name!r} in {shown}: {finished}/{spec.n_trials} finished, "
        f"sampler {spec.sampler}, pruner {spec.pruner}, {spec.metric} ({spec.direction})")

    if objective is None:
        assert module is not None and data is not None
        objective = _keras_objective(module, data, spec, out)

    trials_run = _optimize_until_budget(study, spec, objective, finished, markers, out,
                                        gc_after_trial=module is not None)
    return _outcome(study, spec, shown, trials_run=trials_run)


def resume(
    name: str, *, storage_url: str | None = None, overrides: dict[str, Any] | None = None,
    out: Printer = _print,
) -> RunOutcome:
    """Continue study ``name`` with the settings stored with it (``overrides`` replace some)."""
    spec = stored_spec(name, storage_url=storage_url)
    return run(spec.with_overrides(**(overrides or {})), storage_url=storage_url, out=out)


def stored_spec(name: str, *, storage_url: str | None = None) -> StudySpec:
    """The settings saved with study ``name`` by ``hpo run``."""
    return load_hpo_study(name, storage_url=storage_url)[1]


def load_hpo_study(name: str, *, storage_url: str | None = None) -> tuple["optuna.Study", StudySpec]:
    """Study ``name`` (opened read-only: nothing is created) and the settings stored with it."""
    import optuna

    url = resolve_url(storage_url)
    storage = open_storage(url, create=False)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise SetupError(f"no study named {name!r} in {mask_url(url)} (see `hpo ls`)") from None
    data = study.user_attrs.get(SPEC_ATTR)
    if data is None:
        raise SetupError(f"study {name!r} was not created by hpo run; run it with a study script")
    return study, StudySpec.from_dict(data)


def count_finished(study: "optuna.Study") -> int:
    """Trials that count towards the budget: complete or pruned (not failed, not running)."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


# --------------------------------------------------------------------------------------------
# Study creation
# --------------------------------------------------------------------------------------------
def _create_or_load(spec: StudySpec, storage, out: Printer) -> tuple["optuna.Study", bool]:
    import optuna

    try:
        study_id = storage.get_study_id_from_name(spec.name)
    except KeyError:
        study_id = None

    n_existing = 0
    if study_id is not None:
        directions = [d.name.lower() for d in storage.get_study_directions(study_id)]
        if directions != [spec.direction]:
            raise SetupError(
                f"study {spec.name!r} already exists with direction {'/'.join(directions)}, "
                f"not {spec.direction}; use another --study-name"
            )
        stored = storage.get_study_user_attrs(study_id).get(SPEC_ATTR)
        if stored is not None:
            _report_differences(spec, StudySpec.from_dict(stored), out)
        n_existing = len(storage.get_all_trials(study_id, deepcopy=False))

    # A sampler seeded identically on every resume would repeat its first proposals
    # (optuna/optuna#3255); offsetting by the trials already stored keeps runs reproducible
    # from a fresh study while a resumed study explores new points.
    sampler = make_sampler(spec.sampler, seed=spec.seed + n_existing)
    pruner = make_pruner(spec.pruner, max_epochs=spec.max_epochs)
    study = optuna.create_study(
        study_name=spec.name,
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        direction=spec.direction,
        load_if_exists=True,
    )
    if study.user_attrs.get(SPEC_ATTR) != spec.to_dict():
        study.set_user_attr(SPEC_ATTR, spec.to_dict())
    return study, study_id is None


def _report_differences(spec: StudySpec, stored: StudySpec, out: Printer) -> None:
    differences = spec.differences(stored)
    identity = [d for d in differences if d[0] in IDENTITY_FIELDS]
    if identity:
        changes = ", ".join(f"{key} {old!r} -> {new!r}" for key, old, new in identity)
        raise SetupError(
            f"study {spec.name!r} exists with different {changes}; these define the study, "
            f"so use a new --study-name"
        )
    if differences:
        changes = ", ".join(f"{key} {old!r} -> {new!r}" for key, old, new in differences)
        out(f"note: study {spec.name!r} continues with changed settings: {changes}")


def _enqueue_first_trials(study: "optuna.Study", spec: StudySpec, module: ModuleType | None) -> None:
    first: list[dict[str, Any]] = []
    defaults = getattr(module, "DEFAULT_PARAMS", None) if module is not None else None
    if spec.enqueue_defaults and defaults:
        first.append(dict(defaults))
    first.extend(dict(params) for params in spec.enqueue)
    for params in first:
        study.enqueue_trial(params, skip_if_exists=True)


# --------------------------------------------------------------------------------------------
# Trials left RUNNING by a dead process
# --------------------------------------------------------------------------------------------
def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _process_is_dead(worker: str) -> bool:
    host, _, pid_text = worker.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine: only its heartbeat can tell
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, owned by someone else
    return False


class RunningMarkers:
    """Which local process runs which trial, as one small file per running trial.

    A file rather than a trial attribute: a database write per trial costs milliseconds on
    SQLite, a file microseconds. A file left behind by a dead process on this host proves its
    trial an orphan at once, where the heartbeat would take its grace period.
    """

    def __init__(self, storage_url: str, study_name: str) -> None:
        import hashlib

        from hpo.storage import runtime_dir

        key = hashlib.sha1(f"{storage_url}\0{study_name}".encode()).hexdigest()[:16]
        self.directory = runtime_dir() / "running" / key
        self.worker = _worker_id()

    def mark(self, trial_id: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / str(trial_id)).write_text(self.worker)

    def clear(self, trial_id: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.directory / str(trial_id)).unlink()

    def workers(self) -> dict[int, str]:
        if not self.directory.is_dir():
            return {}
        found = {}
        for path in self.directory.iterdir():
            with contextlib.suppress(OSError, ValueError):
                found[int(path.name)] = path.read_text().strip()
        return found


def _recover_dead_trials(study: "optuna.Study", markers: RunningMarkers, out: Printer) -> None:
    """Fail RUNNING trials whose worker is gone, with the reason stored on them.

    Optuna's heartbeat also fails stale trials, but only after its grace period and without
    a reason (a finished trial's attributes can no longer be written). A worker on this host
    whose process is gone is provably dead, so its trial is recovered at once; a trial of
    another host is failed here once its heartbeat is stale.
    """
    from optuna.trial import TrialState

    storage = study._storage
    # Optuna's own fail_stale_trials() reads the same private helper.
    stale_ids = set(storage._get_stale_trial_ids(study._study_id)) if hasattr(storage, "_get_stale_trial_ids") else set()
    local_workers = markers.workers()
    running = {t._trial_id: t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
    for trial_id, worker in local_workers.items():
        if trial_id not in running and _process_is_dead(worker):
            markers.clear(trial_id)  # its trial ended (e.g. Ctrl-C) or was recovered elsewhere
    for trial_id, trial in running.items():
        worker = local_workers.get(trial_id, "")
        if worker and _process_is_dead(worker):
            reason = f"worker {worker} died while running this trial"
        elif trial_id in stale_ids:
            reason = f"worker {worker or 'on another host'} stopped sending heartbeats"
        else:
            continue
        with contextlib.suppress(Exception):  # another process may be recovering it too
            storage.set_trial_user_attr(trial_id, FAIL_REASON_ATTR, reason)
            storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
            out(f"[trial {trial.number:>4}] FAIL      {reason}")
        markers.clear(trial_id)


# --------------------------------------------------------------------------------------------
# The optimisation loop
# --------------------------------------------------------------------------------------------
def _keras_objective(module: ModuleType, data: "Dataset", spec: StudySpec, out: Printer) -> Objective:
    from hpo.keras_runtime import prepare_keras

    prepare_keras()
    from hpo.objectives import make_objective

    out(f"data {data.describe()}")
    return make_objective(module, data, spec)


def _optimize_until_budget(
    study: "optuna.Study", spec: StudySpec, objective: Objective, finished: int,
    markers: RunningMarkers, out: Printer, *, gc_after_trial: bool,
) -> int:
    progress = ProgressPrinter(study, spec.n_trials, finished, out)
    guard = ConsecutiveFailureGuard(spec.max_consecutive_failures)

    def after_trial(study: "optuna.Study", trial: "optuna.trial.FrozenTrial") -> None:
        # One callback, not three: Optuna deep-copies the trial for each callback.
        markers.clear(trial._trial_id)
        progress(study, trial)
        guard(study, trial)

    trials_run = 0
    with _sigterm_as_interrupt():
        while finished < spec.n_trials:
            study.optimize(
                _recording_failures(objective, markers),
                n_trials=spec.n_trials - finished,
                catch=(TrialFailure,),
                callbacks=[after_trial],
                gc_after_trial=gc_after_trial,
            )
            trials_run = progress.trials_seen
            if guard.tripped:
                raise TooManyFailuresError(
                    f"{guard.limit} trials failed in a row, stopping study {spec.name!r}; "
                    f"last reason: {guard.last_reason}"
                )
            finished = count_finished(study)
    return trials_run


def _recording_failures(objective: Objective, markers: RunningMarkers) -> Objective:
    """Store why a trial failed on the trial itself, then let Optuna mark it FAIL.

    Exceptions from one trial become :class:`TrialFailure` (the study goes on); a
    :class:`SetupError` (e.g. the monitored metric does not exist) and Ctrl-C stop the study.
    """
    import optuna

    def recorded(trial: "optuna.trial.Trial") -> float:
        markers.mark(trial._trial_id)
        try:
            return objective(trial)
        except optuna.TrialPruned:
            raise
        except (SetupError, KeyboardInterrupt) as error:
            _store_reason(trial, error)
            raise
        except Exception as error:
            reason = _store_reason(trial, error)
            raise TrialFailure(reason) from error

    return recorded


def describe_failure(error: BaseException) -> str:
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl-C or SIGTERM)"
    name = type(error).__name__
    text = (str(error).strip().splitlines() or [""])[0]
    if isinstance(error, MemoryError) or "ResourceExhausted" in name or "out of memory" in text.lower():
        return f"out of memory: {name}: {text}"[:MAX_REASON_CHARS]
    return (f"{name}: {text}" if text else name)[:MAX_REASON_CHARS]


def _store_reason(trial: "optuna.trial.Trial", error: BaseException) -> str:
    reason = describe_failure(error)
    with contextlib.suppress(Exception):  # the reason is best effort; the FAIL state is not
        trial.set_user_attr(FAIL_REASON_ATTR, reason)
        if not isinstance(error, (KeyboardInterrupt, TrialFailure)):
            trace = "".join(traceback.format_exception(error))
            trial.set_user_attr(FAIL_TRACEBACK_ATTR, trace[-MAX_TRACEBACK_CHARS:])
    return reason


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends a run like Ctrl-C: the running trial is recorded as failed, not left RUNNING."""
    if sys.platform == "win32" or signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
        yield
        return
    try:
        previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_keyboard_interrupt(signum, frame):  # noqa: ANN001
    raise KeyboardInterrupt


class ConsecutiveFailureGuard:
    """Stops the study after ``limit`` failed trials in a row."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_a_row = 0
        self.tripped = False
        self.last_reason = ""

    def __call__(self, study: "optuna.Study", trial: "optuna.trial.FrozenTrial") -> None:
        from optuna.trial import TrialState

        if trial.state != TrialState.FAIL:
            self.in_a_row = 0
            return
        self.in_a_row += 1
        self.last_reason = trial.user_attrs.get(FAIL_REASON_ATTR, "no reason recorded")
        if self.in_a_row >= self.limit:
            self.tripped = True
            study.stop()


class ProgressPrinter:
    """One line per finished trial: number, state, value, best so far, time, elapsed, ETA."""

    def __init__(self, study: "optuna.Study", budget: int, finished: int, out: Printer) -> None:
        self.budget = budget
        self.finished = finished
        self.out = out
        self.maximize = study.direction.name == "MAXIMIZE"
        self.best: tuple[float, int] | None = None
        with contextlib.suppress(ValueError):
            best = study.best_trial
            self.best = (best.value, best.number)
        self.started = time.monotonic()
        self.trials_seen = 0
        self.finished_here = 0

    def __call__(self, study: "optuna.Study", trial: "optuna.trial.FrozenTrial") -> None:
        from optuna.trial import TrialState

        self.trials_seen += 1
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            self.finished += 1
            self.finished_here += 1
        value = trial.value if trial.state == TrialState.COMPLETE else None
        if value is not None and (
            self.best is None or (value > self.best[0] if self.maximize else value < self.best[0])
        ):
            self.best = (value, trial.number)
        self.out(self.format_line(trial))

    def format_line(self, trial: "optuna.trial.FrozenTrial") -> str:
        from optuna.trial import TrialState

        elapsed = time.monotonic() - self.started
        remaining = max(0, self.budget - self.finished)
        eta = elapsed / self.finished_here * remaining if self.finished_here else math.nan
        duration = trial.duration.total_seconds() if trial.duration else 0.0
        if trial.state == TrialState.COMPLETE:
            detail = f"value={trial.value:.4f}"
        elif trial.state == TrialState.PRUNED:
            last = trial.last_step
            detail = f"pruned at epoch {last}" if last is not None else "pruned"
        else:
            detail = trial.user_attrs.get(FAIL_REASON_ATTR, "failed")
        best = f"best={self.best[0]:.4f} (#{self.best[1]})" if self.best else "best=-"
        return (
            f"[trial {trial.number:>4}] {trial.state.name:<9} {detail:<24} {best}  "
            f"{duration:5.1f}s  {self.finished}/{self.budget} done  "
            f"elapsed {_clock(elapsed)}  ETA {_clock(eta)}"
        )


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _outcome(study: "optuna.Study", spec: StudySpec, shown: str, *, trials_run: int) -> RunOutcome:
    best = None
    with contextlib.suppress(ValueError):
        best = study.best_trial
    return RunOutcome(
        study_name=spec.name,
        metric=spec.metric,
        storage=shown,
        n_finished=count_finished(study),
        budget=spec.n_trials,
        best_value=best.value if best else None,
        best_params=dict(best.params) if best else None,
        best_number=best.number if best else None,
        trials_run=trials_run,
    )
