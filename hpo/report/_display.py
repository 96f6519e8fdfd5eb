"""The copy of a study that figures are drawn from: strings escaped, views bounded.

Two things Optuna's plot functions cannot do for us, done here once for every figure:

* **Escaping.** Plotly renders a subset of HTML in every label (``<b>``, ``<br>``, ...), so
  a parameter named ``<img src=x onerror=...>`` would be parsed as markup, not shown. The
  copy carries every string that came from storage (study and parameter names, categorical
  values, user attributes) with ``& < >`` escaped; Plotly turns the entities back into text.
* **Bounds.** Some figures grow with trials² (contour) or one trace per trial (learning
  curves). :meth:`DisplayCopy.view` shows a figure function a chosen subset of the trials.

The copy lives in Optuna's in-memory storage; nothing is written back to the real storage.
"""

from __future__ import annotations

import html
from collections.abc import Container, Iterable
from typing import TYPE_CHECKING, Any

import optuna

import hpo.records as records

if TYPE_CHECKING:
    from hpo.report._snapshot import StudySnapshot

# User attributes shown in hover texts; long ones (histograms, tracebacks) would repeat in
# every point of every figure.
MAX_HOVER_ATTR_CHARS = 120


def plotly_text(value: Any) -> str:
    """``value`` as a string Plotly shows literally (``&``, ``<``, ``>`` as entities)."""
    return html.escape(str(value), quote=False)


def _display_value(value: Any) -> Any:
    return plotly_text(value) if isinstance(value, str) else value


def _display_distribution(distribution: optuna.distributions.BaseDistribution):
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return optuna.distributions.CategoricalDistribution([_display_value(choice) for choice in distribution.choices])
    return distribution


def _display_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    shown = {}
    for key, value in attrs.items():
        if key in records.BULKY or not isinstance(value, (str, int, float, bool)) or value is None:
            continue
        if isinstance(value, str) and len(value) > MAX_HOVER_ATTR_CHARS:
            value = value[:MAX_HOVER_ATTR_CHARS] + "..."
        shown[plotly_text(key)] = _display_value(value)
    return shown


class DisplayCopy:
    """An in-memory copy of a snapshot's study for drawing; trial numbers are kept."""

    def __init__(self, snapshot: "StudySnapshot") -> None:
        self.storage = optuna.storages.InMemoryStorage()
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created" line
        try:
            created = optuna.create_study(
                storage=self.storage,
                study_name=plotly_text(snapshot.name),
                directions=list(snapshot.directions),
            )
        finally:
            optuna.logging.set_verbosity(verbosity)
        copies = []
        # Optuna numbers trials in the order they are added; a study's numbers have no gaps.
        for trial in sorted(snapshot.trials, key=lambda t: t.number):
            copy = optuna.trial.create_trial(
                state=trial.state,
                values=trial.values,
                params={plotly_text(k): _display_value(v) for k, v in trial.params.items()},
                distributions={plotly_text(k): _display_distribution(d)
                               for k, d in trial.distributions.items()},
                user_attrs=_display_attrs(trial.user_attrs),
                intermediate_values=dict(trial.intermediate_values),
            )
            copy.datetime_start = trial.datetime_start
            copy.datetime_complete = trial.datetime_complete
            copies.append(copy)
        created.add_trials(copies)
        self.study = _TrialView(created.study_name, self.storage, None)

    def view(self, numbers: Iterable[int]) -> optuna.Study:
        """The copy as seen through the trials numbered ``numbers`` (shares the storage)."""
        return _TrialView(self.study.study_name, self.storage, frozenset(numbers))


class _TrialView(optuna.Study):
    """Optuna's plot functions read trials only through ``Study.get_trials``.

    Filtering there bounds any of them without copying the study again. Deep copies are
    skipped: nothing mutates this private copy, and Optuna's importance plot deep-copies all
    trials once per parameter (``study.trials``), 3 of 13 s of a 5,000-trial report.
    """

    def __init__(self, study_name: str, storage: "optuna.storages.BaseStorage",
                 numbers: frozenset[int] | None) -> None:
        super().__init__(study_name=study_name, storage=storage)
        self._numbers = numbers

    def get_trials(self, deepcopy: bool = True,
                   states: Container[optuna.trial.TrialState] | None = None):
        trials = super().get_trials(deepcopy=False, states=states)
        if self._numbers is None:
            return trials
        return [trial for trial in trials if trial.number in self._numbers]


def spread_sample(
    trials: list[optuna.trial.FrozenTrial], limit: int, *, n_best: int, maximize: bool,
) -> list[int]:
    """Numbers of at most ``limit`` trials: the ``n_best`` best complete ones, then trials
    spread evenly over the study's history, so a bounded figure still shows its whole span."""
    if len(trials) <= limit:
        return [trial.number for trial in trials]
    scored = [t for t in trials if t.values]
    scored.sort(key=lambda t: t.values[0], reverse=maximize)
    chosen = {t.number for t in scored[:n_best]}
    rest = [t.number for t in sorted(trials, key=lambda t: t.number) if t.number not in chosen]
    room = limit - len(chosen)
    if room > 0 and rest:
        step = len(rest) / room
        chosen.update(rest[int(i * step)] for i in range(room))
    return sorted(chosen)
