"""Grid search over the parameters a study script lists, the objective's defaults elsewhere.

Optuna's ``GridSampler`` fails a trial that suggests a parameter outside its grid. An
objective suggests many parameters (and some only conditionally, like ``units_1`` when
``n_layers`` is 2), while a grid names a few, so parameters left out of the grid take the
objective's recommended ``DEFAULT_PARAMS`` value. :func:`check_grid` tries every grid point
against the objective's ``suggest`` before the run, so a gap is reported before any training.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna

from hpo.errors import SetupError

MAX_POINTS_CHECKED = 10_000


class GridWithDefaults(optuna.samplers.GridSampler):
    def __init__(self, grid: Mapping[str, Sequence[Any]], defaults: Mapping[str, Any], *,
                 seed: int | None = None) -> None:
        super().__init__({name: list(values) for name, values in grid.items()}, seed=seed)
        self._grid_names = frozenset(grid)
        self._defaults = dict(defaults)

    def sample_independent(self, study, trial, param_name, param_distribution):
        if param_name in self._grid_names:
            return super().sample_independent(study, trial, param_name, param_distribution)
        if param_name in self._defaults:
            return self._defaults[param_name]
        raise ValueError(f"parameter {param_name!r} is neither in the grid nor in the "
                         "objective's DEFAULT_PARAMS; add it to the grid")


def check_grid(grid: Mapping[str, Sequence[Any]], defaults: Mapping[str, Any],
               suggest: Callable[[optuna.trial.BaseTrial], Any]) -> None:
    """Every grid point, completed with the defaults, must be a configuration ``suggest``
    accepts, and every grid parameter must be one it suggests; otherwise one line saying so."""
    names = list(grid)
    used: set[str] = set()
    points = itertools.islice(itertools.product(*(grid[name] for name in names)), MAX_POINTS_CHECKED)
    for values in points:
        point = dict(zip(names, values))
        trial = optuna.trial.FixedTrial({**defaults, **point})
        try:
            suggest(trial)
        except ValueError as error:  # FixedTrial: "The value of the parameter 'x' is not found"
            named = re.search(r"parameter '([^']+)'", str(error))
            what = repr(named.group(1)) if named else str(error)
            raise SetupError(f"grid point {point} has no value for {what}, which the objective "
                             "then suggests and has no default for; add it to the grid") from None
        used |= set(trial.params)
    never_used = sorted(set(names) - used)
    if never_used:
        raise SetupError(f"the grid names parameters the objective never suggests: {', '.join(never_used)}")
