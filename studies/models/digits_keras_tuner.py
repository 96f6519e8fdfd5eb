"""A KerasTuner model-building function, as KerasTuner's guides write it: hpo runs it
unchanged, on Optuna (see studies/keras_tuner_port.py and hpo/objectives/_keras_tuner_port.py)."""

import keras


def build_model(hp):
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(keras.layers.Dense(
            units=hp.Int(f"units_{i}", min_value=32, max_value=256, step=32),
            activation=hp.Choice("activation", ["relu", "tanh"]),
        ))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate=0.25))
    model.add(keras.layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    hp.Choice("batch_size", [32, 64, 128])  # hpo's fit uses it
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
