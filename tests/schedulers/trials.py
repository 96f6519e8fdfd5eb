"""Frozen trials of a scheduled study, for the scheduler tests (no storage, no training)."""

from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

STATES = {"C": TrialState.COMPLETE, "P": TrialState.PRUNED, "R": TrialState.RUNNING,
          "W": TrialState.WAITING, "F": TrialState.FAIL}


def trial(number, state, curve=(), **attrs):
    """Trial ``number`` in ``state`` (a letter of STATES) whose epochs 1.. reported ``curve``."""
    made = create_trial(
        state=STATES[state], params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)},
        value=max(curve) if state == "C" else None, user_attrs=attrs,
        intermediate_values={step: value for step, value in enumerate(curve, start=1)},
    )
    made.number = number
    return made


def paused(number, curve, **attrs):
    return trial(number, "P", curve, paused_at_epoch=len(curve), **attrs)
