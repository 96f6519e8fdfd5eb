"""The error taxonomy and the exit codes, defined once.

Three kinds of trouble, handled differently (KerasTuner's ``errors.py`` draws the same line
between a failed trial and a fatal error):

* **fatal** - the study cannot go on. :class:`SetupError` (broken study script, unknown
  sampler, unreachable storage, missing dataset): one line on stderr, exit 2, nothing stored
  changed. :class:`TooManyFailuresError`: trials keep failing, exit 1.
* **failed trial** - :class:`TrialFailure` (NaN loss, out of memory, an exception in the
  model): the trial is recorded as FAIL with its reason and the study goes on. Any other
  exception raised by a trial is turned into one by :mod:`hpo.driver._failures`.
* **interrupted** - :class:`TrialInterrupted` and ``KeyboardInterrupt`` (Ctrl-C, SIGTERM):
  the trial is recorded as failed, a retry is queued, exit 130.

Errors that hpo handles itself and never lets reach the user (:class:`CheckpointError`: an
unusable checkpoint means "train from epoch 1"; :class:`PngUnavailable`: a report without
PNGs) live here too, so that a reader finds every error in one file. They also derive from
the built-in class callers would expect (KerasTuner's multiple-inheritance style).
"""

from __future__ import annotations

from typing import Literal

EXIT_OK = 0
EXIT_STUDY_FAILED = 1
EXIT_SETUP = 2
EXIT_INTERRUPTED = 130
# Every fatal error is printed with this prefix; a worker's parent reads its error line by it.
ERROR_PREFIX = "hpo: error: "
# What an exception out of a trial means for the study (classify).
Kind = Literal["pruned", "interrupted", "fatal", "failed", "taken_over"]


class HpoError(Exception):
    """Base class of every error hpo raises on purpose; ``exit_code`` is what the CLI exits with."""

    exit_code = EXIT_STUDY_FAILED


# Fatal ---------------------------------------------------------------------------------------
class SetupError(HpoError):
    """The study cannot be run as configured. The message is one line a user can act on."""

    exit_code = EXIT_SETUP


class StudyScriptError(SetupError):
    """A study script could not be loaded or does not define a valid ``STUDY``."""


class StorageError(SetupError):
    """The storage URL cannot be opened, is not an Optuna database, or is corrupt."""


class DatasetUnavailableError(SetupError):
    """A dataset is neither cached locally nor downloadable."""


class MonitorMissingError(SetupError):
    """The monitored metric is not in Keras' logs: every trial would fail the same way.

    Found before any trial exists (:func:`hpo.trial._checks.check_metric`); should a model
    still not log it, the first epoch finds it too, and the study stops there.
    """


class TooManyFailuresError(HpoError):
    """Several trials failed in a row; the study stops so a bug does not burn the budget."""

    exit_code = EXIT_STUDY_FAILED


class WorkerError(HpoError):
    """A worker process stopped the study; carries the exit code of the worker's own error."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# Failed trial --------------------------------------------------------------------------------
class TrialFailure(HpoError):
    """Fails the current trial with a stored reason; the study goes on."""


class NonFiniteLossError(TrialFailure):
    """The training loss or the monitored metric became NaN or infinite."""


# Interrupted ---------------------------------------------------------------------------------
class TrialInterrupted(KeyboardInterrupt):
    """Raised at an epoch boundary after a stop was requested (Ctrl-C or SIGTERM).

    A ``KeyboardInterrupt`` so that Optuna records the trial as failed and re-raises it, as it
    does for Ctrl-C, instead of catching it as an ordinary failure.
    """


# Handled inside hpo --------------------------------------------------------------------------
class CheckpointError(HpoError, ValueError):
    """A checkpoint that cannot be used (unreadable, or not this model's): train from epoch 1."""


class TrialTakenOver(HpoError):
    """The trial this process runs was finished by another process meanwhile (failed as stale
    while this one was frozen or cut off from its database, and retried): nothing more is
    written into it (:func:`hpo.driver._recovery.taken_over`)."""


class TrialPaused(HpoError):
    """A scheduler's rung reached (:mod:`hpo.schedulers`): the trial runner ends the trial as
    PRUNED with ``paused_at_epoch``, keeping its checkpoint for a continuation."""

    def __init__(self, epoch: int) -> None:
        super().__init__(f"paused after epoch {epoch}")
        self.epoch = epoch


class EpochBudgetSpent(HpoError):
    """The study's ``epoch_budget`` refused the next epoch: training ends, and the trial is
    scored on its epochs so far."""


class PngUnavailable(HpoError):
    """PNG export cannot run on this machine; the message says what to install."""


def exit_code_for(error: BaseException) -> int:
    """The exit code of a command that stopped with ``error``."""
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, HpoError):
        return error.exit_code
    return EXIT_STUDY_FAILED


# The one classification --------------------------------------------------------------------
def classify(error: BaseException) -> Kind:
    """What an exception out of a trial means for the study.

    * ``pruned``: Optuna's ``TrialPruned``, not a failure at all;
    * ``interrupted``: Ctrl-C or SIGTERM: the trial fails, a retry is queued, hpo exits;
    * ``fatal``: a :class:`SetupError`: every trial would fail the same way, the study stops;
    * ``taken_over``: another process finished the trial meanwhile (Optuna refuses a write into
      it, or its checkpoint was handed to its retry): nothing is recorded, the worker goes on
      (:func:`hpo.driver._recovery.taken_over`);
    * ``failed``: anything else: this trial fails with its reason and the study goes on.
    """
    import optuna

    if isinstance(error, optuna.TrialPruned):
        return "pruned"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    if isinstance(error, SetupError):
        return "fatal"
    if _caused_by(error, (optuna.exceptions.UpdateFinishedTrialError, TrialTakenOver)):
        return "taken_over"
    return "failed"


def _caused_by(error: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: BaseException | None = error
    for _ in range(8):  # Keras and Optuna may wrap it
        if seen is None:
            return False
        if isinstance(seen, kinds):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def keeps_checkpoint(error: BaseException) -> bool:
    """Whether a trial that ended with ``error`` keeps its epoch checkpoint: it does when a trial
    will go on from it. A pause (:class:`TrialPaused`: its continuation), an interrupt (its
    retry), a storage given up on (:class:`StorageError`: the trial stays RUNNING and a resume
    retries it), or another process that finished the trial meanwhile (its retry took the
    checkpoint over). Anything else ended the trial for good, and its checkpoint goes."""
    return isinstance(error, (TrialPaused, StorageError)) or classify(error) in ("interrupted", "taken_over")
