"""The report's figures: Optuna's plot functions on a bounded display copy, plus model views.

Every figure comes from ``optuna.visualization`` except the two Optuna lacks (weight
histograms and metric against parameter count, in :mod:`hpo.report._model_views`). What we add
around Optuna is the bounds: a report of 5,000 trials must stay under 15 MB and 20 s, and
Optuna's contour grid alone grows with trials² (1.45 GB of HTML at 2,000 trials was
measured), so each figure sees at most the trials it can draw usefully.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import optuna
import optuna.visualization as ov
from optuna.importance import (
    BaseImportanceEvaluator,
    FanovaImportanceEvaluator,
    PedAnovaImportanceEvaluator,
)
from optuna.trial import TrialState

import hpo.records as records
from hpo.errors import SetupError
from hpo.report import _model_views as model_views
from hpo.report import _population_views as population_views
from hpo.report._display import DisplayCopy, plotly_text, spread_sample
from hpo.report._importance import IMPORTANCE_EVALUATORS
from hpo.report._section import STATE_COLORS, Section

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from hpo.report._snapshot import StudySnapshot

# Bounds, each chosen so the 5,000-trial benchmark study stays well inside 15 MB / 20 s while
# the figure still shows the best trials and the whole span of the study.
MAX_CURVES = 300  # learning curves: one trace each; the browser slows down beyond a few hundred
MAX_POINTS = 2000  # parallel coordinates and slice plots
CONTOUR_TRIALS = 150  # the contour grid is (distinct values)² per pair
CONTOUR_PARAMS = 3  # pairs among the most important parameters: 3 pairs
MAX_SLICE_PARAMS = 12
# Optuna lays the slice plots out in one row 300 px per parameter (3,600 px for 12): wider than
# any page. hpo re-lays them out in rows of this many, as wide as the page.
SLICE_COLUMNS = 4
SLICE_ROW_HEIGHT = 320
MAX_TIMELINE_BARS = 1000

class _ImportanceOnce(BaseImportanceEvaluator):
    """Optuna's importance plot computes importances itself; the contour section needs them
    too. This wrapper computes them once (fANOVA takes minutes on thousands of trials)."""

    def __init__(self, inner: BaseImportanceEvaluator) -> None:
        self._inner = inner
        self._cache: dict[tuple[str, ...] | None, dict[str, float]] = {}

    def evaluate(self, study, params=None, *, target=None) -> dict[str, float]:
        if target is not None:  # a per-objective target of a multi-objective study
            return self._inner.evaluate(study, params=params, target=target)
        key = tuple(params) if params is not None else None
        if key not in self._cache:
            self._cache[key] = self._inner.evaluate(study, params=params)
        return self._cache[key]


def make_evaluator(name: str) -> BaseImportanceEvaluator:
    if name == "ped-anova":
        return PedAnovaImportanceEvaluator()
    if name == "fanova":
        return FanovaImportanceEvaluator(seed=0)
    raise SetupError(f"unknown importance evaluator {name!r} (one of: {', '.join(IMPORTANCE_EVALUATORS)})")


class FigureBuilder:
    """Builds the sections of one study's report from its display copy."""

    def __init__(self, snapshot: "StudySnapshot", copy: DisplayCopy, importance: str = "ped-anova",
                 warn: Callable[[str], None] | None = None) -> None:
        self.snapshot = snapshot
        self.copy = copy
        self.study = copy.study
        self.evaluator = _ImportanceOnce(make_evaluator(importance))
        self.importance_name = "fANOVA" if importance == "fanova" else "PED-ANOVA"
        self.warn = warn or (lambda line: print(line, file=sys.stderr))
        self.trials = self.study.get_trials(deepcopy=False)
        self.complete = [t for t in self.trials if t.state == TrialState.COMPLETE]
        self.maximize = snapshot.directions[0] == "maximize"
        self.metric = plotly_text(snapshot.metric_names[0])
        # Single-objective figures of a multi-objective study show its first objective.
        self.target: Callable[[optuna.trial.FrozenTrial], float] | None = (
            (lambda trial: trial.values[0]) if snapshot.multi_objective else None
        )
        self._importances: dict[str, float] | None = None
        self._importance_caveats: list[str] = []

    # ----------------------------------------------------------------------------------------
    def sections(self) -> list[Section]:
        builders: list[tuple[str, str, Callable[[], Section | list[Section]]]] = [
            ("history", "Optimization history", self.history),
            ("importances", f"Parameter importances ({self.importance_name})", self.importances),
            ("curves", "Learning curves (intermediate values)", self.curves),
            ("parallel", "Parallel coordinates", self.parallel),
            ("slice", "Slice plots", self.slice),
            ("contour", "Contour plots of the most important parameter pairs", self.contours),
            ("edf", "Empirical distribution of the objective (EDF)", self.edf),
            ("timeline", "Timeline", self.timeline),
        ]
        if population_views.is_population(self.snapshot):
            builders[3:3] = [
                ("lineage", "Population lineage", lambda: population_views.lineage_section(self.snapshot, self.metric)),
                ("schedule", "Hyperparameter schedules", lambda: population_views.schedule_section(self.snapshot)),
            ]
        if self.snapshot.multi_objective:
            builders.append(("pareto", "Pareto front", self.pareto))
        builders += [
            ("weights", "Weight histograms of the best model",
             lambda: model_views.weight_histograms_section(self.snapshot)),
            ("size", "Validation metric against parameter count",
             lambda: model_views.metric_vs_size_section(self.snapshot)),
        ]
        out: list[Section] = []
        for key, title, build in builders:
            try:
                made = build()
            except Exception as error:  # noqa: BLE001 - one broken figure must not cost the report
                # Optuna's figures of foreign studies can fail in ways we cannot foresee; the
                # reason is shown in the report and printed, not hidden.
                reason = f"{type(error).__name__}: {error}".splitlines()[0]
                self.warn(f"report: {title.lower()} not drawn: {reason}")
                made = Section(key, title, note=f"Could not be drawn: {reason}")
            for section in made if isinstance(made, list) else [made]:
                if not section.title:
                    section.title = title
                out.append(section)
        return out

    # ----------------------------------------------------------------------------------------
    def _need_complete(self, key: str, at_least: int = 1) -> Section | None:
        if len(self.complete) >= at_least:
            return None
        have = len(self.complete)
        return Section(key, "", note=f"Needs at least {at_least} complete trial"
                       f"{'s' if at_least > 1 else ''}; the study has {have}.")

    def history(self) -> Section:
        if missing := self._need_complete("history"):
            return missing
        figure = ov.plot_optimization_history(self.study, target=self.target, target_name=self.metric)
        return Section("history", "", figure, note=_with_error_bars(figure, self.complete, self.metric))

    def importance_values(self) -> dict[str, float]:
        if self._importances is None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self._importances = optuna.importance.get_param_importances(
                    self.study, evaluator=self.evaluator, target=self.target)
            # PED-ANOVA warns per parameter on small studies; one note says it in the report.
            self._importance_caveats = sorted({str(w.message).split(". ")[0] for w in caught})
        return self._importances

    def importances(self) -> Section:
        if missing := self._need_complete("importances", 2):
            return missing
        if not self.importance_values():
            return Section("importances", "", note="No parameter varies across the complete trials.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # said once, in the note below
            figure = ov.plot_param_importances(self.study, evaluator=self.evaluator,
                                               target=self.target, target_name=self.metric)
        note = ""
        if self._importance_caveats:
            note = (f"Rough: {len(self.complete)} complete trials; {self.importance_name} says: "
                    + "; ".join(self._importance_caveats[:3])
                    + ("; ..." if len(self._importance_caveats) > 3 else "") + ".")
        return Section("importances", "", figure, note)

    def curves(self) -> Section:
        reported = [t for t in self.trials if t.intermediate_values]
        if not reported:
            return Section("curves", "", note="No trial reported intermediate values.")
        shown = spread_sample(reported, MAX_CURVES, n_best=MAX_CURVES // 3, maximize=self.maximize)
        figure = ov.plot_intermediate_values(self.copy.view(shown))
        _color_curves_by_state(figure, {t.number: t.state.name for t in reported})
        figure.update_layout(xaxis_title="Epoch", yaxis_title=self.metric)
        return Section("curves", "", figure, _bound_note(len(shown), len(reported), "trials' curves",
                                                        "the best third and the rest spread over the study"))

    def _complete_sample(self, limit: int) -> tuple[list[int], str]:
        shown = spread_sample(self.complete, limit, n_best=limit // 4, maximize=self.maximize)
        return shown, _bound_note(len(shown), len(self.complete), "complete trials",
                                  "the best quarter and the rest spread over the study")

    def parallel(self) -> Section:
        if missing := self._need_complete("parallel"):
            return missing
        shown, note = self._complete_sample(MAX_POINTS)
        figure = ov.plot_parallel_coordinate(self.copy.view(shown), target=self.target,
                                             target_name=self.metric)
        return Section("parallel", "", figure, note)

    def slice(self) -> Section:
        if missing := self._need_complete("slice"):
            return missing
        shown, note = self._complete_sample(MAX_POINTS)
        params = self._ranked_params()[:MAX_SLICE_PARAMS]
        if len(self._ranked_params()) > MAX_SLICE_PARAMS:
            note = " ".join(filter(None, [note, f"The {MAX_SLICE_PARAMS} most important parameters."]))
        figure = ov.plot_slice(self.copy.view(shown), params=params or None, target=self.target,
                               target_name=self.metric)
        return Section("slice", "", _in_rows(figure, SLICE_COLUMNS), note)

    def _ranked_params(self) -> list[str]:
        """Parameter names, most important first (all names when importances cannot be had)."""
        names = sorted({name for t in self.complete for name in t.params})
        ranked: list[str] = []
        if len(self.complete) >= 2:
            try:
                ranked = list(self.importance_values())
            except Exception:  # noqa: BLE001 - the importance section shows and prints why
                ranked = []
        return ranked + [name for name in names if name not in ranked]

    def contours(self) -> Section | list[Section]:
        if missing := self._need_complete("contour", 2):
            return missing
        top = self._ranked_params()[:CONTOUR_PARAMS]
        if len(top) < 2:
            return Section("contour", "", note="Needs at least two parameters.")
        shown, note = self._complete_sample(CONTOUR_TRIALS)
        pairs = [(a, b) for i, a in enumerate(top) for b in top[i + 1:]]
        sections = []
        for number, (x, y) in enumerate(pairs, start=1):
            figure = ov.plot_contour(self.copy.view(shown), params=[x, y], target=self.target,
                                     target_name=self.metric)
            figure.update_layout(title=f"Contour plot: {x} and {y}")
            sections.append(Section(f"contour-{number}", f"Contour: {x} and {y}", figure,
                                    note if number == 1 else ""))
        return sections

    def edf(self) -> Section:
        if missing := self._need_complete("edf"):
            return missing
        figure = ov.plot_edf(self.study, target=self.target, target_name=self.metric)
        return Section("edf", "", figure)

    def timeline(self) -> Section:
        recent = MAX_TIMELINE_BARS if len(self.trials) > MAX_TIMELINE_BARS else None
        figure = ov.plot_timeline(self.study, n_recent_trials=recent)
        note = (f"The {MAX_TIMELINE_BARS} most recent of {len(self.trials)} trials."
                if recent else "")
        return Section("timeline", "", figure, note)

    def pareto(self) -> Section:
        n_objectives = len(self.snapshot.directions)
        if n_objectives > 3:
            return Section("pareto", "", note=f"Drawn for 2 or 3 objectives; the study has {n_objectives}.")
        if missing := self._need_complete("pareto"):
            return missing
        names = [plotly_text(name) for name in self.snapshot.metric_names]
        figure = ov.plot_pareto_front(self.study, target_names=names)
        return Section("pareto", "", figure)


def _with_error_bars(figure: "go.Figure", complete: list["optuna.trial.FrozenTrial"], name: str) -> str:
    """Error bars (± the standard error of a mean over folds or seeds, ``value_se``) on the
    history's trial values; the note says what they are and which trials re-checked leaders."""
    errors = {t.number: se for t in complete if (se := records.value_se(t.user_attrs)) is not None}
    if not errors:
        return ""
    for trace in figure.data:
        if getattr(trace, "name", None) == name and trace.x is not None:  # the trials' values
            trace.error_y = {"type": "data", "array": [errors.get(int(x), 0.0) for x in trace.x], "visible": True}
    rechecks = sorted(t.number for t in complete if records.confirms(t.user_attrs) is not None)
    note = "Bars: ± the standard error of each trial's mean over its folds or seeds."
    if rechecks:
        note += (f" Trials {', '.join(map(str, rechecks))} re-checked the leaders on fresh folds; the pick is "
                 "among them (the best-value line counts every trial).")
    return note


def _in_rows(figure: "go.Figure", columns: int) -> "go.Figure":
    """Optuna's one-row subplot figure (traces on axes x, x2, ...) re-laid out in rows of
    ``columns`` subplots that fit the page's width, each axis keeping its settings (log or
    categorical scale, title)."""
    import math

    from plotly.subplots import make_subplots

    def axis_number(trace: object) -> int:
        name = getattr(trace, "xaxis", None) or "x"
        return int(name[1:] or 1)

    count = max((axis_number(trace) for trace in figure.data), default=1)
    if count <= columns:
        figure.update_layout(width=None)  # Optuna fixed it at 300 px per plot; the page decides
        return figure
    rows = math.ceil(count / columns)
    grid = make_subplots(rows=rows, cols=columns, shared_yaxes=True, horizontal_spacing=0.03,
                         vertical_spacing=min(0.3 / rows + 0.04, 0.15))
    for trace in figure.data:
        index = axis_number(trace) - 1
        grid.add_trace(trace, row=index // columns + 1, col=index % columns + 1)
    kept = ("title", "type", "categoryorder", "categoryarray", "tickvals", "ticktext", "range")
    for index in range(count):
        source = figure.layout[f"xaxis{index + 1 if index else ''}"].to_plotly_json()
        grid.update_xaxes({key: value for key, value in source.items() if key in kept},
                          row=index // columns + 1, col=index % columns + 1)
    y_title = figure.layout.yaxis.title.text
    for row in range(1, rows + 1):
        grid.update_yaxes(title_text=y_title, row=row, col=1)
    grid.update_layout(title=figure.layout.title, showlegend=False, height=SLICE_ROW_HEIGHT * rows + 80,
                       template=figure.layout.template)
    return grid


def _color_curves_by_state(figure: "go.Figure", states: dict[int, str]) -> None:
    """Optuna draws every curve alike; pruned and complete trials are told apart here."""
    shown_legend: set[str] = set()
    for trace in figure.data:
        named = re.fullmatch(r"Trial ?(\d+)", str(trace.name))
        if named is None:  # not Optuna's naming any more: leave the trace as it is
            continue
        number = int(named.group(1))
        state = states.get(number, "OTHER")
        color = STATE_COLORS.get(state, "#999999")
        trace.update(
            line={"color": color, "width": 1},
            marker={"color": color},
            opacity=0.8 if state == "COMPLETE" else 0.45,
            legendgroup=state,
            showlegend=state not in shown_legend,
            name=state.lower(),
            hovertemplate=f"trial {number} ({state.lower()})<br>epoch %{{x}}: %{{y}}<extra></extra>",
        )
        shown_legend.add(state)
    figure.update_layout(showlegend=True)


def _bound_note(shown: int, total: int, what: str, how: str) -> str:
    return "" if shown >= total else f"Showing {shown} of {total} {what}: {how}."


def figure_json(figure: "go.Figure") -> str:
    """Plotly's JSON of ``figure``, safe inside a ``<script>`` element (Plotly escapes
    ``<``, ``>`` and ``/``)."""
    import plotly.io as pio

    return pio.to_json(figure, validate=False, remove_uids=True)

