"""PNG copies of the report's figures, through kaleido and the system's Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.errors import PngUnavailable

if TYPE_CHECKING:
    from hpo.report._section import Section

PNG_WIDTH = 1100
PNG_HEIGHT = 550


def export_png(sections: list["Section"], directory: Path) -> list[Path]:
    """Write each section's figure as ``directory/KEY.png``; one Chromium for all of them."""
    try:
        import choreographer  # noqa: F401 - kaleido's browser driver
        import plotly.io as pio
    except ImportError as error:
        raise PngUnavailable(f"PNG export needs kaleido (pip install kaleido): {error}") from None
    drawn = [section for section in sections if section.figure is not None]
    if not drawn:
        return []
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{section.key}.png" for section in drawn]
    try:
        _write(pio, drawn, paths)
    except PngUnavailable:
        if created and not any(directory.iterdir()):
            directory.rmdir()
        raise
    return paths


def _write(pio: Any, drawn: list["Section"], paths: list[Path]) -> None:
    from choreographer.errors import (
        BrowserClosedError,
        BrowserDepsError,
        BrowserFailedError,
        ChromeNotFoundError,
    )

    figures = [section.figure for section in drawn if section.figure is not None]
    try:
        pio.write_images(
            figures, paths,
            width=PNG_WIDTH,
            height=[max(PNG_HEIGHT, int(figure.layout.height or 0)) for figure in figures],
        )
    except (RuntimeError, ChromeNotFoundError) as error:
        # plotly turns kaleido's ChromeNotFoundError into a RuntimeError that suggests
        # downloading Chrome; a system package is what an offline machine can use.
        if not isinstance(error, ChromeNotFoundError) and not isinstance(error.__context__, ChromeNotFoundError):
            raise
        raise PngUnavailable(
            "PNG export needs Chromium, which kaleido drives and did not find "
            "(Debian/Ubuntu: apt-get install chromium)"
        ) from None
    except (BrowserFailedError, BrowserClosedError, BrowserDepsError) as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise PngUnavailable(f"PNG export could not run Chromium: {first_line}") from None
