"""PNG copies of the report's figures: what happens without the tools (the images themselves:
test_report_cli.py)."""

import sys

import plotly.graph_objects as go
import pytest

from hpo.errors import PngUnavailable
from hpo.report._png import export_png
from hpo.report._section import Section


def test_nothing_to_draw_writes_nothing(tmp_path):
    assert export_png([Section("weights", "W", note="no histograms")], tmp_path / "figures") == []
    assert not (tmp_path / "figures").exists()


def test_without_kaleido_the_error_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "choreographer", None)
    with pytest.raises(PngUnavailable, match=r"pip install kaleido"):
        export_png([Section("history", "H", go.Figure())], tmp_path / "figures")


def test_when_chromium_cannot_run_no_empty_folder_is_left(tmp_path, monkeypatch):
    from hpo.report import _png as png

    def no_chromium(pio, drawn, paths):
        raise PngUnavailable("PNG export needs Chromium")

    monkeypatch.setattr(png, "_write", no_chromium)
    with pytest.raises(PngUnavailable, match="Chromium"):
        export_png([Section("history", "H", go.Figure())], tmp_path / "figures")
    assert not (tmp_path / "figures").exists()
    (tmp_path / "kept").mkdir()  # a folder that was there before stays
    with pytest.raises(PngUnavailable):
        export_png([Section("history", "H", go.Figure())], tmp_path / "kept")
    assert (tmp_path / "kept").is_dir()
