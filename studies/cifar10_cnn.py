"""Seed 003's CIFAR-10 CNN, tuned: blocks, filters, batch norm, dropout, augmentation, Adam.

Needs CIFAR-10 in keras.datasets' cache (~/.keras/datasets, or $HPO_DATA_DIR): Keras 3's
``cifar-10-batches-py-target/cifar-10-batches-py/`` or the extracted tarball's
``cifar-10-batches-py/``; without a network and without the files it stops with one line
naming the folder. A GPU helps: each trial trains on 45,000 images.

    hpo run studies/cifar10_cnn.py --workers 1
"""

from hpo import StudySpec

STUDY = StudySpec(
    name="cifar10_cnn",
    objective="cnn",
    dataset="cifar10",
    metric="val_accuracy",
    sampler="tpe",
    pruner="hyperband",
    n_trials=40,
    max_epochs=50,
    patience=10,  # the article's EarlyStopping(patience=10) on the monitored metric
    seed=0,
)

if __name__ == "__main__":
    import sys

    from hpo.cli import main

    sys.exit(main(["run", __file__, *sys.argv[1:]]))
