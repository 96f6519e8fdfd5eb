"""A binary classifier tuned for ROC AUC on scikit-learn's breast-cancer data, with the classes
weighted by their frequency (fit_options): the metric is a named keras.metrics.AUC.

    hpo run studies/breast_cancer_auc.py
"""

from hpo import StudySpec

STUDY = StudySpec(
    name="breast_cancer_auc",
    objective="models/binary_mlp.py",
    dataset="data/breast_cancer.py",
    metric="val_auc",  # maximised: hpo knows auc
    fit_options={"class_weight": "balanced"},
    sampler="tpe",
    pruner="learning-curve",
    n_trials=20,
    max_epochs=40,
    patience=6,
    seed=0,
)

if __name__ == "__main__":
    import sys

    from hpo.cli import main

    sys.exit(main(["run", __file__, *sys.argv[1:]]))
