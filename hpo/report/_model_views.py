"""Model-level views from the articles that Optuna has no figure for.

* per-layer weight histograms of the best model (seed 001's parameter visualisation), from
  the ``weight_histograms`` attribute hpo stores with a trial whose model became the best;
* the validation metric against the parameter count (``n_params``, recorded per trial), to
  see what model size buys.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from optuna.trial import TrialState

import hpo.records as records
from hpo._selection import chosen_trial
from hpo.report._display import plotly_text
from hpo.report._section import STATE_COLORS, Section

if TYPE_CHECKING:
    import optuna

    from hpo.report._snapshot import StudySnapshot

HISTOGRAM_COLUMNS = 3


def best_trial(snapshot: "StudySnapshot") -> "optuna.trial.FrozenTrial | None":
    """The trial the study stands for, by the rule ``hpo show`` uses (:mod:`hpo._selection`)."""
    return chosen_trial(snapshot.trials, snapshot.directions, records.pick_within(snapshot.settings))


def weight_histograms_section(snapshot: "StudySnapshot") -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    best = best_trial(snapshot)
    if best is None:
        return Section("weights", "", note="No complete trial yet.")
    stored = records.weight_histograms(best.user_attrs)
    if stored is None:
        why = ("hpo stores them with the model of each trial that becomes the best"
               if snapshot.made_by_hpo else "the study was not made by hpo, which stores them")
        return Section("weights", "", note=f"Trial {best.number} has no weight histograms stored ({why}).")
    tensors = stored["tensors"]
    columns = min(HISTOGRAM_COLUMNS, len(tensors))
    rows = math.ceil(len(tensors) / columns)
    titles = [plotly_text(f"{t['name']} {tuple(t['shape'])}") for t in tensors]
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=titles,
                           vertical_spacing=min(0.3 / rows + 0.02, 0.12))
    for index, tensor in enumerate(tensors):
        edges, counts = tensor["edges"], tensor["counts"]
        centers = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
        widths = [b - a for a, b in zip(edges, edges[1:])]
        figure.add_trace(
            go.Bar(x=centers, y=counts, width=widths, marker_color=STATE_COLORS["COMPLETE"],
                   showlegend=False, name=titles[index],
                   hovertemplate="%{x:.3g}: %{y} weights<extra></extra>"),
            row=index // columns + 1, col=index % columns + 1,
        )
    epoch = records.best_epoch(best.user_attrs)
    at = f", best epoch {epoch}" if epoch is not None else ""
    figure.update_layout(
        title=f"Weight histograms of trial {best.number}{at}",
        height=max(320, 230 * rows), bargap=0,
    )
    note = ""
    if stored.get("n_tensors", len(tensors)) > len(tensors):
        note = f"The first {len(tensors)} of {stored['n_tensors']} weight tensors."
    return Section("weights", "", figure, note)


def metric_vs_size_section(snapshot: "StudySnapshot") -> Section:
    import plotly.graph_objects as go

    points: dict[str, tuple[list[int], list[float], list[str]]] = {
        "COMPLETE": ([], [], []), "PRUNED": ([], [], []),
    }
    for trial in snapshot.trials:
        n_params = records.n_params(trial.user_attrs)
        if n_params is None or n_params <= 0 or trial.state.name not in points:
            continue
        if trial.state == TrialState.COMPLETE and trial.values:
            value = trial.values[0]
        elif trial.intermediate_values:  # a pruned trial: where its curve stopped
            value = trial.intermediate_values[max(trial.intermediate_values)]
        else:
            continue
        xs, ys, texts = points[trial.state.name]
        xs.append(n_params)
        ys.append(value)
        texts.append(f"trial {trial.number}")
    if not any(xs for xs, _, _ in points.values()):
        return Section("size", "", note="No trial has a parameter count stored "
                       "(hpo records n_params for every trial it trains).")
    metric = plotly_text(snapshot.metric_names[0])
    figure = go.Figure()
    for state, (xs, ys, texts) in points.items():
        if xs:
            label = "complete" if state == "COMPLETE" else "pruned (last reported value)"
            figure.add_trace(go.Scatter(
                x=xs, y=ys, text=texts, mode="markers", name=label,
                marker={"color": STATE_COLORS[state], "size": 6,
                        "opacity": 0.8 if state == "COMPLETE" else 0.5},
                hovertemplate="%{text}<br>%{x:,} parameters<br>%{y:.4g}<extra></extra>",
            ))
    best = best_trial(snapshot)
    best_size = records.n_params(best.user_attrs) if best is not None else None
    if best is not None and best_size is not None:
        figure.add_trace(go.Scatter(
            x=[best_size], y=[best.values[0]], mode="markers",
            name=f"best (trial {best.number})",
            marker={"symbol": "star", "size": 16, "color": "#d62728"},
        ))
    figure.update_layout(title=f"{metric} against parameter count", xaxis_type="log",
                         xaxis_title="parameters (log scale)", yaxis_title=metric)
    return Section("size", "", figure)
