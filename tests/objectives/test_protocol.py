"""Loading objective modules and the ObjectiveModule protocol."""

import types

import pytest

from hpo.errors import SetupError
from hpo.objectives import Objective, ObjectiveModule, load_objective, mlp


def test_objective_modules_are_found_by_name_dotted_path_or_file(tmp_path):
    assert load_objective("mlp").module is mlp
    assert load_objective("hpo.objectives.mlp").module is mlp
    (tmp_path / "mine.py").write_text("def suggest(trial): return {}\ndef build(params, shape, n): return None\n")
    loaded = load_objective("mine.py", base_dir=tmp_path)
    assert isinstance(loaded, Objective) and callable(loaded.build)


@pytest.mark.parametrize("source, message", [
    ("def suggest(trial): return {}\n", "does not define build"),
    ("raise RuntimeError('boom')\n", "failed to import: RuntimeError: boom"),
])
def test_broken_objective_modules_are_setup_errors(tmp_path, source, message):
    (tmp_path / "bad.py").write_text(source)
    with pytest.raises(SetupError, match=message):
        load_objective("bad.py", base_dir=tmp_path)


def test_unknown_objective_lists_built_ins():
    with pytest.raises(SetupError, match="unknown objective 'no_such_objective_xyz'"):
        load_objective("no_such_objective_xyz")


def test_built_in_modules_follow_the_protocol():
    assert isinstance(mlp, ObjectiveModule)
    bare = types.ModuleType("bare")
    bare.suggest = lambda trial: {}
    bare.build = lambda params, input_shape, n_classes: None
    assert isinstance(bare, ObjectiveModule)
