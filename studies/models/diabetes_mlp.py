"""A regression MLP as a user writes one: the search space (suggest) apart from the model
(build), which learns its input scaling from the training data hpo hands it (info.sample)."""

import keras


def suggest(trial):
    return {
        "n_layers": trial.suggest_int("n_layers", 1, 3),
        "units": trial.suggest_int("units", 16, 256, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.4),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64]),
    }


def build(params, info):
    normalize = keras.layers.Normalization()
    normalize.adapt(info.sample(1000))
    layers = [keras.Input(info.input_shape), normalize]
    for _ in range(params["n_layers"]):
        layers.append(keras.layers.Dense(params["units"], activation="relu"))
        if params["dropout"] > 0:
            layers.append(keras.layers.Dropout(params["dropout"]))
    layers.append(keras.layers.Dense(info.output_shape[0]))  # linear: a regression target
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(params["learning_rate"]), loss="mse", metrics=["mae"])
    return model
