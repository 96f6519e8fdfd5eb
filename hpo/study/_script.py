"""Loading a study script: a Python file under ``studies/`` that defines ``STUDY``."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from typing import Any

import hpo._plugins as plugins
from hpo.errors import SetupError, StudyScriptError
from hpo.study._spec import StudySpec

# Settings that may name a .py file beside the script (see hpo._plugins).
_CODE_SETTINGS = ("objective", "dataset", "sampler", "pruner", "scheduler")


def load_study_script(path: str | Path) -> StudySpec:
    """The ``STUDY`` a script defines, or :class:`StudyScriptError` saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise StudyScriptError(f"study script {path} does not exist")
    module_name = f"hpo_study_script_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise StudyScriptError(f"study script {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SetupError as error:  # e.g. StudySpec validation: already a clear message
        raise StudyScriptError(f"study script {path}: {error}") from error
    except SyntaxError as error:
        raise StudyScriptError(
            f"study script {path} has a syntax error at line {error.lineno}: {error.msg}"
        ) from error
    except Exception as error:
        line = _failing_line(error, path)
        raise StudyScriptError(
            f"study script {path} failed{line}: {type(error).__name__}: {error}"
        ) from error
    finally:
        sys.modules.pop(module_name, None)
    study = getattr(module, "STUDY", None)
    if not isinstance(study, StudySpec):
        raise StudyScriptError(
            f"study script {path} must define STUDY = hpo.StudySpec(...), found {type(study).__name__}"
        )
    # Stored with the study absolute, so `hpo resume` (which has no script) and workers started
    # elsewhere find the files too.
    absolute: dict[str, Any] = {name: plugins.absolute(getattr(study, name), path.parent) for name in _CODE_SETTINGS
                if plugins.is_reference(getattr(study, name))}
    explore = study.scheduler_options.get("explore")  # PBT's explore function
    if isinstance(explore, str) and plugins.is_reference(explore):
        absolute["scheduler_options"] = {**study.scheduler_options, "explore": plugins.absolute(explore, path.parent)}
    if any(plugins.is_reference(kind) for kind in study.tracking):  # trackers of the user's own
        absolute["tracking"] = {plugins.absolute(kind, path.parent) if plugins.is_reference(kind) else kind: target
                                for kind, target in study.tracking.items()}
    return dataclasses.replace(study, **absolute) if absolute else study


def _failing_line(error: BaseException, path: Path) -> str:
    trace = error.__traceback__
    line = None
    while trace is not None:
        if Path(trace.tb_frame.f_code.co_filename).resolve() == path.resolve():
            line = trace.tb_lineno
        trace = trace.tb_next
    return f" at line {line}" if line else ""
