"""Sphinx configuration of hpo's documentation (``bash scripts/docs.sh``; the test command
builds it with warnings as errors).

Sphinx rather than MkDocs: hpo's docstrings are reStructuredText (Sphinx roles such as
``:func:`` and double-backtick literals), which autodoc renders as written and mkdocstrings
would show raw; the narrative pages are Markdown through MyST, so they read on GitHub too.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

project = "hpo"
author = "the hpo authors"
copyright = "2026, the hpo authors"  # noqa: A001 - Sphinx's name
release = "0.1.0"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # StudySpec's "Args:" section
    "hpo_reference",  # the generated settings, command-line and environment references
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3  # links to sections: studies.md#exit-codes

html_theme = "furo"
html_title = "hpo"
html_static_path: list[str] = []

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"members": True}
# Type hints hpo keeps behind TYPE_CHECKING (Keras, Optuna, its own classes) are left as written.
autodoc_type_aliases: dict[str, str] = {}
nitpicky = False
