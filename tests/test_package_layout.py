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
ENTRY = {"hpo", "hpo._api", "hpo.cli", "hpo.__main__"}
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
    assert len((PACKAGE / "driver" / "_optimize.py").read_text().splitlines()) <= 300


def _has_logic(path: Path) -> bool:
    """Whether a module defines a function or class (a re-exporting ``__init__`` does not)."""
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
               for node in ast.parse(path.read_text()).body)


def _test_module(name: str, path: Path) -> Path:
    """``hpo.a._b`` -> tests/a/test_b.py, ``hpo.a`` (a package) -> tests/a/test_a.py,
    ``hpo._x`` -> tests/test_x.py: the tests mirror the package, private modules included."""
    parts = name.split(".")[1:]
    folder = parts if path.name == "__init__.py" else parts[:-1]
    return REPO.joinpath("tests", *folder, f"test_{parts[-1].lstrip('_')}.py")


def test_every_module_has_a_test_module_where_the_package_tree_says():
    missing = [f"{name} -> {_test_module(name, path).relative_to(REPO)}"
               for name, path in _modules().items()
               if name not in ("hpo", "hpo.__main__") and _has_logic(path) and not _test_module(name, path).is_file()]
    assert missing == []


# The modules that are API themselves: the entry points, the error taxonomy, the stored-record
# keys, and the built-in objective modules (a study names them, "hpo.objectives.mlp", and a user
# copies them). Every other module is private: its subpackage's __init__ says what is public.
PUBLIC_MODULES = {"hpo", "hpo.__main__", "hpo.cli", "hpo.errors", "hpo.records", "hpo.objectives.mlp",
                  "hpo.objectives.cnn"}


def test_implementation_modules_are_private():
    public = sorted(name for name, path in _modules().items()
                    if path.name != "__init__.py" and not name.rpartition(".")[2].startswith("_"))
    assert set(public) <= PUBLIC_MODULES, sorted(set(public) - PUBLIC_MODULES)


def _exports_of(path: Path) -> tuple[list[str], dict[str, set[str]], dict[str, set[str]]]:
    """An ``__init__``'s ``__all__``, its ``TYPE_CHECKING`` imports and its ``_EXPORTS`` table,
    each as module -> names (``__all__`` as a list)."""
    declared: list[str] = []
    typed: dict[str, set[str]] = {}
    lazy: dict[str, set[str]] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id == "__all__":
                declared = ast.literal_eval(node.value)
            elif node.targets[0].id == "_EXPORTS":
                lazy = {module: set(names) for module, names in ast.literal_eval(node.value).items()}
        elif isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.module
                typed.setdefault(statement.module, set()).update(alias.name for alias in statement.names)
    return declared, typed, lazy


def test_every_package_init_re_exports_only_and_its_three_lists_agree():
    import importlib

    for path in sorted(PACKAGE.rglob("__init__.py")):
        name = ".".join(path.relative_to(REPO).parent.parts)
        body = ast.parse(path.read_text()).body
        assert not _has_logic(path), f"{name}: an __init__ re-exports, it defines nothing"
        declared, typed, lazy = _exports_of(path)
        if name == "hpo":  # the top level also imports the three names every study script uses
            declared = [n for n in declared if n not in ("SetupError", "TrialFailure", "StudySpec", "__version__")]
        assert declared, f"{name} has no __all__"
        assert typed == lazy, f"{name}: TYPE_CHECKING imports and _EXPORTS differ"
        assert sorted(declared) == sorted(n for names in lazy.values() for n in names), f"{name}: __all__ and _EXPORTS differ"
        assert body and isinstance(body[0], ast.Expr), f"{name} has no docstring"
        package = importlib.import_module(name)
        for export in declared:
            assert getattr(package, export) is not None, f"{name}.{export}"


MAX_TRIAL_FUNCTION_LINES = 40


def test_no_function_of_the_trial_room_is_over_40_lines():
    """The trial runner's phases and hooks stay readable one by one (docstrings counted)."""
    long = [f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path in sorted((PACKAGE / "trial").glob("*.py"))
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno is not None and node.end_lineno - node.lineno + 1 > MAX_TRIAL_FUNCTION_LINES]
    assert long == []
