"""The report's sections: which figures, with which bounds and notes (no training)."""

import json

import optuna
import pytest

from hpo.report import _figures as figures
from hpo.report._display import DisplayCopy
from hpo.report._figures import FigureBuilder, figure_json
from hpo.report._snapshot import take_snapshot
from tests.report.studies import HOSTILE, make_study

EVERY_SECTION = ["history", "importances", "curves", "parallel", "slice", "contour-1", "contour-2",
                 "contour-3", "edf", "timeline", "weights", "size"]


def build(url, name, **kwargs):
    snapshot = take_snapshot(url, name)
    warnings = []
    sections = FigureBuilder(snapshot, DisplayCopy(snapshot), warn=warnings.append, **kwargs).sections()
    return {s.key: s for s in sections}, warnings


def test_mixed_study_with_pruned_failed_and_running_trials_gets_every_figure(sqlite_url):
    make_study(sqlite_url)
    sections, warnings = build(sqlite_url, "mixed")
    assert list(sections) == EVERY_SECTION
    assert warnings == []
    drawn = {key for key, s in sections.items() if s.figure is not None}
    assert drawn == set(EVERY_SECTION) - {"weights"}  # no histograms stored by create_trial
    assert "no weight histograms stored" in sections["weights"].note
    # Learning curves tell pruned from complete trials; the running trial's curve is there too.
    names = {trace.name for trace in sections["curves"].figure.data}
    assert {"complete", "pruned"} <= names
    assert sections["curves"].figure.layout.yaxis.title.text == "val_accuracy"
    assert sections["history"].figure.data  # Optuna's figure, with our metric name
    contour_pairs = [sections[k].title for k in ("contour-1", "contour-2", "contour-3")]
    assert len(set(contour_pairs)) == 3


def test_bounds_apply_and_are_noted(sqlite_url, monkeypatch):
    make_study(sqlite_url, n_complete=30)
    monkeypatch.setattr(figures, "MAX_CURVES", 9)
    monkeypatch.setattr(figures, "MAX_POINTS", 12)
    monkeypatch.setattr(figures, "CONTOUR_TRIALS", 8)
    monkeypatch.setattr(figures, "MAX_TIMELINE_BARS", 10)
    sections, _ = build(sqlite_url, "mixed")
    assert len(sections["curves"].figure.data) == 9
    assert sections["curves"].note.startswith("Showing 9 of 33")
    assert len(sections["parallel"].figure.data) == 12 + 1  # a line per trial, and the colour bar
    assert "Showing 12 of 30 complete trials" in sections["parallel"].note
    assert sections["contour-1"].note.startswith("Showing 8 of 30")
    assert "10 most recent of 33" in sections["timeline"].note
    # The best trial (29) is among the shown ones.
    assert any("trial 29 (complete)" in trace.hovertemplate for trace in sections["curves"].figure.data)


def test_too_few_trials_give_notes_not_errors(sqlite_url):
    make_study(sqlite_url, n_complete=1)
    sections, warnings = build(sqlite_url, "mixed")
    assert warnings == []
    assert "Needs at least 2 complete trials; the study has 1" in sections["importances"].note
    assert sections["importances"].figure is None and sections["history"].figure is not None
    assert "contour" in sections and sections["contour"].figure is None


def test_study_with_only_failed_and_running_trials(sqlite_url):
    make_study(sqlite_url, n_complete=0)
    sections, warnings = build(sqlite_url, "mixed")
    assert warnings == []
    assert sections["history"].note.startswith("Needs at least 1 complete trial")
    assert sections["timeline"].figure is not None and sections["curves"].figure is not None


def test_foreign_study_leaves_hpo_views_out_with_a_note(sqlite_url):
    make_study(sqlite_url, with_hpo_attrs=False)
    sections, _ = build(sqlite_url, "mixed")
    assert "not made by hpo" in sections["weights"].note
    assert "No trial has a parameter count stored" in sections["size"].note
    assert sections["curves"].figure.layout.yaxis.title.text == "Objective value"


def test_multi_objective_study_gets_a_pareto_front(sqlite_url):
    make_study(sqlite_url, directions=("maximize", "minimize"))
    sections, warnings = build(sqlite_url, "mixed")
    assert warnings == []
    assert sections["pareto"].figure is not None
    assert sections["history"].figure is not None and sections["importances"].figure is not None


