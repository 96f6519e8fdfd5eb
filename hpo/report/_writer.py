"""Make a study's report: read storage once, draw the figures, write one HTML file."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hpo.errors import PngUnavailable, SetupError


@dataclasses.dataclass(frozen=True)
class ReportResult:
    path: Path
    bytes: int
    seconds: float
    n_trials: int
    n_figures: int
    png_paths: tuple[Path, ...] = ()
    png_problem: str | None = None  # why no PNGs were written, when they were asked for


def default_report_dir(name: str) -> Path:
    from hpo.storage import runtime_dir

    return runtime_dir() / "reports" / name


def write_report(
    name: str,
    storage_url: str,
    out_dir: Path | None = None,
    *,
    importance: str = "ped-anova",
    png: bool = False,
    warn: Callable[[str], None] | None = None,
) -> ReportResult:
    """Write ``out_dir/report.html`` (default ``hpo-runs/reports/NAME/``) for study ``name``.

    With ``png`` each figure is also written as ``out_dir/figures/KEY.png``; when that is
    impossible (no Chromium), ``png_problem`` says why and the HTML is written all the same.
    """
    import plotly.offline

    from hpo.report._display import DisplayCopy
    from hpo.report._figures import FigureBuilder, make_evaluator
    from hpo.report._page import render_page
    from hpo.report._snapshot import take_snapshot

    started = time.perf_counter()
    make_evaluator(importance)  # an unknown name fails before storage is read
    warn = warn or (lambda line: print(line, file=sys.stderr))
    snapshot = take_snapshot(storage_url, name)
    copy = DisplayCopy(snapshot)
    sections = FigureBuilder(snapshot, copy, importance, warn).sections()
    html = render_page(snapshot, sections, plotly.offline.get_plotlyjs(), importance)

    directory = Path(out_dir) if out_dir is not None else default_report_dir(name)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "report.html"
        partial = directory / ".report.html.partial"
        partial.write_text(html, encoding="utf-8")
        os.replace(partial, path)  # a browser or server never sees half a report
    except OSError as error:
        raise SetupError(f"cannot write the report to {directory}: {error.strerror or error}") from error

    png_paths: tuple[Path, ...] = ()
    png_problem = None
    if png:
        from hpo.report._png import export_png

        try:
            png_paths = tuple(export_png(sections, directory / "figures"))
        except PngUnavailable as error:
            png_problem = str(error)
    return ReportResult(
        path=path,
        bytes=path.stat().st_size,
        seconds=time.perf_counter() - started,
        n_trials=len(snapshot.trials),
        n_figures=sum(section.figure is not None for section in sections),
        png_paths=png_paths,
        png_problem=png_problem,
    )
