"""Seed 000's MLP on MNIST: Input(784) -> Dense(units) -> Dropout -> Dense(10).

Needs keras.datasets' mnist.npz in ~/.keras/datasets (or $HPO_DATA_DIR); without it and
without a network the run stops with one line naming the expected file.
"""

from hpo import StudySpec

STUDY = StudySpec(
    name="mnist_mlp",
    objective="mlp",
    dataset="mnist",
    metric="val_accuracy",
    sampler="tpe",
    pruner="learning-curve",
    n_trials=40,
    max_epochs=20,
    patience=3,
    seed=0,
)

if __name__ == "__main__":
    import sys

    from hpo.cli import main

    sys.exit(main(["run", __file__, *sys.argv[1:]]))
