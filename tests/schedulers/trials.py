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


def segment(number, member, generation, state, curve, *, parent=None, lr=0.01, interval=2, **attrs):
    """A PBT segment of ``member`` (``interval`` epochs a segment): paused at its end when
    ``state`` is "P", with a learning rate and a batch size to perturb."""
    from optuna.distributions import CategoricalDistribution

    pbt = {"pbt_member": member, "pbt_generation": generation, **({"pbt_parent": parent} if parent is not None else {})}
    if state == "P":
        pbt["paused_at_epoch"] = (generation + 1) * interval
    made = create_trial(
        state=STATES[state], params={"lr": lr, "batch": 64},
        distributions={"lr": FloatDistribution(1e-4, 1e-1, log=True),
                       "batch": CategoricalDistribution([32, 64, 128])},
        value=min(curve) if state == "C" else None, user_attrs={**pbt, **attrs},
        intermediate_values={step: value for step, value in enumerate(curve, start=1)},
    )
    made.number = number
    return made
