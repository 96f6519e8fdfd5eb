"""The views of a population-based-training study (``scheduler="pbt"``) that Optuna has no
figure for: the population's lineage and each member's hyperparameter schedule.

Each segment is a trial (:mod:`hpo.schedulers._population`): the lineage draws every segment's
own epochs in its member's colour, from the epoch it started at, so a member that exploited a
better one jumps to that one's curve (the dashed link, from the donor's value at the epoch it
copied); the schedule draws, per parameter that changed, each member's value segment by segment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import hpo.records as records
from hpo.report._display import plotly_text
from hpo.report._section import Section
from hpo.schedulers import SCHEDULER_OPTIONS, members

if TYPE_CHECKING:
    from hpo.report._snapshot import StudySnapshot

# A population rarely has more than a few dozen members; each segment is one trace.
MAX_SEGMENTS = 1500
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


def is_population(snapshot: "StudySnapshot") -> bool:
    return any(records.pbt_member(t.user_attrs) is not None for t in snapshot.trials)


def _own_epochs(trial: Any) -> list[tuple[int, float]]:
    """``(epoch, value)`` of the epochs a segment trained, with the one it started from."""
    curve = sorted(trial.intermediate_values.items())
    first = (records.resumed_from_epoch(trial.user_attrs) or 1) - 1
    return [(step, value) for step, value in curve if step >= first]


def lineage_section(snapshot: "StudySnapshot", metric: str) -> Section:
    import plotly.graph_objects as go

    found = members(snapshot.trials)
    by_number = {t.number: t for t in snapshot.trials}
    figure = go.Figure()
    drawn = 0
    for index, (member, segments) in enumerate(sorted(found.items())):
        color = PALETTE[index % len(PALETTE)]
        for segment in segments:
            if drawn >= MAX_SEGMENTS:
                break
            points = _own_epochs(segment)
            if not points:
                continue
            parent = records.pbt_parent(segment.user_attrs)
            donor = by_number.get(parent) if parent is not None else None
            exploited = donor is not None and records.pbt_member(donor.user_attrs) != member
            hover = (f"member {member}, trial {segment.number}, generation "
                     f"{records.pbt_generation(segment.user_attrs)}"
                     + (f", copied member {records.pbt_member(donor.user_attrs)} (trial {parent})"
                        if exploited and donor is not None else ""))
            figure.add_trace(go.Scatter(
                x=[p[0] for p in points], y=[p[1] for p in points], mode="lines+markers",
                line={"color": color, "dash": "dash" if exploited else "solid"}, marker={"size": 4},
                name=f"member {member}", legendgroup=str(member), showlegend=segment is segments[0],
                hovertext=plotly_text(hover), hoverinfo="text+y"))
            drawn += 1
    figure.update_layout(xaxis_title="Epoch", yaxis_title=metric)
    note = ("Each line is a segment (one trial); a dashed one starts from a better member's checkpoint "
            "(exploit) with perturbed parameters (explore).")
    if drawn >= MAX_SEGMENTS:
        note += f" The first {MAX_SEGMENTS} segments."
    return Section("lineage", "Population lineage", figure, note)


def _mutable(snapshot: "StudySnapshot") -> set[str] | None:
    """The study's ``mutable`` parameters, from its stored settings (None for a study hpo did
    not make: every parameter that changed is drawn)."""
    if snapshot.settings is None:
        return None
    options = snapshot.settings.get("scheduler_options") or {}
    mutable = options.get("mutable", SCHEDULER_OPTIONS["pbt"]["mutable"])
    return {mutable} if isinstance(mutable, str) else set(mutable)


def schedule_section(snapshot: "StudySnapshot") -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    found = members(snapshot.trials)
    changing = sorted({name for segments in found.values() for a, b in zip(segments, segments[1:])
                       for name in a.params if a.params.get(name) != b.params.get(name)})
    mutable = _mutable(snapshot)
    # The others change only when a member takes over a better one's configuration with its
    # checkpoint (the lineage shows those); drawn too, they buried the schedules PBT explores.
    changing = [name for name in changing if mutable is None or name in mutable]
    if not changing:
        return Section("schedule", "Hyperparameter schedules", note="No member's parameters changed yet.")
    figure = make_subplots(rows=len(changing), cols=1, shared_xaxes=True,
                           subplot_titles=[plotly_text(name) for name in changing])
    for index, (member, segments) in enumerate(sorted(found.items())):
        color = PALETTE[index % len(PALETTE)]
        for row, name in enumerate(changing, start=1):
            xs: list[float] = []
            ys: list[Any] = []
            for segment in segments:
                steps = sorted(segment.intermediate_values)
                first = records.resumed_from_epoch(segment.user_attrs) or 1
                if not steps or name not in segment.params:
                    continue
                xs += [first, steps[-1]]
                ys += [segment.params[name], segment.params[name]]
            figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": color, "shape": "hv"},
                                        name=f"member {member}", legendgroup=str(member), showlegend=row == 1),
                             row=row, col=1)
    figure.update_layout(height=max(320, 220 * len(changing)))
    figure.update_xaxes(title_text="Epoch", row=len(changing), col=1)
    for row, name in enumerate(changing, start=1):  # a log-scale parameter (a learning rate) on a log axis
        if any(getattr(t.distributions.get(name), "log", False) for t in snapshot.trials):
            figure.update_yaxes(type="log", row=row, col=1)
    return Section("schedule", "Hyperparameter schedules", figure,
                   "Each member's mutable parameters by epoch: they change when it exploits another member "
                   "and perturbs what it copied.")
