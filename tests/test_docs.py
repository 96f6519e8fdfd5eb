"""The documentation says what the code does: every setting, flag and variable is documented
(the reference pages are generated from the code: docs/_ext/hpo_reference.py), and no page
names a flag, a variable or a setting that does not exist. The site itself is built by the
test command (scripts/test.sh), every warning an error."""

import ast
import dataclasses
import importlib.util
import re
import sys

import pytest

import hpo._environment as environment
from hpo import StudySpec
from tests.conftest import REPO

DOCS = REPO / "docs"
PAGES = sorted([*DOCS.rglob("*.md"), REPO / "README.md"])
MAX_README_LINES = 200


def _reference():
    spec = importlib.util.spec_from_file_location("hpo_reference", DOCS / "_ext" / "hpo_reference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("hpo_reference", module)
    spec.loader.exec_module(module)
    return module


reference = _reference()


def test_every_setting_has_its_description_and_a_row_in_the_generated_reference():
    rows = {row["name"]: row for row in reference.settings()}
    assert list(rows) == [field.name for field in dataclasses.fields(StudySpec)]
    undocumented = [name for name, row in rows.items() if len(row["description"]) < 10]
    assert undocumented == []
    assert rows["n_trials"]["flag"] == "--n-trials" and rows["metric"]["identity"]
    assert rows["deterministic"]["flag"] == "--deterministic / --no-deterministic"


def test_every_command_and_flag_has_its_help_in_the_generated_reference():
    commands = reference.commands()
    assert {c["name"] for c in commands} == {"run", "resume", "ls", "show", "simulate", "best", "report",
                                             "dashboard", "worker"}
    missing = [f"{c['name']} {a['names']}" for c in commands for a in c["arguments"] if not a["help"]]
    assert missing == [] and all(c["help"] for c in commands)
    run = next(c for c in commands if c["name"] == "run")
    flags = {flag for argument in run["arguments"] for flag in argument["flags"]}
    assert {"--cv", "--repeats", "--confirm-top", "--artifacts", "--heartbeat-interval", "--grace-period",
            "--backend", "--tensorboard", "--mlflow", "--gpus"} <= flags


def test_every_environment_variable_is_described_once():
    names = {value for key, value in vars(environment).items() if key.endswith("_ENV")}
    user, internal = set(environment.USER_VARIABLES), set(environment.WORKER_VARIABLES)
    assert names == user | internal and not user & internal
    assert all(environment.USER_VARIABLES.values()) and all(environment.WORKER_VARIABLES.values())
    assert reference.environment() == environment.USER_VARIABLES


def test_the_reference_pages_are_generated():
    for page, directive in (("settings", "hpo-settings"), ("cli", "hpo-cli"), ("environment", "hpo-environment")):
        assert f".. {directive}::" in (DOCS / "reference" / f"{page}.md").read_text()


def _hpo_flags() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for command in reference.commands():
        flags = found.setdefault(command["name"], set())
        for argument in command["arguments"]:
            for flag in argument["flags"]:
                flags.add(flag)
                if argument["names"].count("--") == 1 and argument["metavar"] == "" and flag.startswith("--"):
                    flags.add("--no-" + flag[2:])  # BooleanOptionalAction's other half
    return found


def _code_spans(text: str) -> list[str]:
    """Inline code and the lines of fenced code blocks."""
    spans = re.findall(r"(?<!`)`([^`\n]+)`(?!`)", re.sub(r"```.*?```", "", text, flags=re.S))
    for block in re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.S):
        spans += block.splitlines()
    return spans


def test_no_page_names_an_hpo_flag_that_does_not_exist():
    flags = _hpo_flags()
    every = set().union(*flags.values()) | {"--help", "--version"}
    wrong = []
    for page in PAGES:
        for span in _code_spans(page.read_text()):
            command = re.match(r"\s*(?:\$ )?hpo (\w+)", span)
            named = re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", span)
            if command and command.group(1) in flags:  # `hpo run ... --flag`: that command's flag
                wrong += [f"{page.name}: {span.strip()} ({flag})" for flag in named if flag not in flags[command.group(1)]]
            elif re.fullmatch(r"\s*--[a-z][a-z0-9-]*(?:[ =][^ ]+)?\s*", span) and page.name != "benchmarks.md":
                wrong += [f"{page.name}: `{span}`" for flag in named if flag not in every]
    assert wrong == []


def test_no_page_names_an_environment_variable_that_does_not_exist():
    known = set(environment.USER_VARIABLES) | set(environment.WORKER_VARIABLES)
    wrong = sorted({f"{page.name}: {name}" for page in PAGES
                    for name in re.findall(r"\bHPO_[A-Z_]+\b", page.read_text()) if name not in known})
    assert wrong == []


def test_every_study_spec_in_the_pages_names_real_settings():
    fields = {field.name for field in dataclasses.fields(StudySpec)}
    wrong = []
    for page in PAGES:
        for block in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S):
            try:
                tree = ast.parse(re.sub(r",\s*\.\.\.\s*([)\]}])", r"\1", block).replace("...", "None"))
            except SyntaxError:
                pytest.fail(f"{page.name}: a Python example does not parse:\n{block}")
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("StudySpec"):
                    wrong += [f"{page.name}: {k.arg}" for k in node.keywords if k.arg is not None and k.arg not in fields]
    assert wrong == []


def test_the_readme_is_short_and_points_to_the_docs():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= MAX_README_LINES
    assert "./scripts/test.sh" in readme and "./scripts/demo.sh" in readme
    for page in ("getting-started", "studies", "reference/settings", "reference/cli", "benchmarks", "design"):
        assert f"docs/{page}.md" in readme, page
