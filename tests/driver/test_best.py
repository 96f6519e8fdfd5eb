"""`hpo best` refuses what it cannot retrain (the retraining itself: test_cli.py, test_search_e2e.py)."""

import pytest

from hpo.driver._best import train_best
from hpo.driver._study_setup import prepare
from hpo.errors import SetupError
from tests.conftest import quick_spec, run_quick


def test_a_study_without_a_complete_trial_is_one_line(sqlite_url):
    prepare(quick_spec(name="empty"), sqlite_url, load_objective=False, out=print)
    with pytest.raises(SetupError, match="study 'empty' has no complete trial yet; run it first"):
        train_best("empty", storage_url=sqlite_url)


def test_a_pick_rule_no_trial_meets_is_named(sqlite_url):
    spec = quick_spec(name="mo", also_minimize="n_params", pick_within=0.5, sampler="random", n_trials=2)
    run_quick(spec, sqlite_url, objective=lambda trial: (trial.suggest_float("x", 0, 1), 1000.0))
    with pytest.raises(SetupError, match="no trial on the Pareto front of study 'mo' has n_params within pick_within=0.5"):
        train_best("mo", storage_url=sqlite_url)


def test_an_unknown_study_is_one_line(sqlite_url):
    run_quick(quick_spec(n_trials=1), sqlite_url)
    with pytest.raises(SetupError, match="no study named 'other'"):
        train_best("other", storage_url=sqlite_url)


@pytest.mark.slow
def test_data_without_a_test_split_is_retrained_and_says_there_is_nothing_to_score(sqlite_url):
    import numpy as np

    import hpo

    x = np.random.default_rng(0).normal(size=(60, 3)).astype("float32")
    data = hpo.Data((x, (x[:, 0] > 0).astype("int64")), validation=0.25)
    hpo.run(hpo.StudySpec(name="no-test", n_trials=1, max_epochs=1), data=data, storage=sqlite_url)
    result = train_best("no-test", storage_url=sqlite_url, in_memory=data)
    assert result.test_metrics == {} and result.model_path.is_file()
    assert "hpo_test_evaluation" not in hpo.load_study("no-test", storage=sqlite_url).user_attrs
