"""How a study searches: samplers and pruners by name (:mod:`~hpo.search.strategies`) and
grids with defaults (:mod:`~hpo.search.grid`). hpo's own pruners are in :mod:`hpo.pruners`."""
