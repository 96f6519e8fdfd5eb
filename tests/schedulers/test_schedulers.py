import pytest

from hpo.errors import SetupError
from hpo.schedulers import check_scheduler, make_scheduler


def test_none_takes_no_options_and_makes_no_scheduler():
    assert check_scheduler("none", {}, pruner="median", max_epochs=10) == {}
    assert make_scheduler("none", {}, max_epochs=10, direction="maximize") is None


def test_defaults_are_filled_in_and_the_scheduler_made_from_them():
    assert check_scheduler("asha", {"min_epochs": 2}, pruner="none", max_epochs=10) == {
        "reduction_factor": 3, "min_epochs": 2}
    scheduler = make_scheduler("hyperband", {"reduction_factor": 2}, max_epochs=10, direction="minimize")
    assert scheduler is not None and scheduler.hyperband and scheduler.reduction_factor == 2


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
