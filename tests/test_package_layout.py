"""The package's structure: one-way imports, a small driver, a test module per module.

Imports are read from the source (``ast``), counting imports inside functions and under
``TYPE_CHECKING``: a cycle hidden by a late import is still a cycle to a reader.
"""

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "hpo"
# Modules without logic of their own: re-exports and the `python -m hpo` entry point.
NO_TEST_NEEDED = {"hpo", "hpo.__main__", "hpo.pruners", "hpo.report"}
READ_SIDE = ("hpo.report", "hpo.summary")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The hpo modules ``name`` imports anywhere in its source."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            # `from pkg import name`: the module pkg.name when there is one, else pkg itself.
            targets += [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                        for alias in node.names]
    found = set()
    for target in targets:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for dependency in graph[todo.pop()]:
            if dependency not in seen:
                seen.add(dependency)
                todo.append(dependency)
    return seen


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    cycles = sorted(name for name in graph if name in _reachable(graph, name))
    assert cycles == []


def test_the_read_side_never_reaches_the_driver_keras_code_or_workers():
    graph = _graph()
    for name in graph:
        if name.startswith(READ_SIDE):
            reached = _reachable(graph, name)
            forbidden = {"hpo.driver", "hpo.workers", "hpo.trial_runner", "hpo.training", "hpo.callbacks"}
            assert not reached & forbidden, f"{name} reaches {sorted(reached & forbidden)}"


def test_the_driver_stays_small():
    assert len((PACKAGE / "driver.py").read_text().splitlines()) <= 300


def test_every_module_has_a_test_module_named_after_it():
    missing = []
    for name in _modules():
        if name in NO_TEST_NEEDED:
            continue
        test = REPO / "tests" / ("test_" + "_".join(name.split(".")[1:]) + ".py")
        if not test.is_file():
            missing.append(f"{name} -> {test.name}")
    assert missing == []
