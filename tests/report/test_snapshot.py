"""One read of a stored study for the report."""

import optuna
import pytest

from hpo.errors import SetupError
from hpo.report._snapshot import take_snapshot


def test_objective_names_come_from_hpo_settings_or_optuna(sqlite_url):
    study = optuna.create_study(study_name="mo", storage=sqlite_url, directions=["maximize", "minimize"])
    study.set_user_attr("hpo_spec", {"metric": "val_accuracy", "also_minimize": "n_params"})
    study.add_trial(optuna.trial.create_trial(values=[0.9, 1000.0]))
    snapshot = take_snapshot(sqlite_url, "mo")
    assert snapshot.metric_names == ("val_accuracy", "n_params") and snapshot.multi_objective
    foreign = optuna.create_study(study_name="foreign", storage=sqlite_url, directions=["minimize"] * 2)
    foreign.add_trial(optuna.trial.create_trial(values=[1.0, 2.0]))
    assert take_snapshot(sqlite_url, "foreign").metric_names == ("Objective 0", "Objective 1")
    assert not take_snapshot(sqlite_url, "foreign").made_by_hpo


def test_unknown_study_names_the_ones_there(sqlite_url):
    optuna.create_study(study_name="a", storage=sqlite_url)
    with pytest.raises(SetupError, match="no study named 'b' in sqlite:///.*; studies here: a"):
        take_snapshot(sqlite_url, "b")
