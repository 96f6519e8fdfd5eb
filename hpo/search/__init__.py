"""How a study searches: samplers and pruners by name or import path (:func:`make_sampler`,
:func:`make_pruner`), grids with defaults (:class:`GridWithDefaults`), and a sampler shown
each configuration once (:class:`OnePerConfiguration`). hpo's own pruners are in
:mod:`hpo.pruners`.
"""

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports

if TYPE_CHECKING:
    from hpo.search._continuations import OnePerConfiguration
    from hpo.search._grid import GridWithDefaults, check_grid
    from hpo.search._strategies import (
        PRUNER_NAMES,
        SAMPLER_NAMES,
        TPE_OPTIONS,
        check_pruner_name,
        check_sampler_available,
        check_sampler_name,
        grid_size,
        make_pruner,
        make_sampler,
        require_grid,
    )

__all__ = [
    "GridWithDefaults", "OnePerConfiguration", "PRUNER_NAMES", "SAMPLER_NAMES", "TPE_OPTIONS", "check_grid",
    "check_pruner_name", "check_sampler_available", "check_sampler_name", "grid_size", "make_pruner",
    "make_sampler", "require_grid",
]

_EXPORTS = {
    "hpo.search._continuations": ("OnePerConfiguration",),
    "hpo.search._grid": ("GridWithDefaults", "check_grid"),
    "hpo.search._strategies": (
        "PRUNER_NAMES", "SAMPLER_NAMES", "TPE_OPTIONS", "check_pruner_name", "check_sampler_available",
        "check_sampler_name", "grid_size", "make_pruner", "make_sampler", "require_grid",
    ),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
