"""`hpo ls` and `hpo show` views of stored studies, and the clock format (no training)."""

import pytest

from hpo.errors import SetupError
from hpo.report._summary import describe_study, format_clock, list_studies, summarize
from hpo.storage._database import open_storage
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


def _trial(number, state, start, end, value=None, reason=None):
    import datetime

    import optuna
    from optuna.trial import TrialState

    t0 = datetime.datetime(2026, 1, 1, 12, 0, 0)
    return optuna.trial.FrozenTrial(
        number=number, state=TrialState[state], value=value, values=None,
        datetime_start=None if start is None else t0 + datetime.timedelta(seconds=start),
        datetime_complete=None if end is None else t0 + datetime.timedelta(seconds=end),
        params={"units": 8 * (number + 1)},
        distributions={"units": optuna.distributions.IntDistribution(8, 128)},
        user_attrs={} if reason is None else {"fail_reason": reason}, system_attrs={},
        intermediate_values={}, trial_id=number)


def test_one_summary_record_counts_times_and_failures_for_every_view():
    import datetime

    trials = [
        _trial(0, "COMPLETE", 0, 10, value=0.5),
        _trial(1, "PRUNED", 5, 8, value=0.2),
        _trial(2, "FAIL", 10, 12, reason="loss became nan at epoch 2"),
        _trial(3, "RUNNING", 20, None),  # counted until the summary was taken
        _trial(4, "WAITING", None, None),
    ]
    now = datetime.datetime(2026, 1, 1, 12, 0, 30)
    summary = summarize("s", trials, ["maximize"], {"pick_within": None}, now=now)
    assert summary.states == {"COMPLETE": 1, "PRUNED": 1, "FAIL": 1, "RUNNING": 1, "WAITING": 1}
    assert summary.n_trials == 5 and summary.n_finished == 2 and summary.best.number == 0
    assert summary.trial_seconds == 10 + 3 + 2 + 10 and summary.finished_seconds == (10.0, 3.0)
    assert summary.wall_seconds == 12  # first start to the last end stored
    assert summary.failures == ((2, "loss became nan at epoch 2"),)
    assert summary.row() == {"name": "s", "direction": "maximize", "n_trials": 5, "states": summary.states,
                             "best_value": 0.5, "best_trial": 0}
    shown = summary.to_dict()
    assert shown["best"]["params"] == {"units": 8} and shown["total_trial_seconds"] == 25
    assert shown["failures"] == [{"number": 2, "reason": "loss became nan at epoch 2"}]
    assert summarize("s", trials[4:], ["minimize"], None, now=now).wall_seconds is None


def test_the_report_summary_renders_the_same_record():
    from hpo.report._page import summary_facts

    summary = summarize("s", [_trial(0, "COMPLETE", 0, 10, value=0.5), _trial(1, "FAIL", 1, 2)], ["maximize"], None)
    facts = dict(summary_facts(summary, ["val_accuracy"], "sqlite:///x.db", "fanova"))
    assert facts["Trials"] == "2: 1 complete, 1 fail"
    assert facts["Best val_accuracy"] == "0.5 (trial 0)" and facts["Best parameters"] == "units=8"
    assert facts["Time"].startswith("0:11 of trial time in 0:10 wall-clock; per finished trial: median 10.0 s")
