import random

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hpo.schedulers._population import PopulationScheduler, lineage, members, perturb
from tests.schedulers.trials import segment


def _pbt(**options):
    return PopulationScheduler(**{"population": 4, "interval": 2, "mutable": ("lr",), "quantile": 0.25,
                                  "resample_probability": 0.0, "max_epochs": 6, "direction": "minimize",
                                  **options})


def _first_generation(values=(0.9, 0.5, 0.7, 0.3)):
    """Four members paused after epoch 2 with these val_loss values."""
    return [segment(n, n, 0, "P", [1.0, value]) for n, value in enumerate(values)]


def test_segments_end_at_multiples_of_the_interval_and_the_last_one_does_not_pause():
    pbt = _pbt(max_epochs=5)
    assert [pbt.segment_end(g) for g in range(3)] == [2, 4, 5]
    assert pbt.pause_epochs({"pbt_generation": 1}) == frozenset({4})
    assert pbt.pause_epochs({"pbt_generation": 2}) == frozenset()  # ends at max_epochs: completes
    assert pbt.first_attrs(7) == {"pbt_member": 7, "pbt_generation": 0}


def test_the_population_is_drawn_first():
    assert _pbt().next_trial(_first_generation()[:3]) is None  # 3 of 4 members: sample one more


def test_a_bottom_member_copies_a_top_members_checkpoint_and_perturbs_its_mutable_parameters():
    trials = _first_generation()
    chosen = _pbt().next_trial(trials)
    # the member furthest behind first (all at epoch 2: the lowest member), member 0 ranks last
    assert chosen is not None and not chosen.promoted
    assert chosen.source.number == 3  # the top member (0.3): the top ceil(0.25 * 4) = 1
    assert chosen.attrs == {"pbt_member": 0, "pbt_generation": 1, "pbt_parent": 3}
    assert chosen.params["lr"] in (pytest.approx(0.008), pytest.approx(0.012))
    assert chosen.params["batch"] == 64  # not mutable: the donor's


def test_other_members_go_on_from_their_own_checkpoint_unchanged():
    trials = _first_generation()
    trials.append(segment(4, 0, 1, "R", [1.0, 0.3], parent=3))  # member 0 has been decided
    chosen = _pbt().next_trial(trials)
    assert chosen is not None and chosen.source.number == 1
    assert chosen.attrs == {"pbt_member": 1, "pbt_generation": 1, "pbt_parent": 1}
    assert chosen.params == {"lr": 0.01, "batch": 64}


def test_a_member_is_ranked_by_its_own_segment_not_by_the_copy_it_went_on_from():
    trials = _first_generation()
    # member 0 exploited member 3 and reported member 3's epochs again (0.3 at epoch 2)
    trials.append(segment(4, 0, 1, "R", [1.0, 0.3, 0.2], parent=3))
    trials.append(segment(5, 1, 1, "R", [1.0, 0.5, 0.4], parent=1))
    trials.append(segment(6, 2, 1, "R", [1.0, 0.7, 0.6], parent=2))
    ranked = _pbt()._ranked(members(trials), 2)
    assert [member for member, _ in ranked] == [3, 1, 2, 0]


def test_the_member_furthest_behind_is_decided_first_and_maximised_metrics_rank_high_first():
    trials = [*_first_generation(), segment(4, 0, 1, "P", [1.0, 0.9, 0.95, 0.97], parent=0)]
    chosen = _pbt(direction="maximize").next_trial(trials)
    assert chosen is not None and chosen.attrs["pbt_member"] == 1  # at epoch 2; member 0 is at 4
    # maximised at epoch 2: member 0 (0.9) first, member 3 (0.3) last; member 1 (0.5) goes on
    assert chosen.source.number == 1
    trials.append(segment(5, 1, 1, "R", [1.0, 0.5, 0.6], parent=1))
    trials.append(segment(6, 2, 1, "R", [1.0, 0.7, 0.8], parent=2))
    chosen = _pbt(direction="maximize").next_trial(trials)
    assert chosen is not None and chosen.attrs == {"pbt_member": 3, "pbt_generation": 1, "pbt_parent": 0}


def test_no_donor_within_reach_means_going_on_unchanged():
    chosen = _pbt().next_trial(_first_generation(), can_resume=lambda number: number != 3)
    assert chosen is not None and chosen.source.number == 0 and chosen.attrs["pbt_parent"] == 0


