"""The built-in CNN objective (seed 003's improved CNN)."""

import optuna

from hpo.objectives import cnn, load_objective


def test_cnn_defaults_are_the_articles_improved_cnn_and_build_on_digits_and_cifar_shapes():
    assert load_objective("cnn").module is cnn
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
    params = dict(cnn.DEFAULT_PARAMS, n_blocks=3, filters_2=32)
    assert cnn.usable_blocks(params, (8, 8, 1)) == 3
    assert cnn.usable_blocks(params, (4, 4, 1)) == 2
    model = cnn.build(params, (4, 4, 1), 10)
    assert [layer.__class__.__name__ for layer in model.layers].count("MaxPooling2D") == 2


def test_the_cnn_builds_a_regression_model_too():
    model = cnn.build(dict(cnn.DEFAULT_PARAMS), (8, 8, 1), None)
    assert model.output_shape == (None, 1) and model.loss == "mean_squared_error"
