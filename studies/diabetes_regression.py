"""Your own model on your own data: a regression MLP (studies/models/diabetes_mlp.py) on
scikit-learn's diabetes data (studies/data/diabetes.py), minimising the validation MAE.
No direction is stated: hpo knows that mae is minimised.

    hpo run studies/diabetes_regression.py
"""

from hpo import StudySpec

STUDY = StudySpec(
    name="diabetes_regression",
    objective="models/diabetes_mlp.py",
    dataset="data/diabetes.py",
    metric="val_mae",
    sampler="tpe",
    pruner="learning-curve",
    n_trials=20,
    max_epochs=100,
    patience=10,
    seed=0,
)

if __name__ == "__main__":
    import sys

    from hpo.cli import main

    sys.exit(main(["run", __file__, *sys.argv[1:]]))
