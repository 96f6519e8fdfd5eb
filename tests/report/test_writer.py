"""Writing a report file: what the result says, and errors before anything is read."""

import pytest

from hpo.errors import SetupError
from hpo.report._writer import default_report_dir, write_report
from tests.report.studies import make_study


def test_the_result_describes_the_written_file(sqlite_url, tmp_path):
    make_study(sqlite_url)
    result = write_report("mixed", sqlite_url, tmp_path / "r")
    assert result.path == tmp_path / "r" / "report.html" and result.bytes == result.path.stat().st_size
    assert result.n_trials == 9 and result.n_figures == 11  # every section but the histograms
    assert result.png_paths == () and result.png_problem is None
    assert not list((tmp_path / "r").glob(".*partial"))


def test_bad_requests_are_setup_errors(sqlite_url, tmp_path, isolated_runtime):
    make_study(sqlite_url)
    with pytest.raises(SetupError, match="unknown importance evaluator 'shap'"):
        write_report("mixed", sqlite_url, tmp_path, importance="shap")
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(SetupError, match="cannot write the report to"):
        write_report("mixed", sqlite_url, tmp_path / "file" / "r")
    assert default_report_dir("mixed") == isolated_runtime.resolve() / "reports" / "mixed"
