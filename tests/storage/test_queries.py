"""One-query answers from the study's database: counts by state, the best trial."""

import math

import optuna
import pytest

from hpo import _selection as selection
from hpo.storage import _queries as storage_queries


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


@pytest.mark.parametrize("directions", [["minimize"], ["maximize", "minimize"]])
def test_a_finished_trial_in_one_query_reads_as_optunas_frozen_trial(sqlite_url, directions):
    study = optuna.create_study(storage=sqlite_url, directions=directions)
    values = [0.5, 2.0][:len(directions)]
    complete = study.ask()
    complete.set_user_attr("value_se", 0.01)
    complete.set_user_attr("confirms", 0)
    study.tell(complete, values if len(values) > 1 else values[0])
    pruned = study.ask()
    for step, value in ((1, 0.9), (3, 0.8)):  # Trial.report is for one objective only
        study._storage.set_trial_intermediate_value(pruned._trial_id, step, value)
    study.tell(pruned, state=optuna.trial.TrialState.PRUNED)
    failed = study.ask()
    failed.set_user_attr("fail_reason", "ValueError: x")
    failed.set_user_attr("n_params", 12)
    study.tell(failed, state=optuna.trial.TrialState.FAIL)
    infinite = study.ask()
    study.tell(infinite, [-math.inf, math.inf][:len(directions)] if len(values) > 1 else -math.inf)
    shown = {"value_se": 0.01, "confirms": 0}
    for trial, attrs in ((complete, shown), (pruned, {}), (failed, {"fail_reason": "ValueError: x"}), (infinite, {})):
        frozen = study._storage.get_trial(trial._trial_id)
        read = storage_queries.finished_trial(study, trial._trial_id)
        assert (read.number, read.state, read.values, read.duration, read.last_step) == \
            (frozen.number, frozen.state, frozen.values, frozen.duration, frozen.last_step)
        assert read.user_attrs == attrs  # what the progress line shows (not n_params)
    assert read.finished_in_study == 3
    in_memory = optuna.create_study()
    in_memory.optimize(lambda t: 1.0, n_trials=1)
    read = storage_queries.finished_trial(in_memory, in_memory.trials[0]._trial_id)
    assert (read.values, read.finished_in_study) == ([1.0], 1)


def test_the_epochs_charged_query_follows_the_rule_on_a_database_and_in_memory(sqlite_url):
    from hpo.schedulers._chains import epochs_charged as rule
    from hpo.storage._optuna_private import trial_id
    from hpo.storage._queries import epochs_charged, finished_trial

    for storage in (sqlite_url, None):
        study = optuna.create_study(storage=storage)
        done = study.ask()
        done.set_user_attr("epochs_run", 4)
        study.tell(done, 1.0)
        paused = study.ask()
        paused.set_user_attr("epochs_run", 1)
        paused.set_user_attr("paused_at_epoch", 1)
        study.tell(paused, state=optuna.trial.TrialState.PRUNED)
        running = study.ask()  # granted its first epoch by starting
        study.enqueue_trial({})  # waiting: nothing yet
        assert epochs_charged(study) == rule(study.trials) == 4 + 1 + 1
        assert epochs_charged(study, excluding=trial_id(running)) == 5
        assert finished_trial(study, trial_id(paused)).user_attrs["paused_at_epoch"] == 1
