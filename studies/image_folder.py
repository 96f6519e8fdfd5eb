"""A CNN tuned on a folder of images (studies/data/image_folder.py explains the layout: one
sub-folder per class). Make the demo folder first, from scikit-learn's bundled digits:

    python studies/data/image_folder.py
    hpo run studies/image_folder.py

For your own images, point HPO_IMAGE_FOLDER at your folder (or copy the data module and
change it). The built-in cnn objective tunes its blocks, filters and batch size.
"""

from hpo import StudySpec

STUDY = StudySpec(
    name="image_folder",
    objective="cnn",
    dataset="data/image_folder.py",
    metric="val_accuracy",
    sampler="tpe",
    pruner="learning-curve",
    n_trials=12,
    max_epochs=15,
    patience=4,
    seed=0,
)

if __name__ == "__main__":
    import sys

    from hpo.cli import main

    sys.exit(main(["run", __file__, *sys.argv[1:]]))
