"""The error taxonomy.

Two kinds of trouble, handled differently (KerasTuner's ``errors.py`` draws the same line):

* :class:`SetupError` - the study cannot run at all (broken study script, unknown sampler,
  unreachable storage, missing dataset). The CLI prints its message on one line and exits 2;
  nothing stored is changed.
* :class:`TrialFailure` - one trial went wrong (NaN loss, out of memory, an exception in the
  model). The trial is recorded as FAIL with the reason on it and the study goes on.
"""

from __future__ import annotations


class HpoError(Exception):
    """Base class of every error hpo raises on purpose."""


class SetupError(HpoError):
    """The study cannot be run as configured. The message is one line a user can act on."""


class StudyScriptError(SetupError):
    """A study script could not be loaded or does not define a valid ``STUDY``."""


class StorageError(SetupError):
    """The storage URL cannot be opened, is not an Optuna database, or is corrupt."""


class DatasetUnavailableError(SetupError):
    """A dataset is neither cached locally nor downloadable."""


class MonitorMissingError(SetupError):
    """The monitored metric is not in Keras' logs: every trial would fail the same way."""


class TooManyFailuresError(HpoError):
    """Several trials failed in a row; the study stops so a bug does not burn the budget."""


class TrialFailure(HpoError):
    """Fails the current trial with a stored reason; the study goes on."""


class NonFiniteLossError(TrialFailure):
    """The training loss or the monitored metric became NaN or infinite."""
