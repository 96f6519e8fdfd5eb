"""One-query answers from the study's database: counts by state, the best trial."""

import math

import optuna
import pytest

from hpo import selection, storage_queries


def _study(url, direction, values):
    study = optuna.create_study(storage=url, direction=direction)
    for value in values:
        trial = study.ask()
        if value is None:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
    return study


@pytest.mark.parametrize("direction, values, best", [
    ("minimize", [0.5, None, 0.2, 0.9, 0.2], (0.2, 2)),  # equal values: the earlier trial
    ("maximize", [0.5, 0.9, None, 0.9, 0.1], (0.9, 1)),
    ("minimize", [0.5, -math.inf, 0.1], (-math.inf, 1)),  # stored as a type, not a value
    ("maximize", [0.5, math.inf, 0.7], (math.inf, 1)),
    ("maximize", [None, None], None),
])
def test_the_best_trial_from_one_query_is_the_one_hpo_would_choose(sqlite_url, direction, values, best):
    study = _study(sqlite_url, direction, values)
    assert storage_queries.best_value(study) == best
    chosen = selection.chosen_in_study(study)
    assert (None if chosen is None else (chosen.value, chosen.number)) == best


def test_without_a_database_or_with_two_objectives_optunas_api_answers():
    in_memory = optuna.create_study(direction="maximize")
    in_memory.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert storage_queries.best_value(in_memory) == (in_memory.best_value, in_memory.best_trial.number)
    two = optuna.create_study(directions=["minimize", "minimize"])
    two.optimize(lambda t: (t.number + 1.0, 1.0 / (t.number + 1)), n_trials=3)
    assert storage_queries.best_value(two) == (1.0, 0)  # the first objective's best, earlier on ties
