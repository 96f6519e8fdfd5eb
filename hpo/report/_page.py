"""The report as one self-contained HTML page: summary, figures, a sortable trial table.

plotly.js is embedded once (no CDN: the report opens offline) and each figure is a JSON
island that a few lines of script hand to ``Plotly.newPlot``. Every string from storage goes
through :func:`html.escape` here; figure JSON is escaped by Plotly (``<`` as ``\\u003c``), and
the strings inside figures were escaped for Plotly's own markup by the display copy.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from html import escape, unescape
from typing import TYPE_CHECKING, Any

from optuna.trial import TrialState

import hpo.records as records
from hpo.report._figures import figure_json
from hpo.report._section import Section
from hpo.report._summary import StudySummary, format_clock, summarize, trial_seconds

if TYPE_CHECKING:
    from hpo.report._snapshot import StudySnapshot

MAX_TABLE_ROWS = 20_000

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #263238; color: #fff; padding: 14px 24px; }
header h1 { margin: 0; font-size: 20px; } header p { margin: 4px 0 0; color: #cfd8dc; }
nav { padding: 8px 24px; background: #eceff1; position: sticky; top: 0; z-index: 10; }
nav a { margin-right: 14px; color: #1565c0; text-decoration: none; white-space: nowrap; }
main { padding: 0 24px 40px; }
section { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; margin: 18px 0; padding: 10px 16px; }
h2 { font-size: 17px; margin: 6px 0 8px; }
.note { color: #555; font-style: italic; margin: 2px 0 8px; }
.hpo-figure { width: 100%; min-height: 420px; }
table { border-collapse: collapse; font-size: 13px; }
.summary td { padding: 3px 14px 3px 0; vertical-align: top; } .summary td:first-child { color: #555; }
#trials { display: block; overflow: auto; max-height: 70vh; }
#trials th { position: sticky; top: 0; background: #eceff1; cursor: pointer; user-select: none; }
#trials th, #trials td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; white-space: nowrap; }
#trials td.reason { white-space: normal; min-width: 240px; }
#trials th[aria-sort=ascending]::after { content: " \\25B2"; }
#trials th[aria-sort=descending]::after { content: " \\25BC"; }
.COMPLETE { color: #1b5e20; } .PRUNED { color: #e65100; } .FAIL { color: #b71c1c; } .RUNNING { color: #0d47a1; }
"""

# Renders every figure island; marks each div so a browser test can tell it rendered.
_RENDER_SCRIPT = """
(function () {
  var config = {responsive: true, displaylogo: false};
  document.querySelectorAll("div.hpo-figure").forEach(function (div) {
    var spec = JSON.parse(document.getElementById("data-" + div.dataset.key).textContent);
    Plotly.newPlot(div, spec.data, spec.layout, config).then(
      function () { div.dataset.rendered = "yes"; },
      function (error) { div.dataset.rendered = "error"; console.error(error); });
  });
})();
"""

# Click a header to sort by it; numbers compare as numbers, empty cells go last.
_SORT_SCRIPT = """
(function () {
  var table = document.getElementById("trials");
  if (!table) return;
  var body = table.tBodies[0];
  table.querySelectorAll("th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var text = row.cells[column].textContent;
        var number = parseFloat(text);
        return {empty: text === "", number: isNaN(number) || !isFinite(text) ? null : number, text: text};
      };
      var keyed = rows.map(function (row) { return [key(row), row]; });
      keyed.sort(function (a, b) {
        var x = a[0], y = b[0];
        if (x.empty !== y.empty) return x.empty ? 1 : -1;
        var order = (x.number !== null && y.number !== null) ? x.number - y.number
                    : x.text.localeCompare(y.text, undefined, {numeric: true});
        return ascending ? order : -order;
      });
      keyed.forEach(function (pair) { body.appendChild(pair[1]); });
    });
  });
})();
"""


def render_page(snapshot: "StudySnapshot", sections: list[Section], plotly_js: str,
                importance: str) -> str:
    """The whole report as one HTML string."""
    title = f"hpo report: {snapshot.name}"
    links = ['<a href="#summary">Summary</a>']
    links += [f'<a href="#{escape(s.key)}">{escape(unescape(s.title))}</a>' for s in sections]
    links.append('<a href="#trials-section">Trials</a>')
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        f"<script>{plotly_js}</script>",
        "</head><body>",
        f"<header><h1>{escape(title)}</h1><p>made {snapshot.taken_at:%Y-%m-%d %H:%M:%S} "
        f"from {len(snapshot.trials)} trials in {escape(snapshot.storage)}</p></header>",
        f"<nav>{' '.join(links)}</nav>",
        "<main>",
        _summary_section(snapshot, importance),
    ]
    for section in sections:
        parts.append(_figure_section(section))
    parts.append(_trials_section(snapshot))
    parts += ["</main>", f"<script>{_RENDER_SCRIPT}</script>", f"<script>{_SORT_SCRIPT}</script>",
              "</body></html>"]
    return "\n".join(parts)


