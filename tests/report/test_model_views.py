"""The report's model views: weight histograms and the metric against the parameter count."""

from hpo.report import _model_views as model_views
from hpo.report._snapshot import take_snapshot
from tests.report.studies import make_study


def test_weight_histograms_of_the_best_trial(sqlite_url):
    histograms = {"tensors": [{"name": "dense/kernel", "shape": [3, 2], "edges": [0, 0.5, 1],
                               "counts": [4, 2]}], "n_tensors": 1}
    make_study(sqlite_url, extra_attrs={5: {"weight_histograms": histograms}})
    figure = model_views.weight_histograms_section(take_snapshot(sqlite_url, "mixed")).figure
    assert figure is not None and figure.layout.title.text == "Weight histograms of trial 5, best epoch 4"
    assert list(figure.data[0].y) == [4, 2] and list(figure.data[0].x) == [0.25, 0.75]


def test_metric_against_size_puts_pruned_trials_at_their_last_value(sqlite_url):
    make_study(sqlite_url)
    section = model_views.metric_vs_size_section(take_snapshot(sqlite_url, "mixed"))
    traces = {trace.name: trace for trace in section.figure.data}
    assert list(traces["pruned (last reported value)"].y) == [0.15]
    assert traces["best (trial 5)"].x == (6000,)
    assert section.figure.layout.xaxis.type == "log"


def test_the_reports_best_trial_follows_the_studys_pick_rule(sqlite_url):
    study = make_study(sqlite_url, directions=("maximize", "minimize"), running=False)
    # Trial 5 has the best metric but 6,000 parameters; within 3,500 the pick is trial 2.
    study.set_user_attr("hpo_spec", {**study.user_attrs["hpo_spec"], "pick_within": 3500})
    snapshot = take_snapshot(sqlite_url, "mixed")
    assert model_views.best_trial(snapshot).number == 2
    study.set_user_attr("hpo_spec", {**study.user_attrs["hpo_spec"], "pick_within": None})
    assert model_views.best_trial(take_snapshot(sqlite_url, "mixed")).number == 5
