"""A KerasTuner model-building function tuned by hpo, unchanged (studies/models/digits_keras_tuner.py):
hp.Int, hp.Float, hp.Choice and hp.Boolean become Optuna suggestions, with hpo's pruning,
checkpoints and resumable storage around them.

    hpo run studies/keras_tuner_port.py
"""

from hpo import StudySpec

STUDY = StudySpec(
    name="keras_tuner_port",
    objective="models/digits_keras_tuner.py",  # defines build_model(hp), nothing else
    dataset="digits",
    metric="val_accuracy",
    sampler="tpe",
    pruner="learning-curve",
    n_trials=20,
    max_epochs=20,
    patience=4,
    seed=0,
)

if __name__ == "__main__":
    import sys

    from hpo.cli import main

    sys.exit(main(["run", __file__, *sys.argv[1:]]))
