"""What a run prints: the line it starts with (:func:`start_line`) and the progress line
printed after each trial.

```
[trial   14] COMPLETE  value=0.9806             best=0.9806 (#14)    3.1s  15/30 done  elapsed 0:52  ETA 0:52
```

Counts and the best trial are read from storage, so with several workers every line shows the
whole study's progress. ``elapsed`` and the ETA count from the start of the run, not of the
process: ``hpo run`` hands its start to its workers (:data:`RUN_CLOCK_ENV`), so a recycled
worker's lines do not restart at 0:00. The clock's format is the report's
(:func:`hpo.report._summary.format_clock`).
"""

from __future__ import annotations

import math
import os
import time
from typing import TYPE_CHECKING, Callable

import hpo.records as records
from hpo._environment import RUN_CLOCK_ENV
from hpo._selection import chosen_in_study
from hpo.driver._budget import count_finished
from hpo.driver._notebook import ProgressBar, in_notebook, lines_hidden
from hpo.report import format_clock
from hpo.storage import FinishedTrial, best_value, epochs_charged

if TYPE_CHECKING:
    import optuna

    from hpo.schedulers import Scheduler
    from hpo.study import StudySpec


def start_line(spec: "StudySpec", shown: str, finished: int, *, is_new: bool, keras: bool) -> str:
    """``created study 'x' in sqlite:///...: 0/30 finished, sampler tpe, pruner median,
    val_accuracy (maximize), 2 workers, Keras on tensorflow``."""
    verb = "created" if is_new else "resumed"
    workers = f", {spec.workers} workers" if spec.workers > 1 else ""
    if spec.multi_objective:
        goal = (f"{spec.metric} ({spec.direction}) and {spec.also_minimize} (minimize), "
                f"no pruning (Optuna prunes single-objective studies only)")
    elif spec.scheduler != "none":
        goal = f"scheduler {spec.scheduler}, {spec.metric} ({spec.direction})"
    else:
        goal = f"pruner {spec.pruner}, {spec.metric} ({spec.direction})"
    if spec.epoch_budget is not None:
        goal += f", epoch budget {spec.epoch_budget}"
    backend = f", Keras on {spec.backend}" if keras else ""
    return (f"{verb} study {spec.name!r} in {shown}: {finished}/{spec.n_trials} finished, "
            f"sampler {spec.sampler}, {goal}{workers}{backend}")



def run_clock_value(finished: int) -> str:
    """The :data:`RUN_CLOCK_ENV` value for a run starting now with ``finished`` trials done."""
    return f"{time.time():.3f},{finished}"


def _inherited_clock() -> tuple[float, int] | None:
    """(seconds since the run started, finished trials at its start) from the parent, if any."""
    started, _, finished = os.environ.get(RUN_CLOCK_ENV, "").partition(",")
    try:
        return max(0.0, time.time() - float(started)), int(finished)
    except ValueError:
        return None


