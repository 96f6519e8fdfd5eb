"""The package's structure: rooms a newcomer can see, one-way imports, a test module per module.

Imports are read from the source (``ast``), counting imports inside functions and under
``TYPE_CHECKING``: a cycle hidden by a late import is still a cycle to a reader.
"""

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "hpo"
# The data flow of the design notes, as rooms: a module may import from its own room and
# from the rooms listed for it, never from a room that sits above it. "base" is the
# cross-cutting modules at hpo's top level; "entry" is hpo/__init__, api, cli and __main__.
ENTRY = {"hpo", "hpo.api", "hpo.cli", "hpo.__main__"}
ALLOWED = {
    "base": set(),
    "pruners": {"base"},
    "schedulers": {"base"},  # pure rules over trials: which to continue, how trials chain
    "search": {"base", "pruners", "schedulers"},
    "study": {"base", "search", "schedulers"},
    "tracking": {"base", "study"},  # TensorBoard and MLflow runs: told of trials, read nothing back
    "data": {"base"},
    "storage": {"base", "schedulers"},
    "objectives": {"base", "data"},
    "trial": {"base", "data", "storage", "study", "objectives", "schedulers", "tracking"},
    "report": {"base", "storage", "study", "schedulers"},  # reporting reads storage only
    # hpo's pruners and schedulers, the objective's suggest
    "simulation": {"base", "pruners", "schedulers", "search", "storage", "objectives"},
    "driver": {"base", "pruners", "schedulers", "search", "study", "data", "storage", "objectives", "trial",
               "report", "tracking"},
}
MAX_TOP_LEVEL_MODULES = 12
MIN_SUBPACKAGES = 6


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


def _room(name: str) -> str:
    if name in ENTRY:
        return "entry"
    parts = name.split(".")
    return parts[1] if (PACKAGE / parts[1]).is_dir() else "base"


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    cycles = sorted(name for name in graph if name in _reachable(graph, name))
    assert cycles == []


def test_no_module_imports_from_a_room_above_its_own():
    upward = []
    for name, imported in _graph().items():
        room = _room(name)
        if room == "entry":
            continue
        upward += [f"{name} -> {target}" for target in sorted(imported)
                   if _room(target) != room and _room(target) not in ALLOWED[room]]
    assert upward == []


def test_every_room_is_in_the_table():
    rooms = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}
    assert rooms == set(ALLOWED) - {"base"}


def test_the_top_level_is_small_and_the_rooms_are_folders():
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    subpackages = sorted(path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file())
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    assert len(subpackages) >= MIN_SUBPACKAGES, subpackages


def test_the_read_side_never_reaches_the_driver_keras_code_or_objectives():
    graph = _graph()
    for name in graph:
        if _room(name) == "report":
            reached = {_room(target) for target in _reachable(graph, name)}
            assert not reached & {"driver", "trial", "objectives"}, f"{name} reaches {sorted(reached)}"


def test_the_driver_stays_small():
    assert len((PACKAGE / "driver" / "optimize.py").read_text().splitlines()) <= 300


def _has_logic(path: Path) -> bool:
    """Whether a module defines a function or class (a re-exporting ``__init__`` does not)."""
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
               for node in ast.parse(path.read_text()).body)


def _test_module(name: str, path: Path) -> Path:
    """``hpo.a.b`` -> tests/a/test_b.py, ``hpo.a`` (a package) -> tests/a/test_a.py,
    ``hpo.x`` -> tests/test_x.py: the tests mirror the package."""
    parts = name.split(".")[1:]
    folder = parts if path.name == "__init__.py" else parts[:-1]
    return REPO.joinpath("tests", *folder, f"test_{parts[-1]}.py")


def test_every_module_has_a_test_module_where_the_package_tree_says():
    missing = [f"{name} -> {_test_module(name, path).relative_to(REPO)}"
               for name, path in _modules().items()
               if name not in ("hpo", "hpo.__main__") and _has_logic(path) and not _test_module(name, path).is_file()]
    assert missing == []
