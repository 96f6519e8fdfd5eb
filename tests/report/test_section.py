"""A report section: a titled figure, or a note saying why there is none."""

from hpo.report._section import STATE_COLORS, Section


def test_a_section_without_a_figure_is_a_note():
    section = Section("weights", "Weight histograms", note="No complete trial yet.")
    assert section.figure is None and section.note == "No complete trial yet."
    assert set(STATE_COLORS) == {"COMPLETE", "PRUNED"}
