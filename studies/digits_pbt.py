"""Population-based training of the built-in MLP on the bundled digits (runs offline).

    hpo run studies/digits_pbt.py            # 8 members, 12 epochs each, in segments of 3
    hpo report digits_pbt                    # the lineage and each member's schedule
    hpo best digits_pbt                      # retrains the winner along its schedule

Every 3 epochs the worst quarter of the members copy a top member's weights and optimizer
state and perturb its learning rate, dropout and batch size (see the README's
"Population-based training").
"""

from hpo import StudySpec

STUDY = StudySpec(
    name="digits_pbt",
    objective="mlp",
    dataset="digits",
    metric="val_loss",
    sampler="random",  # the population's start, as in the PBT paper
    pruner="none",  # the scheduler decides which members go on
    scheduler="pbt",
    scheduler_options={"interval": 3, "mutable": ["learning_rate", "dropout", "batch_size"]},
    n_trials=8,  # the population
    max_epochs=12,
    patience=12,
    seed=0,
)

if __name__ == "__main__":
    import sys

    from hpo.cli import main

    sys.exit(main(["run", __file__, *sys.argv[1:]]))
