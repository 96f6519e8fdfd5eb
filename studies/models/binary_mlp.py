"""A binary classifier scored by ROC AUC: one sigmoid output, binary cross-entropy, and a named
keras.metrics.AUC, so the study can monitor "val_auc"."""

import keras


def suggest(trial):
    return {
        "units": trial.suggest_int("units", 8, 128, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64]),
    }


def build(params, info):
    normalize = keras.layers.Normalization()
    normalize.adapt(info.sample(1000))
    model = keras.Sequential([
        keras.Input(info.input_shape),
        normalize,
        keras.layers.Dense(params["units"], activation="relu"),
        keras.layers.Dropout(params["dropout"]),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(params["learning_rate"]), loss="binary_crossentropy",
                  metrics=[keras.metrics.AUC(name="auc")])
    return model
