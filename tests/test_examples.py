"""The example notebook runs top to bottom in a real Jupyter kernel (nbclient), as a user would run it."""

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO

NOTEBOOK = REPO / "examples" / "tune_in_a_notebook.ipynb"


@pytest.mark.slow
def test_the_notebook_tunes_with_one_live_progress_bar_and_shows_its_plots(tmp_path, monkeypatch):
    monkeypatch.setenv("HPO_HOME", str(tmp_path / "hpo-runs"))
    monkeypatch.setenv("HPO_STORAGE", "")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel is this Python (ipykernel in .venv), started with this environment.
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    text = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert "[trial" not in text  # no line per trial...
    bars = [output for output in outputs if output.output_type == "display_data" and "text/html" in output.data
            and "<progress" in output.data["text/html"]]
    assert len(bars) == 1  # ...but one bar, left at the run's end
    assert bars[0].data["text/plain"].startswith("notebook_breast_cancer: 6/6 done  best=")
    assert "ETA 0:00" in bars[0].data["text/plain"]
    assert "best val_accuracy" in text and "6/6 finished" in text
    plots = [output for output in outputs if "application/vnd.plotly.v1+json" in output.get("data", {})]
    assert len(plots) == 2
    table = [output for output in outputs if output.output_type == "execute_result"][-1]
    assert "params_learning_rate" in table.data["text/plain"]
    assert os.path.exists(tmp_path / "hpo-runs" / "hpo.db")
