"""A convolutional network with the choices of seed 003's CIFAR-10 tuning guide.

Blocks of ``Conv (+BatchNorm) + ReLU``, max pooling and dropout; a dense layer (+BatchNorm,
dropout); data augmentation (rotation, shift, horizontal flip, zoom) as Keras preprocessing
layers, active only while training; Adam with its learning rate, beta_1, beta_2 and epsilon,
or SGD with momentum, or RMSprop; a learning-rate schedule. :data:`DEFAULT_PARAMS` is the
article's improved CNN, scaled by the input: on 8x8 digits it keeps two blocks.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from hpo.objectives._optimizers import OPTIMIZERS, make_optimizer
from hpo.objectives._output import output_head, single_input
from hpo.objectives._schedules import suggest_schedule

if TYPE_CHECKING:
    import keras
    import optuna

FILTERS = (16, 32, 64, 128, 256)
KERNEL_SIZES = (3, 5)
BATCH_SIZES = (32, 64, 128)
MAX_BLOCKS = 3

DEFAULT_PARAMS: dict[str, Any] = {
    "n_blocks": 2,
    "filters_0": 64,
    "filters_1": 128,
    "kernel_size": 3,
    "convs_per_block": 2,
    "batch_norm": True,
    "block_dropout": 0.25,
    "dense_units": 512,
    "dense_dropout": 0.5,
    "rotation": 15 / 360,  # 15 degrees, as a fraction of a full turn (Keras' unit)
    "shift": 0.1,
    "horizontal_flip": False,  # the article flips CIFAR images; a flipped digit is another digit
    "zoom": 0.1,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "epsilon": 1e-7,
    "lr_schedule": "constant",
    "batch_size": 64,
}


def suggest(trial: "optuna.trial.BaseTrial") -> dict[str, Any]:
    n_blocks = trial.suggest_int("n_blocks", 1, MAX_BLOCKS)
    params: dict[str, Any] = {"n_blocks": n_blocks}
    for block in range(n_blocks):
        params[f"filters_{block}"] = trial.suggest_categorical(f"filters_{block}", FILTERS)
    params["kernel_size"] = trial.suggest_categorical("kernel_size", KERNEL_SIZES)
    params["convs_per_block"] = trial.suggest_int("convs_per_block", 1, 2)
    params["batch_norm"] = trial.suggest_categorical("batch_norm", (True, False))
    params["block_dropout"] = trial.suggest_float("block_dropout", 0.0, 0.5)
    params["dense_units"] = trial.suggest_int("dense_units", 32, 512, log=True)
    params["dense_dropout"] = trial.suggest_float("dense_dropout", 0.0, 0.6)
    params["rotation"] = trial.suggest_float("rotation", 0.0, 0.1)  # up to 36 degrees
    params["shift"] = trial.suggest_float("shift", 0.0, 0.2)
    params["horizontal_flip"] = trial.suggest_categorical("horizontal_flip", (False, True))
    params["zoom"] = trial.suggest_float("zoom", 0.0, 0.2)
    params["optimizer"] = trial.suggest_categorical("optimizer", OPTIMIZERS)
    params["learning_rate"] = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
    if params["optimizer"] == "adam":
        params["beta_1"] = trial.suggest_float("beta_1", 0.8, 0.99)
        params["beta_2"] = trial.suggest_float("beta_2", 0.9, 0.9999, log=True)
        params["epsilon"] = trial.suggest_float("epsilon", 1e-9, 1e-5, log=True)
    elif params["optimizer"] == "sgd":
        params["momentum"] = trial.suggest_float("momentum", 0.0, 0.99)
    params.update(suggest_schedule(trial))
    params["batch_size"] = trial.suggest_categorical("batch_size", BATCH_SIZES)
    return params


def usable_blocks(params: dict[str, Any], input_shape: tuple[int, ...]) -> int:
    """Blocks that still have pixels to pool: each halves the image (8x8 digits: 3 at most)."""
    smallest = min(input_shape[0], input_shape[1])
    return max(1, min(int(params["n_blocks"]), int(math.log2(smallest))))


def build(params: dict[str, Any], input_shape: tuple[int, ...], n_classes: int | None) -> "keras.Model":
    """A compiled CNN for ``params`` (a regression model for ``n_classes`` None)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=single_input(input_shape))
    x = augmentation(params)(inputs)
    for block in range(usable_blocks(params, input_shape)):
        for _ in range(int(params.get("convs_per_block", 1))):
            x = layers.Conv2D(int(params[f"filters_{block}"]), int(params["kernel_size"]),
                              padding="same", use_bias=not params["batch_norm"])(x)
            if params["batch_norm"]:
                x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(2)(x)
        if params["block_dropout"] > 0:
            x = layers.Dropout(float(params["block_dropout"]))(x)
    x = layers.Flatten()(x)
    x = layers.Dense(int(params["dense_units"]), use_bias=not params["batch_norm"])(x)
    if params["batch_norm"]:
        x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    if params["dense_dropout"] > 0:
        x = layers.Dropout(float(params["dense_dropout"]))(x)
    head = output_head(n_classes)
    outputs = layers.Dense(head.units, activation=head.activation)(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=make_optimizer(params), loss=head.loss, metrics=list(head.metrics))
    return model


def augmentation(params: dict[str, Any]) -> "keras.Sequential":
    """Keras preprocessing layers; they change images while training and pass them through
    unchanged at validation and test time."""
    import keras
    from keras import layers

    steps: list[keras.layers.Layer] = []
    if params.get("rotation", 0) > 0:
        steps.append(layers.RandomRotation(float(params["rotation"]), fill_mode="constant"))
    if params.get("shift", 0) > 0:
        steps.append(layers.RandomTranslation(float(params["shift"]), float(params["shift"]),
                                              fill_mode="constant"))
    if params.get("horizontal_flip"):
        steps.append(layers.RandomFlip("horizontal"))
    if params.get("zoom", 0) > 0:
        steps.append(layers.RandomZoom(float(params["zoom"]), fill_mode="constant"))
    return keras.Sequential(steps, name="augmentation")
