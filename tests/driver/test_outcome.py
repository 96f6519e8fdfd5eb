"""What a run returns: counts, the best trial by the study's rule, and what the budget counts."""

import optuna

from hpo.driver._outcome import outcome_of
from tests.conftest import quick_spec, run_quick


def test_the_outcome_names_the_best_trial_and_this_calls_trials(sqlite_url):
    spec = quick_spec(n_trials=4)
    outcome, _ = run_quick(spec, sqlite_url)
    study = optuna.load_study(study_name="q", storage=sqlite_url)
    best = min(study.trials, key=lambda t: t.value)
    assert (outcome.n_finished, outcome.budget, outcome.trials_run) == (4, 4, 4)
    assert (outcome.best_number, outcome.best_value, outcome.best_params) == (best.number, best.value, best.params)
    assert outcome.epochs is None and outcome.configurations is None and outcome.pareto_size is None
    again = outcome_of(study, spec.with_overrides(epoch_budget=100), "shown", trials_run=0)
    assert again.epochs == (0, 100) and again.storage == "shown" and again.trials_run == 0


def test_with_re_checks_the_budget_counts_search_trials(sqlite_url):
    spec = quick_spec(n_trials=3)
    run_quick(spec, sqlite_url)
    study = optuna.load_study(study_name="q", storage=sqlite_url)
    outcome = outcome_of(study, spec.with_overrides(confirm_top=1), "shown", trials_run=0)
    assert (outcome.configurations, outcome.counted) == (3, "search trials")