def test_a_figure_that_fails_is_noted_and_warned_not_fatal(sqlite_url, monkeypatch):
    make_study(sqlite_url)

    def broken(*args, **kwargs):
        raise ValueError("something Optuna did not expect")

    monkeypatch.setattr(figures.ov, "plot_edf", broken)
    sections, warnings = build(sqlite_url, "mixed")
    assert sections["edf"].note == "Could not be drawn: ValueError: something Optuna did not expect"
    assert warnings == ["report: empirical distribution of the objective (edf) not drawn: "
                        "ValueError: something Optuna did not expect"]
    assert sections["history"].figure is not None


def test_fanova_on_request(sqlite_url):
    make_study(sqlite_url)
    sections, _ = build(sqlite_url, "mixed", importance="fanova")
    assert "fANOVA" in sections["importances"].title


def test_unknown_importance_evaluator_is_a_setup_error():
    from hpo.errors import SetupError

    with pytest.raises(SetupError, match="unknown importance evaluator 'shap'"):
        figures.make_evaluator("shap")


def test_figure_json_cannot_close_its_script_element(sqlite_url):
    make_study(sqlite_url, hostile=True)
    sections, _ = build(sqlite_url, "mixed")
    for section in sections.values():
        if section.figure is not None:
            text = figure_json(section.figure)
            assert "<" not in text and ">" not in text
            json.loads(text)
    # The hostile name reaches the figures escaped for Plotly's markup.
    assert "&lt;img src=x" in json.loads(figure_json(sections["slice"].figure)).__repr__()
    assert HOSTILE not in repr(json.loads(figure_json(sections["slice"].figure)))


def test_importances_of_a_small_study_say_they_are_rough(sqlite_url):
    make_study(sqlite_url, n_complete=3)
    with _NoWarningEscapes():
        sections, _ = build(sqlite_url, "mixed")
    assert sections["importances"].figure is not None


class _NoWarningEscapes:
    """PED-ANOVA's per-parameter warnings become one note instead of stderr noise."""

    def __enter__(self):
        import warnings

        self._catcher = warnings.catch_warnings(record=True)
        self.caught = self._catcher.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._catcher.__exit__(*exc)
        leaked = [w for w in self.caught if "regimes" in str(w.message)]
        assert leaked == []


def test_optuna_logging_is_left_as_it_was(sqlite_url):
    make_study(sqlite_url)
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        build(sqlite_url, "mixed")
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.set_verbosity(before)


def test_many_parameters_slice_in_rows_as_wide_as_the_page(sqlite_url):
    from optuna.distributions import FloatDistribution

    study = optuna.create_study(study_name="wide", storage=sqlite_url, direction="minimize")
    dists = {f"p{i:02d}": FloatDistribution(1e-3, 1.0, log=(i == 5)) for i in range(10)}
    for number in range(6):
        params = {name: 0.001 + 0.1 * ((number + i) % 7) for i, name in enumerate(dists)}
        study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=float(number)))
    figure = build(sqlite_url, "wide")[0]["slice"].figure
    layout = figure.layout
    assert layout.width is None and len(figure.data) == 10  # one scatter per parameter
    axes = [key for key in layout.to_plotly_json() if key.startswith("xaxis")]
    assert len(axes) == 12  # 3 rows of 4
    domains = sorted({tuple(layout[key].domain) for key in axes})
    assert len(domains) == 4 and max(end for _, end in domains) <= 1.0  # 4 columns inside the page
    titled = {layout[key].title.text: layout[key] for key in axes if layout[key].title.text}
    assert len(titled) == 10 and titled["p05"].type == "log"
    assert layout.height > 3 * figures.SLICE_ROW_HEIGHT - 1


def test_means_over_folds_get_error_bars_and_the_rechecks_are_named(sqlite_url):
    make_study(sqlite_url, extra_attrs={0: {"value_se": 0.01, "fold_values": [0.5, 0.6]},
                                        5: {"value_se": 0.02, "confirms": 0, "fold_values": [0.5, 0.6, 0.7]}})
    sections, _ = build(sqlite_url, "mixed")
    history = sections["history"]
    [values] = [trace for trace in history.figure.data if trace.error_y.array is not None]
    bars = dict(zip(values.x, values.error_y.array))
    assert bars[0] == 0.01 and bars[5] == 0.02 and bars[1] == 0.0
    assert "standard error" in history.note and "Trials 5 re-checked the leaders" in history.note
    plain, _ = build(*_plain_study(sqlite_url))
    assert plain["history"].note == ""


def _plain_study(url):
    make_study(url, name="plain")
    return url, "plain"
