"""Lazy re-exports: a subpackage's public names, imported from its private modules on first use.

Each subpackage's ``__init__`` lists its names three times, as Optuna's lazy top level does in
spirit: under ``TYPE_CHECKING`` for mypy and readers, in ``__all__`` for tools and the docs, and
in a ``{module: names}`` table for this module's ``__getattr__`` (PEP 562), so that
``import hpo`` and ``hpo --help`` never load Optuna, Keras or plotly until a command needs
them. ``tests/test_package_layout.py`` checks that the three lists agree. Nothing is cached:
each access reads the private module's attribute, so a test that patches the module patches
what the package hands out too.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping, Sequence


def lazy_exports(package: str, exports: Mapping[str, Sequence[str]]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: each name of ``exports`` from its module."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module hook's own name
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
