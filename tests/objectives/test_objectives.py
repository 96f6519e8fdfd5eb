"""Loading objective modules and the ObjectiveModule protocol."""

import types

import pytest

from hpo.errors import SetupError
from hpo.objectives import ObjectiveModule, default_params, load_objective, mlp, param_count_formula


def test_objective_modules_are_found_by_name_dotted_path_or_file(tmp_path):
    assert load_objective("mlp") is mlp
    assert load_objective("hpo.objectives.mlp") is mlp
    (tmp_path / "mine.py").write_text("def suggest(trial): return {}\ndef build(params, shape, n): return None\n")
    assert callable(load_objective("mine.py", base_dir=tmp_path).build)


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


def test_built_in_modules_follow_the_protocol_and_optional_parts_are_read_safely():
    assert isinstance(mlp, ObjectiveModule)
    assert default_params(mlp) == mlp.DEFAULT_PARAMS and default_params(mlp) is not mlp.DEFAULT_PARAMS
    assert param_count_formula(mlp) is mlp.param_count
    bare = types.ModuleType("bare")
    bare.suggest = lambda trial: {}
    bare.build = lambda params, input_shape, n_classes: None
    assert isinstance(bare, ObjectiveModule)
    assert default_params(bare) == {} and param_count_formula(bare) is None


def test_a_modules_own_callbacks_are_read_per_configuration():
    from hpo.objectives import extra_callbacks

    module = types.ModuleType("with_callbacks")
    module.callbacks = lambda params: [("stop-at", params["units_0"])]
    assert extra_callbacks(module, {"units_0": 64}) == [("stop-at", 64)]
    assert extra_callbacks(mlp, {}) == []


def test_build_and_param_count_are_called_with_the_signature_a_module_has():
    import numpy as np

    from hpo.data import Data
    from hpo.objectives import build_model, expected_param_count

    data = Data((np.zeros((20, 3)), np.arange(20) % 2)).split(0)
    seen = {}
    new_style = types.ModuleType("new_style")
    new_style.suggest = lambda trial: {}
    new_style.build = lambda params, info: seen.setdefault("info", info)
    new_style.param_count = lambda params, info: 7
    build_model(new_style, {}, data)
    assert seen["info"].input_shape == (3,) and seen["info"].n_classes == 2 and seen["info"].task == "classification"
    assert expected_param_count(new_style, {}, data) == 7
    old_style = types.ModuleType("old_style")
    old_style.build = lambda params, input_shape, n_classes: (input_shape, n_classes)
    assert build_model(old_style, {}, data) == ((3,), 2)
    assert expected_param_count(old_style, {}, data) is None


def test_a_modules_own_fit_is_bound_to_the_trials_params_and_data():
    from hpo.objectives import custom_fit

    seen = []
    module = types.ModuleType("with_fit")
    module.fit = lambda model, params, data, *, epochs, initial_epoch, callbacks: seen.append(
        (model, params, data, epochs, initial_epoch, callbacks))
    custom_fit(module, {"units": 8}, "the data")("the model", epochs=5, initial_epoch=2, callbacks=["cb"])
    assert seen == [("the model", {"units": 8}, "the data", 5, 2, ["cb"])]
    assert custom_fit(mlp, {}, "the data") is None
