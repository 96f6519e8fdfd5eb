import pytest

from hpo.errors import SetupError
from hpo.schedulers import SCHEDULER_NAMES, SCHEDULER_OPTIONS, check_scheduler, make_scheduler


def test_none_takes_no_options_and_makes_no_scheduler():
    assert check_scheduler("none", {}, pruner="median", max_epochs=10) == {}
    assert make_scheduler("none", {}, max_epochs=10, direction="maximize") is None


def test_defaults_are_filled_in_and_the_scheduler_made_from_them():
    assert check_scheduler("asha", {"min_epochs": 2}, pruner="none", max_epochs=10) == {
        "reduction_factor": 3, "min_epochs": 2}
    scheduler = make_scheduler("hyperband", {"reduction_factor": 2}, max_epochs=10, direction="minimize")
    assert scheduler is not None and scheduler.hyperband and scheduler.reduction_factor == 2


def test_pbt_fills_its_population_from_n_trials_and_makes_a_population_scheduler():
    options = check_scheduler("pbt", {"mutable": "dropout"}, pruner="none", max_epochs=10, n_trials=6)
    assert options == {"population": 6, "interval": 2, "mutable": ["dropout"], "quantile": 0.25,
                       "resample_probability": 0.25}
    scheduler = make_scheduler("pbt", {"interval": 3}, max_epochs=10, direction="minimize", n_trials=6, seed=4)
    assert scheduler is not None and scheduler.pause_epochs({"pbt_generation": 0}) == frozenset({3})
    assert scheduler.first_attrs(5) == {"pbt_member": 5, "pbt_generation": 0}


@pytest.mark.parametrize("options, message", [
    ({"population": 4}, "population (4) differs from n_trials (6)"),
    ({"interval": 10}, "interval (10) must be below max_epochs (10)"),
    ({"mutable": []}, "mutable must be a list of parameter names, got []"),
    ({"quantile": 0}, "quantile must be a number in (0, 0.5], got 0"),
    ({"quantile": 0.6}, "quantile must be a number in (0, 0.5], got 0.6"),
    ({"resample_probability": -0.1}, "resample_probability must be a number in [0, 1], got -0.1"),
    ({"lr": 1}, "takes no option 'lr' (it takes: population, interval, mutable, quantile, resample_probability, explore)"),
])
def test_a_bad_pbt_setting_is_one_line_naming_it(options, message):
    with pytest.raises(SetupError, match="^[^\n]*$") as error:
        check_scheduler("pbt", options, pruner="none", max_epochs=10, n_trials=6)
    assert message in str(error.value)


def test_a_population_of_one_is_refused():
    with pytest.raises(SetupError, match="at least 2 members"):
        check_scheduler("pbt", {}, pruner="none", max_epochs=10, n_trials=1)


@pytest.mark.parametrize("name, options, pruner, message", [
    ("pbt2", {}, "none", "unknown scheduler 'pbt2'"),
    ("asha", {}, "median", "needs pruner='none' (got pruner 'median')"),
    ("asha", {"eta": 3}, "none", "takes no option 'eta' (it takes: reduction_factor, min_epochs)"),
    ("asha", {"reduction_factor": 1}, "none", "reduction_factor must be at least 2"),
    ("asha", {"min_epochs": 0}, "none", "min_epochs must be a positive integer, got 0"),
    ("asha", {"min_epochs": 10}, "none", "min_epochs (10) must be below max_epochs (10)"),
    ("none", {"min_epochs": 1}, "none", "takes no option 'min_epochs' (it takes: none)"),
])
def test_a_bad_scheduler_setting_is_one_line_naming_it(name, options, pruner, message):
    with pytest.raises(SetupError, match="^[^\n]*$") as error:
        check_scheduler(name, options, pruner=pruner, max_epochs=10)
    assert message in str(error.value)


OWN_SCHEDULER = '''
from hpo.schedulers import Scheduler


class EveryOther(Scheduler):
    counts = "configurations"

    def __init__(self, every=2, max_epochs=None, seed=None):
        self.every, self.max_epochs, self.seed = every, max_epochs, seed

    def pause_epochs(self, attrs):
        return frozenset(range(self.every, self.max_epochs, self.every))

    def next_trial(self, trials, *, can_resume):
        return None


def not_a_scheduler(**options):
    return object()
'''


def test_the_built_in_schedulers_are_registered_with_their_options():
    from hpo.schedulers import SCHEDULERS

    assert list(SCHEDULERS) == ["asha", "hyperband", "pbt"] and SCHEDULER_NAMES == ("none", "asha", "hyperband", "pbt")
    assert SCHEDULER_OPTIONS["asha"] == {"reduction_factor": 3, "min_epochs": 1}


def test_a_scheduler_of_ones_own_is_made_from_its_options_and_the_context_it_takes(tmp_path):
    (tmp_path / "mine.py").write_text(OWN_SCHEDULER)
    name = f"{tmp_path}/mine.py:EveryOther"
    assert check_scheduler(name, {"every": 3}, pruner="none", max_epochs=10) == {"every": 3}  # nothing imported
    scheduler = make_scheduler(name, {"every": 3}, max_epochs=10, direction="minimize", seed=4)
    assert scheduler.pause_epochs({}) == {3, 6, 9} and scheduler.seed == 4  # max_epochs and seed: it takes them


@pytest.mark.parametrize("name, options, message", [
    ("mine.py:not_a_scheduler", {}, "made a object, not an hpo.schedulers.Scheduler"),
    ("mine.py:EveryOther", {"nope": 1}, "unexpected keyword argument 'nope'"),
    ("mine.py:Missing", {}, "defines no 'Missing'"),
])
def test_a_broken_scheduler_of_ones_own_is_one_line(tmp_path, name, options, message):
    (tmp_path / "mine.py").write_text(OWN_SCHEDULER)
    with pytest.raises(SetupError, match="^[^\n]*$") as error:
        make_scheduler(f"{tmp_path}/{name}", options, max_epochs=10, direction="minimize")
    assert message in str(error.value)


def test_options_of_ones_own_scheduler_must_be_storable_and_it_needs_no_pruner():
    with pytest.raises(SetupError, match="scheduler_options must be numbers, strings"):
        check_scheduler("mine.py:EveryOther", {"rng": object()}, pruner="none", max_epochs=10)
    with pytest.raises(SetupError, match="needs pruner='none'"):
        check_scheduler("mine.py:EveryOther", {}, pruner="median", max_epochs=10)
    with pytest.raises(SetupError, match="or your own as 'package.module:Name'"):
        check_scheduler("ashaa", {}, pruner="none", max_epochs=10)


def test_pbt_takes_an_explore_function_by_its_import_path(tmp_path):
    (tmp_path / "explore.py").write_text("def wider(params):\n    return {**params, 'dropout': 0.3}\n")
    with pytest.raises(SetupError, match="explore must name a function as 'package.module:name'"):
        check_scheduler("pbt", {"explore": "wider"}, pruner="none", max_epochs=10, n_trials=4)
    options = {"explore": f"{tmp_path}/explore.py:wider", "mutable": []}
    assert check_scheduler("pbt", options, pruner="none", max_epochs=10, n_trials=4)["explore"] == options["explore"]
    scheduler = make_scheduler("pbt", options, max_epochs=10, direction="minimize", n_trials=4)
    assert scheduler.explore_with({"dropout": 0.1}) == {"dropout": 0.3}
