"""Retries of trials whose process died or was stopped.

A retry is a new trial with the dead trial's parameters, queued with ``enqueue_trial``. It
takes over the dead trial's epoch checkpoint and seed, so it continues the same learning
curve. The link is stored on the retry as user attributes (Optuna's
``RetryHeartbeatStaleTrialCallback`` keeps it in system attributes, which views do not show).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import optuna

    from hpo.study_files import StudyFiles

RETRY_OF_ATTR = "retry_of"  # number of the trial this one retries
RETRY_ATTEMPT_ATTR = "retry_attempt"  # 1 for the first retry of a trial, 2 for its retry's retry
SEED_ATTR = "seed"  # Keras seed, carried over so a retry from epoch 1 repeats the original


def trial_seed(study_seed: int, number: int, user_attrs: Mapping[str, Any]) -> int:
    """A trial's Keras seed: its own number's, or the original trial's for a retry."""
    return int(user_attrs.get(SEED_ATTR, study_seed + number))


def queue_retry(
    study: "optuna.Study",
    *,
    number: int,
    params: Mapping[str, Any],
    user_attrs: Mapping[str, Any],
    study_seed: int,
    max_retries: int,
    files: "StudyFiles",
) -> str:
    """Queue a retry of trial ``number``, unless it has been retried ``max_retries`` times.

    Returns what happened, for the log line.
    """
    attempt = int(user_attrs.get(RETRY_ATTEMPT_ATTR, 0)) + 1
    if attempt > max_retries:
        files.checkpoint(number).remove()
        return f"not retried: its trial was already retried {max_retries} times"
    study.enqueue_trial(
        dict(params),
        user_attrs={
            RETRY_OF_ATTR: number,
            RETRY_ATTEMPT_ATTR: attempt,
            SEED_ATTR: trial_seed(study_seed, number, user_attrs),
        },
    )
    epochs = files.checkpoint(number).epochs_done()
    where = f"from epoch {epochs + 1}" if epochs else "from epoch 1 (no checkpoint)"
    return f"retry queued {where}"
