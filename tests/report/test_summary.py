"""`hpo ls` and `hpo show` views of stored studies, and the clock format (no training)."""

import pytest

from hpo.errors import SetupError
from hpo.report.summary import describe_study, format_clock, list_studies
from hpo.storage.database import open_storage
from tests.report.studies import make_study


def test_clock_format():
    assert format_clock(0) == "0:00" and format_clock(61.4) == "1:01"
    assert format_clock(3725) == "1:02:05" and format_clock(float("nan")) == "--:--"


def test_list_has_counts_per_state_and_the_best_value(sqlite_url):
    make_study(sqlite_url)
    [row] = list_studies(open_storage(sqlite_url))
    assert row["name"] == "mixed" and row["direction"] == "maximize" and row["n_trials"] == 9
    assert row["states"] == {"COMPLETE": 6, "PRUNED": 1, "FAIL": 1, "RUNNING": 1, "WAITING": 0}
    assert (row["best_value"], row["best_trial"]) == (pytest.approx(0.74), 5)


def test_show_has_the_best_trial_without_bulky_attributes_and_the_failures(sqlite_url):
    make_study(sqlite_url, extra_attrs={5: {"weight_histograms": {"tensors": [{"name": "k"}]}}})
    info = describe_study(open_storage(sqlite_url), "mixed")
    assert info["best"]["number"] == 5 and info["best"]["user_attrs"] == {"n_params": 6000, "best_epoch": 4}
    assert info["failures"] == [{"number": 7, "reason": "loss became nan at epoch 2"}]
    assert info["settings"]["objective"] == "mlp" and info["pareto_front"] is None
    with pytest.raises(SetupError, match="no study named 'other'"):
        describe_study(open_storage(sqlite_url), "other")


def test_a_multi_objective_study_shows_its_front_and_the_pick_within_its_budget(sqlite_url):
    study = make_study(sqlite_url, directions=("maximize", "minimize"), running=False)
    study.set_user_attr("hpo_spec", {**study.user_attrs["hpo_spec"], "pick_within": 3500})
    storage = open_storage(sqlite_url)
    info = describe_study(storage, "mixed")
    assert [t["number"] for t in info["pareto_front"]] == [0, 1, 2, 3, 4, 5]
    assert info["best"]["number"] == 2 and info["best"]["values"] == [0.6, 3000.0]
    assert list_studies(storage)[0]["best_trial"] == 2  # ls and show agree
