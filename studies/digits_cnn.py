"""A CNN tuned on the 8x8 digits as images (seed 003's choices; runs offline in minutes).

    hpo run studies/digits_cnn.py
"""

from hpo import StudySpec

STUDY = StudySpec(
    name="digits_cnn",
    objective="cnn",  # blocks, filters, batch norm, dropout, augmentation, Adam's betas, schedule
    dataset="digits",
    metric="val_loss",  # log-loss separates good models where accuracy on 360 images saturates
    sampler="tpe",
    pruner="learning-curve",
    n_trials=20,
    max_epochs=30,
    patience=6,
    seed=0,
)

if __name__ == "__main__":
    import sys

    from hpo.cli import main

    sys.exit(main(["run", __file__, *sys.argv[1:]]))
