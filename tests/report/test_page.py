"""The HTML page: summary, escaping, the trial table, one embedded plotly.js (no training)."""

import re

import pytest

from hpo.report._writer import write_report
from tests.report.studies import HOSTILE, HOSTILE_CHOICE, make_study


@pytest.fixture
def hostile_report(sqlite_url, tmp_path):
    make_study(sqlite_url, "x<b>y</b>", hostile=True)
    result = write_report("x<b>y</b>", sqlite_url, tmp_path / "out")
    return result.path.read_text(encoding="utf-8")


def test_every_string_from_storage_is_escaped(hostile_report):
    page = hostile_report
    for raw in (HOSTILE, HOSTILE_CHOICE, "x<b>y</b>"):
        assert raw not in page
    assert "&lt;img src=x onerror=document.body.setAttribute(&#x27;data-xss&#x27;,&#x27;1&#x27;)&gt;" in page
    assert "<title>hpo report: x&lt;b&gt;y&lt;/b&gt;</title>" in page
    # The only <script> elements are ours: plotly.js, the figure islands, render and sort.
    scripts = re.findall(r"<script[^>]*>", page)
    assert set(scripts) == {"<script>", *{s for s in scripts if s.startswith('<script type="application/json"')}}


def test_plotly_js_is_embedded_once_and_nothing_is_fetched(hostile_report):
    page = hostile_report
    assert page.count("Plotly.newPlot") == 1
    assert len(re.findall(r"plotly\.js v\d", page)) == 1  # the library's banner
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)


def test_summary_counts_best_time_storage_and_settings(sqlite_url, tmp_path):
    make_study(sqlite_url.replace("studies.db", "s.db"), "mixed")
    url = sqlite_url.replace("studies.db", "s.db")
    page = write_report("mixed", url, tmp_path / "out").path.read_text()
    summary = page[page.index('id="summary"'):page.index("</section>", page.index('id="summary"'))]
    assert "9: 6 complete, 1 pruned, 1 fail, 1 running" in summary
    assert "Best val_accuracy</td><td>0.74 (trial 5)" in summary
    assert "learning_rate=" in summary and "units=56" in summary
    assert "median 7.0 s, mean 7.0 s, max 10.0 s" in summary  # finished trials take 4 + number s
    assert "tpe" in summary and "median" in summary and url.split("///")[1] in summary


def test_a_best_trial_that_is_a_mean_over_folds_shows_its_standard_error(sqlite_url, tmp_path):
    make_study(sqlite_url, "cv", extra_attrs={5: {"value_se": 0.0123, "fold_values": [0.7, 0.72, 0.8],
                                                   "confirms": 2}})
    page = write_report("cv", sqlite_url, tmp_path / "out").path.read_text()
    assert "Best val_accuracy</td><td>0.74 ± 0.0123 (mean of 3 evaluations), re-check of trial 2 (trial 5)" in page


def test_trial_table_has_a_row_per_trial_with_reasons_and_sorting(hostile_report):
    page = hostile_report
    table = page[page.index('<table id="trials">'):]
    assert table.count("<tr>") == 1 + 9
    assert '<td class="FAIL">FAIL</td>' in table and '<td class="RUNNING">RUNNING</td>' in table
    assert "loss became nan at epoch 2 &lt;img" in table
    assert "aria-sort" in page  # the sort script


def test_report_file_is_replaced_whole(sqlite_url, tmp_path):
    make_study(sqlite_url, "mixed")
    first = write_report("mixed", sqlite_url, tmp_path)
    second = write_report("mixed", sqlite_url, tmp_path)
    assert first.path == second.path and second.path.exists()
    assert not list(tmp_path.glob("*partial*"))


@pytest.mark.slow
def test_making_a_report_never_loads_keras_or_an_objective(tmp_path):
    """Reporting only reads storage: a report works where Keras is absent or slow to load."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'r.db'}"
    make_study(url, "mixed")
    code = (
        "import sys; from hpo.report._writer import write_report; "
        f"write_report('mixed', {url!r}, {str(tmp_path / 'out')!r}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras') "
        "or m.startswith(('hpo.trial._training', 'hpo.objectives'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
