"""The one rule for the best trial, on plain lists of trials and on stored studies."""

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from hpo._selection import chosen_in_study, chosen_trial, pareto_front


def _trials(values_list, states=None):
    trials = []
    for number, values in enumerate(values_list):
        state = (states or {}).get(number, TrialState.COMPLETE)
        trial = create_trial(state=state, values=values if state == TrialState.COMPLETE else None,
                             params={}, distributions={})
        trial.number = number
        trials.append(trial)
    return trials


def test_single_objective_best_value_in_the_studys_direction_and_ties_to_the_earlier_trial():
    trials = _trials([[0.3], [0.9], [0.9], [0.1]], states={4: TrialState.PRUNED})
    assert chosen_trial(trials, ["maximize"]).number == 1
    assert chosen_trial(trials, ["minimize"]).number == 3
    assert chosen_trial(_trials([]), ["maximize"]) is None


def test_the_pareto_front_and_its_pick_within_a_budget():
    # (accuracy up, parameters down): 0 and 3 are dominated by 1 and 2.
    trials = _trials([[0.80, 5000.0], [0.90, 2000.0], [0.95, 8000.0], [0.85, 9000.0], [0.70, 1000.0]])
    directions = ["maximize", "minimize"]
    assert [t.number for t in pareto_front(trials, directions)] == [1, 2, 4]
    assert chosen_trial(trials, directions).number == 2  # no budget: the best metric
    assert chosen_trial(trials, directions, pick_within=3000).number == 1
    assert chosen_trial(trials, directions, pick_within=500) is None


def test_a_stored_study_agrees_with_optuna_on_its_best_trial_and_front():
    study = optuna.create_study(directions=["maximize", "minimize"])
    for x in (0.1, 0.5, 0.9, 0.3):
        study.add_trial(create_trial(values=[x, x * x * 100 + (5 if x == 0.3 else 0)],
                                     params={"x": x}, distributions={"x": FloatDistribution(0, 1)}))
    assert [t.number for t in pareto_front(study.trials, study.directions)] == \
        sorted(t.number for t in study.best_trials)
    single = optuna.create_study(direction="minimize")
    single.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.2) ** 2, n_trials=8)
    assert chosen_in_study(single).number == single.best_trial.number


def test_once_leaders_are_rechecked_the_pick_is_among_the_rechecks():
    trials = _trials([[0.99], [0.95], [0.93], [0.96]])
    trials[2].user_attrs["confirms"] = 0  # 0's re-check: its mean over all evaluations fell
    trials[3].user_attrs["confirms"] = 1
    assert chosen_trial(trials, ["maximize"]).number == 3
    assert chosen_trial(trials[:2], ["maximize"]).number == 0  # before any re-check: the best value
