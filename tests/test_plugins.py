"""The user's code named by a string: modules, files and objects inside them."""

import pytest

from hpo import _plugins as plugins
from hpo.errors import SetupError


def test_references_are_told_from_built_in_names():
    assert not plugins.is_reference("tpe") and not plugins.is_reference("successive-halving")
    assert plugins.is_reference("pkg.mod:Name") and plugins.is_reference("mine.py")
    assert plugins.split("a/b.py:make") == ("a/b.py", "make") and plugins.split("pkg.mod") == ("pkg.mod", None)


def test_relative_files_become_absolute_and_modules_stay_as_they_are(tmp_path):
    assert plugins.absolute("extras.py:Pruner", tmp_path) == f"{tmp_path.resolve()}/extras.py:Pruner"
    assert plugins.absolute("mine.py", tmp_path) == f"{tmp_path.resolve()}/mine.py"
    assert plugins.absolute("pkg.mod:Name", tmp_path) == "pkg.mod:Name"


def test_objects_load_from_files_and_modules(tmp_path):
    (tmp_path / "extras.py").write_text("from dataclasses import dataclass\n\n@dataclass\nclass Box:\n    x: int = 1\n")
    box = plugins.load_object(f"{tmp_path}/extras.py:Box", what="sampler")
    assert box().x == 1
    assert plugins.load_object("hpo._plugins:split", what="pruner") is plugins.split


@pytest.mark.parametrize("reference, message", [
    ("no_such_module_xyz:Thing", "unknown pruner 'no_such_module_xyz'"),
    ("hpo._plugins:Nothing", "pruner 'hpo._plugins:Nothing': hpo._plugins defines no 'Nothing'"),
    ("/nowhere/x.py:Thing", "pruner file /nowhere/x.py does not exist"),
    ("hpo._plugins:", "give 'package.module:Name' or 'file.py:Name'"),
])
def test_a_bad_reference_is_one_line_naming_it(reference, message):
    with pytest.raises(SetupError, match=message):
        plugins.load_object(reference, what="pruner")


def test_a_file_that_fails_to_import_says_why(tmp_path):
    (tmp_path / "bad.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(SetupError, match="failed to import: RuntimeError: boom"):
        plugins.load_module(str(tmp_path / "bad.py"), what="dataset")
