"""Re-checking the leaders: which trials, queued once, and the budget that runs them."""

import optuna
from optuna.trial import TrialState

import hpo.records as records
from hpo.driver import _budget as budget
from hpo.driver._confirmation import leaders_to_recheck, queue_recheck
from tests.conftest import quick_spec


def _study(values, direction="minimize"):
    study = optuna.create_study(direction=direction)
    for value in values:
        trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
        if value is None:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, value)
    return study


def test_the_leaders_are_the_best_complete_search_trials_not_yet_rechecked():
    study = _study([0.5, 0.1, None, 0.3, 0.2])
    spec = quick_spec(n_trials=5, confirm_top=2)
    assert [t.number for t in leaders_to_recheck(study.get_trials(), spec)] == [1, 4]
    queue_recheck(study, spec, study.trials[1])
    waiting = study.trials[-1]
    assert waiting.state == TrialState.WAITING and waiting.system_attrs["fixed_params"] == study.trials[1].params
    assert records.confirms(waiting.user_attrs) == 1 and waiting.user_attrs[records.SEED] == spec.seed + 1
    assert [t.number for t in leaders_to_recheck(study.get_trials(), spec)] == [4]
    maximised = quick_spec(n_trials=5, confirm_top=1, direction="maximize")
    assert [t.number for t in leaders_to_recheck(_study([0.5, 0.9]).get_trials(), maximised)] == [1]


def test_the_budget_runs_the_search_then_one_recheck_per_leader_then_is_done():
    spec = quick_spec(n_trials=3, confirm_top=2)
    study = _study([0.5, 0.1])
    state = budget.budget_state(study, spec)
    assert state.may_start and state.recheck is None  # the search is not done
    study = _study([0.5, 0.1, 0.3])
    state = budget.budget_state(study, spec)
    assert state.may_start and state.recheck.number == 1 and not state.done
    queue_recheck(study, spec, state.recheck)
    assert budget.budget_state(study, spec).may_start  # the queued re-check runs next
    trial = study.ask()
    assert records.confirms(trial.user_attrs) == 1  # Optuna starts the queued trial first
    running = budget.budget_state(study, spec)
    assert running.may_start and running.recheck.number == 2  # the second leader, meanwhile
    study.tell(trial, 0.2)
    queue_recheck(study, spec, study.trials[2])
    study.tell(study.ask(), state=TrialState.FAIL)  # a re-check that failed for good
    state = budget.budget_state(study, spec)
    assert state.done and not state.may_start
