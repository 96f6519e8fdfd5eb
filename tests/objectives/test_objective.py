"""The Objective adapter: a module's optional parts and both build signatures, read once."""

import types

import numpy as np

from hpo.data import Data
from hpo.objectives import Objective, mlp


def test_optional_parts_are_read_safely():
    objective = Objective(mlp)
    assert objective.defaults == mlp.DEFAULT_PARAMS and objective.defaults is not mlp.DEFAULT_PARAMS
    assert objective.has_param_count and objective.name == "hpo.objectives.mlp"
    bare = types.ModuleType("bare")
    bare.suggest = lambda trial: {}
    bare.build = lambda params, input_shape, n_classes: None
    adapted = Objective(bare)
    assert adapted.defaults == {} and not adapted.has_param_count and adapted.callbacks({}) == []
    assert adapted.fit({}, "the data") is None


def test_a_modules_own_callbacks_are_read_per_configuration():
    module = types.ModuleType("with_callbacks")
    module.suggest, module.build = (lambda trial: {}), (lambda params, info: None)
    module.callbacks = lambda params: [("stop-at", params["units_0"])]
    assert Objective(module).callbacks({"units_0": 64}) == [("stop-at", 64)]
    assert Objective(mlp).callbacks({}) == []


def test_build_and_param_count_are_called_with_the_signature_a_module_has():
    data = Data((np.zeros((20, 3)), np.arange(20) % 2)).split(0)
    seen = {}
    new_style = types.ModuleType("new_style")
    new_style.suggest = lambda trial: {}
    new_style.build = lambda params, info: seen.setdefault("info", info)
    new_style.param_count = lambda params, info: 7
    Objective(new_style).build({}, data.info())
    assert seen["info"].input_shape == (3,) and seen["info"].n_classes == 2 and seen["info"].task == "classification"
    assert Objective(new_style).param_count({}, data.info()) == 7
    old_style = types.ModuleType("old_style")
    old_style.suggest = lambda trial: {}
    old_style.build = lambda params, input_shape, n_classes: (input_shape, n_classes)
    old_style.param_count = lambda params, input_shape, n_classes: input_shape[0] * n_classes
    assert Objective(old_style).build({}, data.info()) == ((3,), 2)
    assert Objective(old_style).param_count({}, data.info()) == 6


def test_a_modules_own_fit_is_bound_to_the_trials_params_and_data():
    seen = []
    module = types.ModuleType("with_fit")
    module.suggest, module.build = (lambda trial: {}), (lambda params, info: None)
    module.fit = lambda model, params, data, *, epochs, initial_epoch, callbacks: seen.append(
        (model, params, data, epochs, initial_epoch, callbacks))
    Objective(module).fit({"units": 8}, "the data")("the model", epochs=5, initial_epoch=2, callbacks=["cb"])
    assert seen == [("the model", {"units": 8}, "the data", 5, 2, ["cb"])]
    assert Objective(mlp).fit({}, "the data") is None


def test_apply_sets_the_learning_rate_the_restored_state_overrode_then_calls_the_modules_own():
    import keras

    seen = []
    module = types.ModuleType("with_apply")
    module.suggest, module.build = (lambda trial: {}), (lambda params, info: None)
    module.apply = lambda model, params: seen.append(params["dropout"])
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")
    Objective(module).apply(model, {"learning_rate": 0.004, "dropout": 0.3})
    assert float(model.optimizer.learning_rate) == np.float32(0.004) and seen == [0.3]
    assert not Objective(mlp).has_apply and Objective(module).has_apply
    Objective(mlp).apply(model, {"dropout": 0.1})  # no learning rate: nothing to set
    assert float(model.optimizer.learning_rate) == np.float32(0.004)