def _figure_section(section: Section) -> str:
    key = escape(section.key)
    # Titles and notes name parameters in Plotly's escaped form (display copy): unescape once.
    out = [f'<section id="{key}"><h2>{escape(unescape(section.title))}</h2>']
    if section.note:
        out.append(f'<p class="note">{escape(unescape(section.note))}</p>')
    if section.figure is not None:
        out.append(f'<div class="hpo-figure" data-key="{key}"></div>')
        out.append(f'<script type="application/json" id="data-{key}">{figure_json(section.figure)}</script>')
    out.append("</section>")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
def _fmt(value: Any, digits: int = 6) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def summary_facts(summary: StudySummary, metric_names: Sequence[str], storage: str,
                  importance: str) -> list[tuple[str, str]]:
    """(label, text) pairs of the summary; plain text, escaped by the caller."""
    multi = len(summary.directions) > 1
    objectives = ", ".join(f"{name} ({direction})" for name, direction in zip(metric_names, summary.directions))
    facts = [
        ("Study", summary.name),
        ("Objective" + ("s" if multi else ""), objectives),
        ("Trials", f"{summary.n_trials}: " + ", ".join(
            f"{count} {state.lower()}" for state, count in summary.states.items() if count)),
    ]
    best = summary.best
    if best is None:
        facts.append(("Best", "no complete trial yet"))
    else:
        label = f"Best {metric_names[0]}" + (" (first objective)" if multi else "")
        se = records.value_se(best.user_attrs)  # a mean over folds or seeds (hpo.trial._evaluations)
        spread = f" ± {_fmt(se, 3)} (mean of {len(records.fold_values(best.user_attrs))} evaluations)" if se else ""
        rechecked = records.confirms(best.user_attrs)
        spread += f", re-check of trial {rechecked}" if rechecked is not None else ""
        facts.append((label, f"{_fmt(best.values[0])}{spread} (trial {best.number})"))
        facts.append(("Best parameters", ", ".join(f"{k}={_fmt(v, 4)}" for k, v in best.params.items())))
        if summary.pareto_front:
            front = [t.number for t in summary.pareto_front]
            facts.append(("Pareto front", f"{len(front)} trials: " + ", ".join(map(str, front))))
    if summary.wall_seconds is not None:
        time_text = (f"{format_clock(summary.trial_seconds)} of trial time in "
                     f"{format_clock(summary.wall_seconds)} wall-clock")
        if durations := summary.finished_seconds:
            time_text += (f"; per finished trial: median {statistics.median(durations):.1f} s, "
                          f"mean {statistics.fmean(durations):.1f} s, max {max(durations):.1f} s")
        facts.append(("Time", time_text))
    facts.append(("Storage", storage))
    settings = summary.settings
    if settings is None:
        facts.append(("Sampler and pruner", "not recorded: the study was not made by hpo, so hpo's "
                      "own views (settings, weight histograms, parameter counts) may be missing"))
    else:
        facts.append(("Sampler", str(settings.get("sampler"))))
        facts.append(("Pruner", str(settings.get("pruner"))))
        facts.append(("hpo settings", ", ".join(
            f"{key} {settings[key]}" for key in
            ("objective", "dataset", "n_trials", "max_epochs", "patience", "seed", "workers")
            if key in settings)))
    facts.append(("Importance evaluator", "fANOVA" if importance == "fanova" else "PED-ANOVA"))
    return facts


def _summary_section(snapshot: "StudySnapshot", importance: str) -> str:
    summary = summarize(snapshot.name, snapshot.trials, snapshot.directions, snapshot.settings, now=snapshot.taken_at)
    rows = "".join(f"<tr><td>{escape(label)}</td><td>{escape(text)}</td></tr>"
                   for label, text in summary_facts(summary, snapshot.metric_names, snapshot.storage, importance))
    return f'<section id="summary"><h2>Summary</h2><table class="summary">{rows}</table></section>'


def _trials_section(snapshot: "StudySnapshot") -> str:
    trials = sorted(snapshot.trials, key=lambda t: t.number)
    shown = trials[:MAX_TABLE_ROWS]
    param_names = sorted({name for t in trials for name in t.params})
    value_names = list(snapshot.metric_names)
    headers = (["#", "state"] + value_names + ["duration (s)"] + param_names
               + ["parameter count", "best epoch", "failure reason"])
    now = snapshot.taken_at
    rows = []
    for trial in shown:
        values = list(trial.values) if trial.values else [None] * len(value_names)
        duration = trial_seconds(trial, now)
        reason = trial.user_attrs.get(records.FAIL_REASON, "") if trial.state == TrialState.FAIL else ""
        state = trial.state.name
        cells = ([_fmt(v) for v in values] + ["" if duration is None else f"{duration:.1f}"]
                 + [_fmt(trial.params.get(name), 4) for name in param_names]
                 + [_fmt(records.n_params(trial.user_attrs)), _fmt(records.best_epoch(trial.user_attrs))])
        rows.append(f'<tr><td>{trial.number}</td><td class="{state}">{state}</td>'
                    + "".join(f"<td>{escape(cell)}</td>" for cell in cells)
                    + f'<td class="reason">{escape(str(reason))}</td></tr>')
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    note = ""
    if len(shown) < len(trials):
        note = f'<p class="note">The first {len(shown)} of {len(trials)} trials.</p>'
    return (f'<section id="trials-section"><h2>Trials</h2>{note}'
            f'<p class="note">Click a column header to sort.</p>'
            f'<table id="trials"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            "</section>")
