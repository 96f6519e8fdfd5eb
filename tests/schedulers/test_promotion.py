from hpo.schedulers._promotion import PromotionScheduler
from tests.schedulers.trials import paused, trial


def _asha(**options):
    return PromotionScheduler(**{"reduction_factor": 3, "min_epochs": 1, "max_epochs": 30,
                                 "direction": "maximize", **options})


def test_rungs_lie_at_min_epochs_times_powers_of_the_reduction_factor_below_max_epochs():
    assert _asha().rungs() == (1, 3, 9, 27)
    assert _asha(min_epochs=2, reduction_factor=2, max_epochs=16).rungs() == (2, 4, 8)
    hyperband = _asha(hyperband=True)
    assert hyperband.brackets == 4
    assert [hyperband.rungs(b) for b in range(4)] == [(1, 3, 9, 27), (3, 9, 27), (9, 27), (27,)]
    assert [hyperband.bracket_for(n) for n in range(5)] == [0, 1, 2, 3, 0]


def test_nothing_is_promoted_before_a_rung_has_reduction_factor_members():
    assert _asha().promotion([paused(0, [0.9]), paused(1, [0.5])]) is None


def test_the_best_paused_chain_in_the_top_fraction_of_its_rung_is_promoted():
    trials = [paused(0, [0.2]), paused(1, [0.9]), paused(2, [0.5]), paused(3, [0.1]),
              trial(4, "C", [0.95, 0.96])]  # finished past rung 1, at the top of it
    chosen = _asha(max_epochs=2).promotion(trials)  # top 5 // 3 = 1 ... the finished one
    assert chosen is None
    trials.append(paused(5, [0.3]))  # 6 reached rung 1: the top 2 are #4 (finished) and #1
    chosen = _asha(max_epochs=2).promotion(trials)
    assert chosen is not None and chosen.head.number == 1


def test_minimised_metrics_rank_low_values_first():
    trials = [paused(0, [0.2]), paused(1, [0.9]), paused(2, [0.5])]
    chosen = _asha(direction="minimize").promotion(trials)
    assert chosen is not None and chosen.head.number == 0


def test_higher_rungs_go_first_and_a_continued_or_queued_chain_is_not_promoted_twice():
    low = [paused(n, [v]) for n, v in enumerate([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])]
    high = [paused(10 + n, [0.05, v, v]) for n, v in enumerate([0.7, 0.8, 0.9])]
    chosen = _asha().promotion(low + high)
    assert chosen is not None and chosen.head.number == 12 and chosen.paused_at == 3
    queued = trial(20, "W", [], continues=12)
    chosen = _asha().promotion(low + high + [queued])
    assert chosen is not None and chosen.head.number == 5  # rung 3's best is taken: rung 1's


def test_a_paused_trial_whose_checkpoint_is_out_of_reach_is_left_to_another_host():
    trials = [paused(0, [0.2]), paused(1, [0.9]), paused(2, [0.5])]
    assert _asha().promotion(trials, can_resume=lambda number: number != 1) is None


def test_hyperband_promotes_within_a_bracket():
    # Three of bracket 1 at rung 3 and one of bracket 0: bracket 1's best goes on.
    trials = [paused(n, [0.1, 0.2, v], bracket=1) for n, v in enumerate([0.3, 0.6, 0.4])]
    trials.append(paused(3, [0.1, 0.2, 0.99], bracket=0))
    chosen = _asha(hyperband=True).promotion(trials)
    assert chosen is not None and chosen.head.number == 1
