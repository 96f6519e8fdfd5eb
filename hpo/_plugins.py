"""The user's own code, named by a string: a module, or an object inside one.

A study script names its objective, dataset, sampler and pruner as strings, so that they are
stored with the study and found again by ``hpo resume`` and by every worker. Besides hpo's
built-in names, each may be a reference to the user's code:

* a dotted module path: ``"mypackage.objective"``;
* a ``.py`` file: ``"objective.py"`` (relative to the study script, stored absolute);
* either with ``:Name`` for an object inside it: ``"mypackage.pruners:PatientMedian"``,
  ``"extras.py:make_sampler"``.

Errors are one line naming the reference and what went wrong (:class:`hpo.errors.SetupError`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Mapping

from hpo.errors import SetupError


def is_reference(text: str) -> bool:
    """True for a reference to user code, False for a built-in name (which never has ':' or .py)."""
    return ":" in text or text.endswith(".py")


def split(reference: str) -> tuple[str, str | None]:
    """``"module:Name"`` -> ``("module", "Name")``; ``"module"`` -> ``("module", None)``."""
    target, sep, attribute = reference.rpartition(":")
    if not sep:
        return reference, None
    return target, attribute


def absolute(reference: str, base_dir: Path) -> str:
    """The reference with a relative ``.py`` path made absolute against ``base_dir``."""
    target, attribute = split(reference)
    if not target.endswith(".py"):
        return reference
    path = str((base_dir / target).resolve())
    return path if attribute is None else f"{path}:{attribute}"


def load_module(target: str, *, what: str, base_dir: Path | None = None) -> ModuleType:
    """Import a dotted module path or execute a ``.py`` file; ``what`` names it in errors."""
    try:
        if target.endswith(".py"):
            path = Path(target) if base_dir is None else base_dir / target
            if not path.is_file():
                raise SetupError(f"{what} file {path} does not exist")
            # One module per file, even when two files share a name.
            digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
            name = f"hpo_user_{path.stem}_{digest}"
            if name in sys.modules:
                return sys.modules[name]
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise SetupError(f"{what} file {path} is not a Python file")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # dataclasses and pickling look their module up here
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
            return module
        return importlib.import_module(target)
    except SetupError:
        raise
    except ModuleNotFoundError as error:
        raise SetupError(f"unknown {what} {target!r} ({error})") from error
    except Exception as error:
        raise SetupError(f"{what} {target!r} failed to import: {type(error).__name__}: {error}") from error


def load_object(reference: str, *, what: str) -> Any:
    """The object ``"module:Name"`` (or ``"file.py:Name"``) names."""
    target, attribute = split(reference)
    if not target or not attribute:
        raise SetupError(f"{what} {reference!r}: give 'package.module:Name' or 'file.py:Name'")
    module = load_module(target, what=what)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise SetupError(f"{what} {reference!r}: {target} defines no {attribute!r}") from None


def load_factory(reference: str, *, what: str) -> Any:
    """The class or function a ``"module:Name"`` reference names; one line when it is not one."""
    factory = load_object(reference, what=what)
    if not callable(factory):
        raise SetupError(f"{what} {reference!r} is not a class or a function")
    return factory


def accepts(factory: Any, parameter: str) -> bool:
    """Whether ``factory`` takes a keyword argument ``parameter`` (or any, by ``**kwargs``)."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    return parameter in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def make_from(reference: str, *, what: str, base: type, base_name: str, options: Mapping[str, Any] = {},
              context: Mapping[str, Any] = {}) -> Any:
    """An instance of ``base`` made by the factory ``reference`` names, called with ``options``
    and with those of ``context`` it takes (a sampler's ``seed=``, a scheduler's ``max_epochs=``,
    ...). A factory that refuses its arguments, or makes something else, is one line naming it."""
    factory = load_factory(reference, what=what)
    given = {**options, **{key: value for key, value in context.items() if accepts(factory, key)}}
    try:
        made = factory(**given)
    except TypeError as error:  # e.g. options its class does not take
        raise SetupError(f"{what} {reference!r}: {error}") from None
    if not isinstance(made, base):
        raise SetupError(f"{what} {reference!r} made a {type(made).__name__}, not {base_name}")
    return made
