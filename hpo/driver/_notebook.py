"""In a Jupyter notebook, a run's progress is one live bar instead of a line per trial.

A line per trial fills a notebook cell with hundreds of lines; the bar is one HTML display
(IPython's ``display(..., display_id=True)``, updated in place), with what the progress line
says: trials done of the budget, the best value so far and its trial, the last trial, elapsed
time and ETA. It needs no widget library (tqdm's notebook bar needs ipywidgets, and prints a
plain line per update without it). Worker processes of a run started in a notebook print no
progress lines (:data:`hpo._environment.PROGRESS_ENV`); the run's own process updates the bar
from storage.
"""

from __future__ import annotations

import html
import os
import sys
from typing import Any

from hpo._environment import PROGRESS_ENV

BAR = "bar"  # PROGRESS_ENV's value: the parent shows the bar, workers print no progress lines


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython's ZMQ shell)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def lines_hidden() -> bool:
    """Whether this worker leaves the progress to a bar in its parent."""
    return os.environ.get(PROGRESS_ENV) == BAR


class ProgressBar:
    """One live display, created on the first update."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._handle: Any = None

    def update(self, *, done: int, budget: int, unit: str, best: str, last: str, elapsed: str, eta: str) -> None:
        from IPython.display import display

        text = f"{self.name}: {done}/{budget} {unit}  {best}  elapsed {elapsed}  ETA {eta}  |  {last}"
        percent = 100 * min(done, budget) / budget if budget else 100
        page = (
            f'<div style="font-family: monospace">{html.escape(self.name)} '
            f'<progress value="{min(done, budget)}" max="{budget}" style="width: 40%"></progress> '
            f"<b>{done}/{budget}</b> {html.escape(unit)} ({percent:.0f}%) &nbsp; {html.escape(best)} &nbsp; "
            f"elapsed {elapsed} &nbsp; ETA {eta}<br><small>{html.escape(last)}</small></div>"
        )
        bundle = {"text/plain": text, "text/html": page}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)
