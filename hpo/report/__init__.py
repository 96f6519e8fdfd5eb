"""Reports of stored studies: one self-contained HTML file per study, PNGs on request.

Reporting only reads storage. Entry point: :func:`hpo.report.writer.write_report`. This
module imports nothing, so the CLI can name the choices without loading plotly or Optuna.
"""

IMPORTANCE_EVALUATORS = ("ped-anova", "fanova")
