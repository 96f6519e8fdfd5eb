"""Reports of stored studies: one self-contained HTML file per study (:func:`write_report`),
PNGs on request, the summary ``hpo ls`` and ``hpo show`` print (:class:`StudySummary`) and
``hpo dashboard``. Reporting only reads storage: nothing here imports Keras, an objective or
the driver.
"""

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports

if TYPE_CHECKING:
    from hpo.report._dashboard import run_dashboard
    from hpo.report._importance import IMPORTANCE_EVALUATORS
    from hpo.report._serve import serve_report
    from hpo.report._summary import StudySummary, format_clock, list_studies, load_summary, summarize_study
    from hpo.report._writer import write_report

__all__ = [
    "IMPORTANCE_EVALUATORS", "StudySummary", "format_clock", "list_studies", "load_summary", "run_dashboard",
    "serve_report", "summarize_study", "write_report",
]

_EXPORTS = {
    "hpo.report._dashboard": ("run_dashboard",),
    "hpo.report._importance": ("IMPORTANCE_EVALUATORS",),
    "hpo.report._serve": ("serve_report",),
    "hpo.report._summary": (
        "StudySummary", "format_clock", "list_studies", "load_summary", "summarize_study",
    ),
    "hpo.report._writer": ("write_report",),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
