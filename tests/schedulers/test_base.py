import dataclasses
import inspect

import pytest

from hpo.schedulers import make_scheduler
from hpo.schedulers._base import NextTrial, Scheduler


@pytest.mark.parametrize("name", ["asha", "hyperband", "pbt"])
def test_every_scheduler_answers_the_whole_protocol_with_its_signatures(name):
    scheduler = make_scheduler(name, {}, max_epochs=9, direction="minimize", n_trials=4)
    for method in ("first_attrs", "pause_epochs", "next_trial", "releasable"):
        expected = inspect.signature(getattr(Scheduler, method))
        assert list(inspect.signature(getattr(scheduler, method)).parameters) == list(expected.parameters)[1:]
    assert scheduler.next_trial([]) is None and scheduler.releasable([]) == []


def test_a_next_trial_is_a_value():
    chosen = NextTrial(source=None, params={"x": 1}, attrs={"continues": 0}, promoted=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        chosen.promoted = False  # type: ignore[misc]