def test_checkpoints_are_released_once_no_member_can_decide_at_their_epoch():
    trials = _first_generation()
    pbt = _pbt()
    assert pbt.releasable(trials) == []  # every member still decides at epoch 2
    trials += [segment(4 + m, m, 1, "P", [1.0, 0.5, 0.4], parent=m, interval=2) for m in range(3)]
    trials.append(segment(7, 3, 1, "R", [1.0, 0.3, 0.2], parent=3))
    assert pbt.releasable(trials) == [0, 1, 2]  # #3 is copied by a running segment
    trials[-1] = segment(7, 3, 1, "P", [1.0, 0.3, 0.2, 0.1], parent=3)
    assert sorted(pbt.releasable(trials)) == [0, 1, 2, 3]


def test_lineage_follows_parents_across_members():
    trials = [*_first_generation(), segment(4, 0, 1, "P", [1.0, 0.3, 0.2], parent=3),
              segment(5, 0, 2, "C", [1.0, 0.3, 0.2, 0.1], parent=4)]
    assert [t.number for t in lineage(trials, 5)] == [3, 4, 5]


def test_perturb_stays_in_the_distribution():
    rng = random.Random(0)
    floats = FloatDistribution(0.0, 0.5)
    for _ in range(50):
        assert 0.0 <= perturb(0.45, floats, rng, 0.5) <= 0.5
    assert perturb(0.5, floats, random.Random(1), 0.0) in (0.4, 0.5)
    assert perturb(10, IntDistribution(1, 100), random.Random(0), 0.0) in (8, 12)
    stepped = perturb(0.3, FloatDistribution(0.0, 1.0, step=0.25), random.Random(0), 0.0)
    assert stepped in (0.25, 0.5)
    choices = CategoricalDistribution([16, 32, 64])
    assert perturb(16, choices, random.Random(0), 0.0) in (16, 32)
    assert {perturb(32, choices, random.Random(seed), 1.0) for seed in range(30)} == {16, 32, 64}


def _explorer(function, mutable=("learning_rate",)):
    return PopulationScheduler(population=4, interval=2, mutable=mutable, quantile=0.25, resample_probability=0.0,
                               max_epochs=10, direction="minimize", explore_with=function, explore_name="mine.py:f")


SPACE = {"learning_rate": FloatDistribution(1e-4, 1e-1, log=True), "units": IntDistribution(8, 64, step=8),
         "activation": CategoricalDistribution(["relu", "tanh"])}


def test_the_studys_own_explore_function_runs_after_the_perturbation_of_the_mutable_ones():
    seen = []

    def explore(params):
        seen.append(dict(params))
        return {**params, "units": 16, "activation": "tanh"}

    params = {"learning_rate": 0.01, "units": 32, "activation": "relu"}
    explored = _explorer(explore).explore(dict(params), SPACE, random.Random(0))
    assert seen[0]["learning_rate"] in (pytest.approx(0.008), pytest.approx(0.012)) and seen[0]["units"] == 32
    assert explored["units"] == 16 and explored["activation"] == "tanh"


@pytest.mark.parametrize("returned, message", [
    ({"learning_rate": 0.5, "units": 32, "activation": "relu"}, "returned learning_rate=0.5, outside its search space"),
    ({"learning_rate": 0.01, "units": 33, "activation": "relu"}, "returned units=33, outside its search space"),
    ({"learning_rate": 0.01, "units": 32, "activation": "gelu"}, "returned activation='gelu', outside"),
    ({"learning_rate": 0.01}, "must return the parameters it was given"),
])
def test_an_explore_function_that_leaves_the_search_space_is_one_line(returned, message):
    from hpo.errors import SetupError

    params = {"learning_rate": 0.01, "units": 32, "activation": "relu"}
    with pytest.raises(SetupError, match="^[^\n]*$") as error:
        _explorer(lambda p: returned, mutable=()).explore(dict(params), SPACE, random.Random(0))
    assert message in str(error.value) and "'mine.py:f'" in str(error.value)


def test_an_explore_function_that_raises_is_one_line_naming_it():
    from hpo.errors import SetupError

    with pytest.raises(SetupError, match=r"explore 'mine.py:f' failed: ZeroDivisionError"):
        _explorer(lambda p: 1 / 0).explore({"learning_rate": 0.01}, SPACE, random.Random(0))
