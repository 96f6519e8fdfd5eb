"""The built-in study: an MLP tuned on scikit-learn's bundled 8x8 digits (runs offline).

    hpo run studies/digits_mlp.py            # or: python studies/digits_mlp.py
    hpo resume digits_mlp                    # after Ctrl-C or a crash
"""

from hpo import StudySpec

STUDY = StudySpec(
    name="digits_mlp",
    objective="mlp",
    dataset="digits",
    metric="val_accuracy",  # maximised; drives early stopping, pruning and the trial's value
    sampler="tpe",
    pruner="median",
    n_trials=30,
    max_epochs=40,
    patience=6,
    seed=0,
)

if __name__ == "__main__":
    import sys

    from hpo.cli import main

    sys.exit(main(["run", __file__, *sys.argv[1:]]))
