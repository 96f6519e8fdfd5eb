import optuna
import pytest

from hpo.errors import SetupError
from hpo.objectives import load_objective, mlp


def test_defaults_are_the_seed_recommendations():
    assert mlp.DEFAULT_PARAMS["learning_rate"] == 1e-3 and mlp.DEFAULT_PARAMS["units_0"] == 128
    assert mlp.DEFAULT_PARAMS["dropout"] == 0.2 and mlp.DEFAULT_PARAMS["batch_size"] == 64


def test_suggest_reads_a_fixed_trial_and_only_asks_conditional_parameters_when_they_matter():
    params = mlp.suggest(optuna.trial.FixedTrial(dict(mlp.DEFAULT_PARAMS)))
    assert params == mlp.DEFAULT_PARAMS
    sgd = dict(mlp.DEFAULT_PARAMS, optimizer="sgd", momentum=0.9, regularizer="l2", reg_strength=1e-4,
               n_layers=2, units_1=32)
    params = mlp.suggest(optuna.trial.FixedTrial(sgd))
    assert params["momentum"] == 0.9 and params["reg_strength"] == 1e-4 and params["units_1"] == 32


def test_search_space_covers_the_catalogue():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = {"optimizer": set(), "activation": set(), "initializer": set(), "n_layers": set()}
    for _ in range(200):
        trial = study.ask()
        params = mlp.suggest(trial)
        study.tell(trial, 0.0)
        for key in seen:
            seen[key].add(params[key])
        assert 1e-4 <= params["learning_rate"] <= 1e-1 and params["batch_size"] in (32, 64, 128)
    assert seen["optimizer"] == {"sgd", "adam", "rmsprop"}
    assert seen["activation"] == {"relu", "tanh", "sigmoid", "elu"}
    assert seen["initializer"] == {"glorot_uniform", "he_normal"}
    assert seen["n_layers"] == {1, 2, 3, 4, 5}


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"n_layers": 3, "units_1": 17, "units_2": 300, "regularizer": "l1", "reg_strength": 1e-3},
        {"n_layers": 5, "units_1": 16, "units_2": 512, "units_3": 40, "units_4": 99, "optimizer": "sgd", "momentum": 0.5},
        {"optimizer": "rmsprop", "dropout": 0.0, "activation": "elu", "initializer": "he_normal"},
    ],
)
def test_seed_formula_matches_keras_parameter_count(overrides):
    params = dict(mlp.DEFAULT_PARAMS, **overrides)
    model = mlp.build(params, (28, 28, 1), 10)
    assert mlp.param_count(params, (28, 28, 1), 10) == model.count_params()
    assert model.optimizer.__class__.__name__.lower() == params["optimizer"]


def test_seed_000_reference_model_size():
    # Input(784) -> Dense(128) -> Dropout -> Dense(10): (784+1)*128 + (128+1)*10
    assert mlp.param_count(dict(mlp.DEFAULT_PARAMS), (784,), 10) == 101_770


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


def test_cnn_defaults_are_the_articles_improved_cnn_and_build_on_digits_and_cifar_shapes():
    from hpo.objectives import cnn

    assert load_objective("cnn") is cnn
    params = cnn.suggest(optuna.trial.FixedTrial(dict(cnn.DEFAULT_PARAMS)))
    assert params == cnn.DEFAULT_PARAMS
    digits = cnn.build(params, (8, 8, 1), 10)
    kinds = [layer.__class__.__name__ for layer in digits.layers]
    assert kinds.count("Conv2D") == 4 and kinds.count("BatchNormalization") == 5
    assert kinds.count("MaxPooling2D") == 2 and kinds.count("Dropout") == 3
    augmentation = digits.get_layer("augmentation")
    assert [layer.__class__.__name__ for layer in augmentation.layers] == [
        "RandomRotation", "RandomTranslation", "RandomZoom"]
    adam = digits.optimizer
    assert (float(adam.beta_1), float(adam.beta_2), float(adam.epsilon)) == (0.9, 0.999, 1e-7)
    cifar = cnn.build(dict(params, n_blocks=3, filters_2=256, horizontal_flip=True), (32, 32, 3), 10)
    assert cifar.output_shape == (None, 10)
    assert "RandomFlip" in [layer.__class__.__name__ for layer in cifar.get_layer("augmentation").layers]


def test_cnn_space_covers_blocks_batch_norm_augmentation_and_optimizers():
    from hpo.objectives import cnn

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = {"n_blocks": set(), "batch_norm": set(), "optimizer": set(), "horizontal_flip": set(),
            "lr_schedule": set()}
    for _ in range(150):
        trial = study.ask()
        params = cnn.suggest(trial)
        study.tell(trial, 0.0)
        for key in seen:
            seen[key].add(params[key])
        assert ("beta_1" in params) == (params["optimizer"] == "adam")
        assert 0 <= params["rotation"] <= 0.1 and 0 <= params["zoom"] <= 0.2
    assert seen == {"n_blocks": {1, 2, 3}, "batch_norm": {True, False},
                    "optimizer": {"adam", "sgd", "rmsprop"}, "horizontal_flip": {True, False},
                    "lr_schedule": {"constant", "exponential", "cosine"}}


def test_cnn_uses_no_more_blocks_than_the_image_can_pool():
    from hpo.objectives import cnn

    params = dict(cnn.DEFAULT_PARAMS, n_blocks=3, filters_2=32)
    assert cnn.usable_blocks(params, (8, 8, 1)) == 3
    assert cnn.usable_blocks(params, (4, 4, 1)) == 2
    model = cnn.build(params, (4, 4, 1), 10)
    assert [layer.__class__.__name__ for layer in model.layers].count("MaxPooling2D") == 2
