"""The built-in study: an MLP tuned on scikit-learn's bundled 8x8 digits (runs offline).

    hpo run studies/digits_mlp.py            # or: python studies/digits_mlp.py
    hpo resume digits_mlp                    # after Ctrl-C or a crash
    hpo run studies/digits_mlp.py --sampler grid --study-name digits_mlp_grid   # the grid below
"""

from hpo import StudySpec

STUDY = StudySpec(
    name="digits_mlp",
    objective="mlp",
    dataset="digits",
    metric="val_accuracy",  # maximised; drives early stopping, pruning and the trial's value
    sampler="tpe",
    pruner="learning-curve",
    n_trials=30,
    max_epochs=40,
    patience=6,
    seed=0,
    # For `--sampler grid`: 16 points; the parameters not listed keep the objective's defaults.
    grid={
        "n_layers": [1, 2],
        "units_0": [64, 256],
        "units_1": [64],
        "learning_rate": [1e-3, 1e-2],
        "dropout": [0.0, 0.2],
    },
)

if __name__ == "__main__":
    import sys

    from hpo.cli import main

    sys.exit(main(["run", __file__, *sys.argv[1:]]))
