"""A section of the report: a titled figure or note, and the colours the figures share."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import plotly.graph_objects as go

STATE_COLORS = {"COMPLETE": "#1f77b4", "PRUNED": "#ff7f0e"}


@dataclasses.dataclass
class Section:
    """One titled part of the report: a figure, a note (bounds applied), or only a note
    saying why there is no figure. Title and note are Plotly text, like the figure's: strings
    from storage in them are escaped (:func:`hpo.report._display.plotly_text`)."""

    key: str  # HTML id and PNG file name
    title: str
    figure: "go.Figure | None" = None
    note: str = ""
