"""The learning-curve pruner on synthetic curves, through Optuna's ask/report/tell."""

import numpy as np
import optuna
import pytest

from hpo.pruners import LearningCurvePruner
from hpo.pruners._learning_curve import (
    chance_from_finished_curves,
    extrapolate,
    rising_scale,
    within_pace,
)

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
def test_a_flat_loser_is_pruned_within_the_first_epochs(seed):
    rng = np.random.default_rng(seed)
    loser = 0.6 + rng.normal(0, 0.01, EPOCHS)
    # one finished trial tells little; a curve whose noise happens to rise at first is judged
    # by the fit, which a 2-parameter family can make from 5 points
    assert first_pruned_epoch(study_with_best(0.90), loser) <= 7


def test_a_curve_too_slow_to_reach_the_best_at_twice_its_pace_is_pruned_at_once():
    # a loss stuck near chance level (ln 10) against a best of 0.2, with one finished trial:
    # before the pace bound, the coin-toss prior kept it until a family could be fitted
    stuck = [2.31, 2.29, 2.27, 2.25, 2.2, 2.1, 2.0]
    assert first_pruned_epoch(study_with_best(0.2, "minimize"), stuck) == 2
    # a loss as far behind but falling fast (like one in a random-search study: 9.99, 4.65,
    # ..., it ended at 0.094 against a best of 0.110) is within reach, and wins
    falling = 0.08 + 9.9 * np.exp(-0.8 * (X - 1))
    assert falling[1] > 4 and first_pruned_epoch(study_with_best(0.11, "minimize"), falling) is None


def test_within_pace_doubles_the_fastest_gain_so_far():
    # fastest gain 0.1 an epoch, 8 epochs left: at twice that pace the curve can end at 0.3 + 1.6
    assert within_pace([0.1, 0.2, 0.3], 1.9, horizon=11)
    assert not within_pace([0.1, 0.2, 0.3], 1.95, horizon=11)
    assert not within_pace([0.5, 0.4, 0.38], 0.6, horizon=20)  # never rose: no pace at all
    assert within_pace([0.5], 100.0, horizon=20)  # one point says nothing


@pytest.mark.parametrize("seed", range(5))
def test_a_rising_curve_that_saturates_too_low_is_pruned_well_before_it_ends(seed):
    rng = np.random.default_rng(seed)
    loser = 0.80 - 0.5 * np.exp(-0.3 * X) + rng.normal(0, 0.005, EPOCHS)
    epoch = first_pruned_epoch(study_with_best(0.90), loser)
    assert epoch is not None and epoch <= 0.6 * EPOCHS


@pytest.mark.parametrize("seed", range(3))
def test_minimised_losses_work_the_same_way(seed):
    rng = np.random.default_rng(seed)
    winning_loss = 0.02 + 1.5 * X ** -0.7 + rng.normal(0, 0.005, EPOCHS)  # ends near 0.13
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
    with pytest.raises(ValueError, match="fit_weight"):
        LearningCurvePruner(10, fit_weight=0)


def test_losses_are_modelled_on_a_log_scale_and_other_metrics_as_they_are():
    assert rising_scale(True, [[0.5, 0.25]])([0.5, 0.25]) == pytest.approx([np.log(2), np.log(4)])
    assert rising_scale(True, [[0.5, -1.0]])([0.5, -1.0]) == [-0.5, 1.0]  # not all positive
    assert rising_scale(False, [[0.5, 0.7]])([0.5, 0.7]) == [0.5, 0.7]


def test_finished_curves_count_when_their_gain_after_the_same_epoch_would_beat_the_target():
    finished = [[0.1, 0.5, 0.9], [0.1, 0.2, 0.3], [0.4]]  # gains after epoch 1: 0.8, 0.2, 0
    assert chance_from_finished_curves([0.3], 0.85, finished) == (1, 3)
    assert chance_from_finished_curves([0.3], 0.45, finished) == (2, 3)
    assert chance_from_finished_curves([0.5, 0.6], 0.75, finished) == (1, 3)  # gains 0.4, 0.1, 0


