"""Reference pages generated from the code, so they cannot go stale.

* ``{hpo-settings}``: every :class:`hpo.StudySpec` setting, its default, its command-line flag
  (:func:`hpo.study.cli_settings`), whether a resume may change it (``IDENTITY_FIELDS``) and its
  description (the ``Args:`` entry of ``StudySpec``'s docstring);
* ``{hpo-cli}``: every ``hpo`` command and its arguments, read from the parser the CLI builds;
* ``{hpo-environment}``: every environment variable a user sets (``hpo._environment``).

The same functions feed ``tests/test_docs.py``, which checks that every setting, flag and
variable has a description and that the hand-written pages name no flag or variable that does
not exist.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

_ARG = re.compile(r"^        (\w+): (.*)$")


def setting_descriptions() -> dict[str, str]:
    """Each setting's ``Args:`` entry in ``StudySpec``'s docstring, on one line."""
    from hpo import StudySpec

    doc = StudySpec.__doc__ or ""
    found: dict[str, str] = {}
    current = None
    for line in doc[doc.index("Args:"):].splitlines()[1:]:
        match = _ARG.match(line)
        if match:
            current = match.group(1)
            found[current] = match.group(2).strip()
        elif current is not None and line.startswith("            "):
            found[current] += " " + line.strip()
    return found


def settings() -> list[dict[str, Any]]:
    """One row per setting: name, default, flag, identity, description."""
    from hpo import StudySpec
    from hpo.study import IDENTITY_FIELDS, cli_settings

    flags = {name: "--" + name.replace("_", "-") for name, _ in cli_settings()}
    described = setting_descriptions()
    rows = []
    for field in dataclasses.fields(StudySpec):
        if field.default is not dataclasses.MISSING:
            default: Any = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = "(required)"
        flag = flags.get(field.name, "")
        if flag and dict(cli_settings())[field.name].type is bool:
            flag = f"{flag} / --no-{flag[2:]}"
        rows.append({"name": field.name, "default": default, "flag": flag,
                     "identity": field.name in IDENTITY_FIELDS, "description": described.get(field.name, "")})
    return rows


def commands() -> list[dict[str, Any]]:
    """One entry per ``hpo`` command: name, help, and its arguments (flags, metavar, help)."""
    from hpo.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    found = []
    for name, command in sub.choices.items():
        arguments = []
        for action in command._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue
            names = ", ".join(action.option_strings) if action.option_strings else action.dest
            metavar = "" if action.nargs == 0 or isinstance(action, argparse.BooleanOptionalAction) else \
                (action.metavar or (action.dest.upper() if action.option_strings else ""))
            arguments.append({"names": names, "metavar": metavar or "", "help": action.help or "",
                              "flags": list(action.option_strings)})
        found.append({"name": name, "help": helps.get(name, ""), "arguments": arguments})
    return found


def environment() -> dict[str, str]:
    from hpo._environment import USER_VARIABLES

    return dict(USER_VARIABLES)


def _cell(text: str) -> str:
    return text.replace("\n", " ") or "(none)"


def _literal(value: Any) -> str:
    return f"``{value!r}``" if value != "(required)" else "(required)"


def _table(header: list[str], rows: list[list[str]], widths: str) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return lines


class _Generated(SphinxDirective):
    has_content = False

    def lines(self) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, StringList(self.lines(), source="hpo_reference"), container)
        return list(container.children)


class SettingsDirective(_Generated):
    def lines(self) -> list[str]:
        rows = [[f"``{row['name']}``", _literal(row["default"]), f"``{row['flag']}``" if row["flag"] else "",
                 _cell(row["description"]) + (" *Identity: a resume may not change it.*" if row["identity"] else "")]
                for row in settings()]
        return _table(["setting", "default", "flag", "what it is"], rows, "18 12 16 54")


class CliDirective(_Generated):
    def lines(self) -> list[str]:
        out: list[str] = []
        for command in commands():
            title = f"hpo {command['name']}"
            out += [title, "-" * len(title), "", command["help"][:1].upper() + command["help"][1:] + ".", ""]
            rows = [[f"``{arg['names']}``" + (f" *{arg['metavar']}*" if arg["metavar"] else ""), _cell(arg["help"])]
                    for arg in command["arguments"]]
            out += _table(["argument", "what it does"], rows, "30 70") + [""]
        return out


class EnvironmentDirective(_Generated):
    def lines(self) -> list[str]:
        rows = [[f"``{name}``", _cell(text)] for name, text in environment().items()]
        return _table(["variable", "what it is"], rows, "25 75")


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("hpo-settings", SettingsDirective)
    app.add_directive("hpo-cli", CliDirective)
    app.add_directive("hpo-environment", EnvironmentDirective)
    return {"parallel_read_safe": True, "version": "1"}
