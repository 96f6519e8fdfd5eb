"""Reports opened in a real browser (headless Chromium, network off)."""

import os

import pytest

from hpo.report._writer import write_report
from tests.report.browser import Chromium, file_url, find_chromium
from tests.report.studies import HOSTILE, HOSTILE_CHOICE, make_study

# Truthy once every figure div has been handed to Plotly and has settled (rendered or not).
ALL_FIGURES_SETTLED = """(function () {
  var divs = document.querySelectorAll("div.hpo-figure");
  if (!divs.length) return null;
  var out = [];
  for (var i = 0; i < divs.length; i++) {
    if (!divs[i].dataset.rendered) return null;
    out.push({key: divs[i].dataset.key, rendered: divs[i].dataset.rendered,
              svgs: divs[i].querySelectorAll("svg.main-svg").length,
              traces: divs[i].data ? divs[i].data.length : 0});
  }
  return out;
})()"""

pytestmark = pytest.mark.slow  # every test here drives a Chromium process


@pytest.fixture(scope="module")
def chromium():
    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: scripts/test.sh installs it (scripts/install-chromium.sh)")
        pytest.skip("needs Chromium (scripts/install-chromium.sh)")
    with Chromium(executable) as browser:
        yield browser


def test_built_in_study_report_renders_every_plot_offline_without_console_errors(built_in_study, chromium, tmp_path):
    result = write_report(built_in_study["name"], built_in_study["url"], tmp_path)
    figures, errors = chromium.open(file_url(result.path), ALL_FIGURES_SETTLED)
    assert errors == []
    assert [f["key"] for f in figures] == ["history", "importances", "curves", "parallel", "slice",
                                           "contour-1", "contour-2", "contour-3", "edf", "timeline",
                                           "weights", "size"]
    for figure in figures:
        assert figure["rendered"] == "yes" and figure["svgs"] >= 1 and figure["traces"] >= 1, figure
    # Nothing was fetched: plotly.js is in the page, and the network was off anyway.
    assert chromium.evaluate("performance.getEntriesByType('resource').length") == 0
    assert chromium.evaluate("typeof Plotly") == "object"
    headings = chromium.evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
    assert headings[0] == "Summary" and headings[-1] == "Trials"


def test_markup_from_storage_shows_as_text_and_never_runs(sqlite_url, chromium, tmp_path):
    make_study(sqlite_url, "x<b>y</b>", hostile=True)
    result = write_report("x<b>y</b>", sqlite_url, tmp_path)
    figures, errors = chromium.open(file_url(result.path), ALL_FIGURES_SETTLED)
    assert errors == []
    assert all(f["rendered"] == "yes" for f in figures)
    # The payloads would set data-xss on <body> if the browser ran them.
    assert chromium.evaluate("document.body.getAttribute('data-xss')") is None
    assert chromium.evaluate("document.querySelectorAll('main img, main script:not([type])').length") == 0
    text = chromium.evaluate("document.body.innerText")
    assert HOSTILE in text  # in the table header and the failure reason, as text
    assert "hpo report: x<b>y</b>" == chromium.evaluate("document.title")
    # Inside the plots too: Plotly shows the parameter name and the categorical value literally.
    svg_text = chromium.evaluate(
        "Array.from(document.querySelectorAll('svg text')).map(t => t.textContent).join('\\n')")
    assert HOSTILE in svg_text and HOSTILE_CHOICE in svg_text


def test_trial_table_sorts_by_a_clicked_column(sqlite_url, chromium, tmp_path):
    make_study(sqlite_url, "mixed", n_complete=12)
    result = write_report("mixed", sqlite_url, tmp_path)
    chromium.open(file_url(result.path), ALL_FIGURES_SETTLED)
    column = "Array.from(document.querySelectorAll('#trials tbody tr')).map(r => r.cells[%d].textContent)"
    value_column = 2
    chromium.evaluate(f"document.querySelectorAll('#trials th')[{value_column}].click()")
    ascending = chromium.evaluate(column % value_column)
    numbers = [float(v) for v in ascending if v]
    assert len(numbers) == 12 and numbers == sorted(numbers)
    assert ascending[12:] == ["", "", ""]  # pruned, failed and running trials: no value, last
    chromium.evaluate(f"document.querySelectorAll('#trials th')[{value_column}].click()")
    descending = [float(v) for v in chromium.evaluate(column % value_column) if v]
    assert descending == sorted(numbers, reverse=True)
    # Trial numbers sort as numbers (10 after 9), not as text.
    chromium.evaluate("document.querySelectorAll('#trials th')[0].click()")
    assert [int(n) for n in chromium.evaluate(column % 0)] == list(range(15))
    assert chromium.evaluate("document.querySelector('#trials th').getAttribute('aria-sort')") == "ascending"
