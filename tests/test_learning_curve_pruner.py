"""The learning-curve pruner on synthetic curves, through Optuna's ask/report/tell."""

import numpy as np
import optuna
import pytest

from hpo.pruners import LearningCurvePruner
from hpo.pruners.learning_curve import extrapolate

EPOCHS = 40
X = np.arange(1, EPOCHS + 1)


def study_with_best(value: float, direction: str = "maximize", **options) -> optuna.Study:
    study = optuna.create_study(direction=direction, pruner=LearningCurvePruner(EPOCHS, **options))
    study.add_trial(optuna.trial.create_trial(value=value, intermediate_values={EPOCHS: value}))
    return study


def first_pruned_epoch(study: optuna.Study, curve) -> int | None:
    """Report ``curve`` epoch by epoch; the epoch the pruner stops it at, or None."""
    trial = study.ask()
    for epoch, value in enumerate(curve, start=1):
        trial.report(float(value), epoch)
        if trial.should_prune():
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return epoch
    study.tell(trial, float(max(curve) if study.direction.name == "MAXIMIZE" else min(curve)))
    return None


def test_is_an_optuna_pruner():
    assert isinstance(LearningCurvePruner(10), optuna.pruners.BasePruner)


@pytest.mark.parametrize("seed", range(5))
def test_a_slow_starting_curve_that_will_win_is_never_pruned(seed):
    rng = np.random.default_rng(seed)
    # Far below the best (0.90) for its first epochs, 0.925 by the end.
    winner = 0.95 - 0.5 * X ** -0.8 + rng.normal(0, 0.005, EPOCHS)
    assert winner[:6].max() < 0.85
    assert first_pruned_epoch(study_with_best(0.90), winner) is None


@pytest.mark.parametrize("seed", range(5))
def test_a_flat_loser_is_pruned_within_epochs_of_the_first_allowed_one(seed):
    rng = np.random.default_rng(seed)
    loser = 0.6 + rng.normal(0, 0.01, EPOCHS)
    assert 5 <= first_pruned_epoch(study_with_best(0.90), loser) <= 7


@pytest.mark.parametrize("seed", range(5))
def test_a_rising_curve_that_saturates_too_low_is_pruned_well_before_it_ends(seed):
    rng = np.random.default_rng(seed)
    loser = 0.80 - 0.5 * np.exp(-0.3 * X) + rng.normal(0, 0.005, EPOCHS)
    epoch = first_pruned_epoch(study_with_best(0.90), loser)
    assert epoch is not None and epoch <= 0.6 * EPOCHS


@pytest.mark.parametrize("seed", range(3))
def test_minimised_losses_work_the_same_way(seed):
    rng = np.random.default_rng(seed)
    winning_loss = 0.05 + 1.5 * X ** -0.7 + rng.normal(0, 0.005, EPOCHS)  # ends near 0.13
    losing_loss = 0.60 + 1.5 * np.exp(-0.4 * X) + rng.normal(0, 0.005, EPOCHS)
    assert first_pruned_epoch(study_with_best(0.15, "minimize"), winning_loss) is None
    epoch = first_pruned_epoch(study_with_best(0.15, "minimize"), losing_loss)
    assert epoch is not None and epoch <= 8


def test_noisy_curves_are_judged_by_their_trend():
    rng = np.random.default_rng(7)
    noisy_winner = 0.96 - 0.4 * X ** -0.6 + rng.normal(0, 0.02, EPOCHS)  # trend ends at 0.916
    noisy_loser = 0.70 - 0.4 * X ** -0.6 + rng.normal(0, 0.02, EPOCHS)
    assert first_pruned_epoch(study_with_best(0.90), noisy_winner) is None
    assert first_pruned_epoch(study_with_best(0.90), noisy_loser) is not None


def test_never_prunes_before_min_epochs_or_without_a_finished_trial():
    flat = np.full(EPOCHS, 0.1)
    assert first_pruned_epoch(study_with_best(0.9, min_epochs=8), flat) == 8
    empty = optuna.create_study(direction="maximize", pruner=LearningCurvePruner(EPOCHS))
    assert first_pruned_epoch(empty, flat) is None  # nothing finished yet: nothing to beat


def test_a_curve_already_above_the_best_is_kept():
    curve = np.concatenate([[0.95], np.full(EPOCHS - 1, 0.5)])
    assert first_pruned_epoch(study_with_best(0.90), curve) is None


def test_extrapolation_of_a_power_law_lands_near_its_end():
    rng = np.random.default_rng(0)
    curve = 0.95 - 0.5 * X ** -0.8
    prediction = extrapolate(curve[:15] + rng.normal(0, 0.003, 15), EPOCHS)
    assert prediction is not None
    assert prediction.mean == pytest.approx(curve[-1], abs=0.02)
    assert prediction.chance_to_exceed(curve[-1] + 0.1) < 0.01
    assert prediction.chance_to_exceed(curve[-1] - 0.1) > 0.99


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="threshold"):
        LearningCurvePruner(10, threshold=0)
    with pytest.raises(ValueError, match="max_epochs"):
        LearningCurvePruner(0)
