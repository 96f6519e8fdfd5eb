"""The display copy: escaped strings, kept numbers, bounded views (no training)."""

import optuna
import pytest

from hpo.report._display import DisplayCopy, plotly_text, spread_sample
from hpo.report._snapshot import take_snapshot
from tests.report.studies import HOSTILE, HOSTILE_CHOICE, make_study


def test_plotly_text_escapes_markup_only():
    assert plotly_text("<b>a & b</b>") == "&lt;b&gt;a &amp; b&lt;/b&gt;"
    assert plotly_text("it's \"x\"") == "it's \"x\""  # Plotly does not decode &quot;
    assert plotly_text(3) == "3"


@pytest.fixture
def hostile_copy(sqlite_url):
    make_study(sqlite_url, "hostile", hostile=True)
    return DisplayCopy(take_snapshot(sqlite_url, "hostile"))


def test_copy_escapes_names_choices_and_attributes_and_keeps_numbers(hostile_copy):
    trials = hostile_copy.study.get_trials()
    assert len(trials) == 9 and [t.number for t in trials] == list(range(9))
    first = trials[0]
    assert plotly_text(HOSTILE) in first.params and HOSTILE not in first.params
    assert first.params["optimizer"] == plotly_text(HOSTILE_CHOICE)
    assert first.user_attrs[plotly_text(HOSTILE)] == plotly_text(HOSTILE)
    assert isinstance(first.params["learning_rate"], float)
    assert first.intermediate_values == pytest.approx({1: 0.125, 2: 0.25, 3: 0.375, 4: 0.5})
    assert [t.state.name for t in trials[-3:]] == ["PRUNED", "FAIL", "RUNNING"]


def test_copy_hides_bulky_attributes(sqlite_url):
    study = optuna.create_study(study_name="s", storage=sqlite_url)
    trial = study.ask()
    trial.set_user_attr("weight_histograms", {"tensors": []})
    trial.set_user_attr("fail_reason", "x" * 500)
    trial.set_user_attr("n_params", 12)
    study.tell(trial, 1.0)
    copy = DisplayCopy(take_snapshot(sqlite_url, "s"))
    attrs = copy.study.get_trials()[0].user_attrs
    assert "weight_histograms" not in attrs and attrs["n_params"] == 12
    assert len(attrs["fail_reason"]) < 130


def test_view_filters_trials_and_shares_the_copy(hostile_copy):
    view = hostile_copy.view([0, 2, 7])
    assert [t.number for t in view.get_trials()] == [0, 2, 7]
    assert [t.number for t in view.get_trials(states=(optuna.trial.TrialState.COMPLETE,))] == [0, 2]
    assert [t.number for t in view.trials] == [0, 2, 7]
    # No deep copies: the same objects come back each time.
    assert hostile_copy.study.get_trials(deepcopy=True)[0] is hostile_copy.study.get_trials()[0]


def test_spread_sample_keeps_the_best_and_spans_the_study():
    trials = [optuna.trial.create_trial(value=float(i % 97), params={}, distributions={})
              for i in range(1000)]
    for number, trial in enumerate(trials):
        trial.number = number
    chosen = spread_sample(trials, 100, n_best=25, maximize=True)
    assert len(chosen) == 100
    best = sorted(trials, key=lambda t: -t.value)[:25]
    assert {t.number for t in best} <= set(chosen)
    assert min(chosen) < 50 and max(chosen) > 900
    assert spread_sample(trials[:10], 100, n_best=25, maximize=True) == list(range(10))
    smallest = spread_sample(trials, 100, n_best=25, maximize=False)
    assert {t.number for t in sorted(trials, key=lambda t: t.value)[:25]} <= set(smallest)