class ProgressPrinter:
    """One line per finished trial: number, state, value, best so far, time, elapsed, ETA, and
    the GPU it trained on (none is shown for the CPU)."""

    def __init__(self, budget: int, finished: int, out: Callable[[str], None],
                 pick_within: float | None = None, device: str = "CPU", epoch_budget: int | None = None,
                 unit: str = "done", rechecks: bool = False, bar: "ProgressBar | None" = None) -> None:
        self.budget = budget
        self.bar = bar  # in a notebook: one live bar instead of a line per trial (hpo.driver._notebook)
        self.bar_shown = False
        self.rechecks = rechecks  # confirm_top: the best is the pick among the re-checks (hpo._selection)
        self.unit = unit  # "segments done" in a PBT study: its budget counts segments
        self.epoch_budget = epoch_budget  # shown as "epochs 12/600" (hpo.driver._budget.EpochLedger)
        self.epochs: int | None = None
        self.device = device  # shown when it is a GPU (hpo.driver._devices)
        self.pick_within = pick_within
        self.finished = self.finished_at_start = finished
        self.out = out
        self.best: tuple[float, int] | None = None
        self.started = time.monotonic()
        inherited = _inherited_clock()
        if inherited is not None:
            elapsed, self.finished_at_start = inherited
            self.started -= elapsed

    @classmethod
    def for_study(cls, spec: "StudySpec", finished: int, out: Callable[[str], None], device: str, *,
                  scheduler: "Scheduler | None" = None) -> "ProgressPrinter":
        """The printer of a study's run; with a scheduler, what it counts is the scheduler's
        (:meth:`hpo.schedulers.Scheduler.progress_budget`: a PBT study counts segments)."""
        budget, unit = scheduler.progress_budget(spec.n_trials) if scheduler is not None else (spec.n_trials, "done")
        bar = ProgressBar(spec.name) if in_notebook() else None
        return cls(budget, finished, out, spec.pick_within, device, spec.epoch_budget, unit,
                   rechecks=spec.confirm_top > 0, bar=bar)

    def __call__(self, study: "optuna.Study", trial: "optuna.trial.FrozenTrial | FinishedTrial") -> None:
        if lines_hidden():
            return  # a worker of a run in a notebook: its parent's bar shows the study
        counted = getattr(trial, "finished_in_study", None)  # read with the trial (hpo.storage._queries)
        self._read(study, counted)
        line = self.format_line(trial)
        if self.bar is not None:
            self._show(line)
        else:
            self.out(line)

    def refresh(self, study: "optuna.Study") -> None:
        """Update the bar from storage (a run whose trials run in worker processes)."""
        if self.bar is not None:
            before = self.finished
            self._read(study, None)
            if self.finished != before or not self.bar_shown:
                self._show("trials run in worker processes")

    def _read(self, study: "optuna.Study", counted: int | None) -> None:
        self.finished = counted if counted is not None else count_finished(study)
        if self.epoch_budget is not None:
            self.epochs = epochs_charged(study)
        if len(study.directions) == 1 and not self.rechecks:
            self.best = best_value(study)  # one query, not every trial loaded
        else:
            best = chosen_in_study(study, self.pick_within)
            self.best = (best.values[0], best.number) if best is not None and best.values else None

    def _clock(self) -> tuple[float, float]:
        """(seconds elapsed, seconds to go at this run's pace; NaN before its first trial)."""
        elapsed = time.monotonic() - self.started
        remaining = max(0, self.budget - self.finished)
        progress = self.finished - self.finished_at_start
        return elapsed, elapsed / progress * remaining if progress > 0 else math.nan

    def _best_text(self) -> str:
        return f"best={self.best[0]:.4f} (#{self.best[1]})" if self.best else "best=-"

    def _show(self, last: str) -> None:
        assert self.bar is not None
        self.bar_shown = True
        elapsed, eta = self._clock()
        self.bar.update(done=self.finished, budget=self.budget, unit=self.unit, best=self._best_text(), last=last,
                        elapsed=format_clock(elapsed), eta=format_clock(eta))

    def format_line(self, trial: "optuna.trial.FrozenTrial | FinishedTrial") -> str:
        from optuna.trial import TrialState

        elapsed, eta = self._clock()
        duration = trial.duration.total_seconds() if trial.duration else 0.0
        if trial.state == TrialState.COMPLETE:
            detail = "value=" + "/".join(f"{value:.4g}" if abs(value) >= 1e4 else f"{value:.4f}"
                                         for value in trial.values or ())
            se = records.value_se(trial.user_attrs)  # cv or repeats: the mean's standard error
            if se is not None:
                detail += f" ± {se:.4f}"
        elif trial.state == TrialState.PRUNED and (paused := records.paused_at_epoch(trial.user_attrs)):
            member = records.pbt_member(trial.user_attrs)
            detail = f"paused at epoch {paused}" if member is None else f"member {member} at epoch {paused}"
        elif trial.state == TrialState.PRUNED:
            last = trial.last_step
            detail = f"pruned at epoch {last}" if last is not None else "pruned"
        else:
            detail = trial.user_attrs.get(records.FAIL_REASON, "failed")
        best = self._best_text()
        device = f"  on {self.device}" if self.device != "CPU" else ""
        epochs = f"  epochs {self.epochs}/{self.epoch_budget}" if self.epochs is not None else ""
        checked = records.confirms(trial.user_attrs)
        count = f"re-check of #{checked}" if checked is not None else f"{self.finished}/{self.budget} {self.unit}"
        return (
            f"[trial {trial.number:>4}] {trial.state.name:<9} {detail:<24} {best}  "
            f"{duration:5.1f}s  {count}{epochs}  "
            f"elapsed {format_clock(elapsed)}  ETA {format_clock(eta)}{device}"
        )
