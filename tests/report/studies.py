"""Small stored studies for report tests, written with ``create_trial`` (no training)."""

from __future__ import annotations

import datetime

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

HOSTILE = "<img src=x onerror=document.body.setAttribute('data-xss','1')>"
HOSTILE_CHOICE = "<script>document.body.setAttribute('data-xss','2')</script>"


def distributions(param: str = "units") -> dict:
    return {
        "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
        param: IntDistribution(8, 512),
        "optimizer": CategoricalDistribution(["adam", "sgd"]),
    }


def make_study(url: str, name: str = "mixed", *, n_complete: int = 6, hostile: bool = False,
               directions: tuple[str, ...] = ("maximize",), with_hpo_attrs: bool = True,
               running: bool = True, extra_attrs: dict[int, dict] | None = None) -> optuna.Study:
    """Complete trials with curves, a pruned, a failed and (optionally) a running trial.

    ``hostile`` puts markup in a parameter name, a categorical value, the failure reason and
    a user attribute; ``with_hpo_attrs`` adds what hpo records (n_params, best_epoch, a spec);
    ``extra_attrs`` maps trial numbers to more user attributes. The last complete trial is best.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    param = HOSTILE if hostile else "units"
    choice = HOSTILE_CHOICE if hostile else "sgd"
    dists = distributions(param)
    dists["optimizer"] = CategoricalDistribution(["adam", choice])
    study = optuna.create_study(study_name=name, storage=url, directions=list(directions))
    if with_hpo_attrs:
        study.set_user_attr("hpo_spec", {"metric": "val_accuracy", "sampler": "tpe", "pruner": "median",
                                         "objective": "mlp", "dataset": "digits", "n_trials": 10})
    start = datetime.datetime(2026, 11, 20, 9, 0, 0)

    def add(number: int, state: TrialState, values, curve: dict, attrs: dict) -> None:
        params = {"learning_rate": 10 ** (-1 - number % 3 - number % 10 / 10), param: 16 + 8 * number,
                  "optimizer": "adam" if number % 2 else choice}
        if with_hpo_attrs:
            attrs = {"n_params": 1000 * (number + 1), **attrs}
        attrs.update((extra_attrs or {}).get(number, {}))
        trial = optuna.trial.create_trial(state=state, values=values, params=params,
                                          distributions=dists, intermediate_values=curve,
                                          user_attrs=attrs)
        trial.datetime_start = start + datetime.timedelta(seconds=10 * number)
        if state != TrialState.RUNNING:
            trial.datetime_complete = trial.datetime_start + datetime.timedelta(seconds=4 + number)
        study.add_trial(trial)

    n_objectives = len(directions)
    for number in range(n_complete):
        value = 0.5 + 0.05 * number - 0.01 * (number % 2)
        values = [value] + [float(1000 * (number + 1))] * (n_objectives - 1)
        curve = {step: value * step / 4 for step in range(1, 5)}
        attrs = {"best_epoch": 4}
        if hostile:
            attrs[HOSTILE] = HOSTILE
        add(number, TrialState.COMPLETE, values, curve, attrs)
    add(n_complete, TrialState.PRUNED, None, {1: 0.1, 2: 0.15}, {})
    reason = f"loss became nan at epoch 2 {HOSTILE}" if hostile else "loss became nan at epoch 2"
    add(n_complete + 1, TrialState.FAIL, None, {1: 0.2}, {"fail_reason": reason})
    if running:
        add(n_complete + 2, TrialState.RUNNING, None, {1: 0.3}, {})
    return study