def test_pruned_curves_count_only_for_the_epochs_they_ran():
    pruned = [[0.1, 0.5, 0.9], [0.2, 0.3]]  # gains after epoch 1: 0.8 and 0.1; after epoch 2: 0.4
    assert chance_from_finished_curves([0.3], 0.85, [], pruned) == (1, 2)
    assert chance_from_finished_curves([0.3, 0.4], 0.85, [], pruned) == (0, 1)  # the second ended
    assert chance_from_finished_curves([0.3, 0.4, 0.4], 0.85, [], pruned) == (0, 0)


def study_with_finished_curves(curves, direction="maximize", **options) -> optuna.Study:
    study = optuna.create_study(direction=direction, pruner=LearningCurvePruner(EPOCHS, **options))
    for curve in curves:
        best = float(max(curve) if direction == "maximize" else min(curve))
        study.add_trial(optuna.trial.create_trial(
            value=best, intermediate_values={epoch: float(v) for epoch, v in enumerate(curve, 1)}))
    return study


def test_many_finished_curves_prune_a_trial_behind_all_of_them_before_a_fit_is_possible():
    rng = np.random.default_rng(0)
    # 60 finished trials that all reached 0.8-0.9 by epoch 2 and ended at 0.90-0.95
    finished = [top - 0.1 * X ** -1.0 + rng.normal(0, 0.003, EPOCHS)
                for top in rng.uniform(0.90, 0.95, 60)]
    behind = 0.5 - 0.1 * X ** -1.0
    assert first_pruned_epoch(study_with_finished_curves(finished), behind) == 2
    # with a few finished trials the families decide, and they need 5 epochs
    assert first_pruned_epoch(study_with_finished_curves(finished[:3]), behind) >= 5


def test_pruned_trials_curves_let_a_study_with_few_finished_trials_prune_early():
    rng = np.random.default_rng(3)
    finished = [top - 0.1 * X ** -1.0 + rng.normal(0, 0.003, EPOCHS) for top in (0.93, 0.94, 0.95)]
    study = study_with_finished_curves(finished)
    for top in rng.uniform(0.6, 0.8, 30):  # 30 trials pruned after 5 epochs, none near the best
        curve = top - 0.1 * X[:5] ** -1.0
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.PRUNED,
            intermediate_values={epoch: float(v) for epoch, v in enumerate(curve, 1)}))
    behind = 0.5 - 0.1 * X ** -1.0
    assert first_pruned_epoch(study, behind) == 2
    assert first_pruned_epoch(study_with_finished_curves(finished), behind) >= 5


def test_a_slow_starter_is_kept_when_the_study_has_seen_slow_starters_win():
    rng = np.random.default_rng(1)
    fast = [0.85 + 0.05 * rng.random() - 0.1 * X ** -1.0 for _ in range(20)]
    slow_winners = [0.97 - 0.8 * np.exp(-0.15 * X) + rng.normal(0, 0.003, EPOCHS) for _ in range(5)]
    slow = 0.99 - 0.8 * np.exp(-0.15 * X) + rng.normal(0, 0.003, EPOCHS)  # the best of them
    assert slow[:8].max() < 0.8 < fast[0][2]  # far behind every fast curve for 8 epochs
    assert first_pruned_epoch(study_with_finished_curves(fast + slow_winners), slow) is None


def test_losses_use_finished_curves_too():
    rng = np.random.default_rng(2)
    finished = [low + 1.0 * X ** -1.0 + rng.normal(0, 0.002, EPOCHS)
                for low in rng.uniform(0.05, 0.1, 60)]
    behind = 0.8 + 1.0 * X ** -1.0
    assert first_pruned_epoch(study_with_finished_curves(finished, "minimize"), behind) == 2
