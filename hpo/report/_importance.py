"""The parameter-importance evaluators a report can use (``hpo report --importance``).

A module of its own that imports nothing, so the CLI names the choices without loading plotly
or Optuna; :mod:`hpo.report._figures` computes them.
"""

IMPORTANCE_EVALUATORS = ("ped-anova", "fanova")
