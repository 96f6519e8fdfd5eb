"""fit_options: what a study may pass to Keras' fit, checked before anything runs (no training)."""

import numpy as np
import pytest

from hpo.errors import SetupError
from hpo.study._fit_options import check_fit_options, class_weights
from hpo.study._spec import StudySpec


@pytest.mark.parametrize("key, hint", [
    ("epochs", "max_epochs"), ("batch_size", "batch_size parameter"), ("callbacks", r"callbacks\(params\)"),
    ("validation_data", "validation split"), ("validation_split", "validation split"),
    ("initial_epoch", "retry"), ("validation_freq", "every epoch"),
])
def test_what_hpo_owns_is_refused_naming_the_key_and_the_setting_to_use(key, hint):
    with pytest.raises(SetupError, match=f"fit_options: '{key}' is set by hpo; use .*{hint}"):
        StudySpec(name="a", fit_options={key: 1})


@pytest.mark.parametrize("options, message", [
    ({"verbose": 2}, "unknown key 'verbose'; hpo passes class_weight, shuffle, steps_per_epoch"),
    ({"shuffle": "yes"}, "shuffle must be True or False"),
    ({"steps_per_epoch": 0}, "steps_per_epoch must be a positive integer"),
    ({"class_weight": "equal"}, "class_weight must be 'balanced' or"),
    ({"class_weight": {"cat": 1.0}}, "class_weight entry 'cat'"),
    ({"class_weight": {0: -1.0}}, "class_weight entry 0: -1.0"),
    ([("shuffle", False)], "fit_options must be a dict"),
])
def test_bad_values_are_one_line(options, message):
    with pytest.raises(SetupError, match=message):
        check_fit_options(options)


def test_options_survive_the_storage_round_trip_unchanged():
    spec = StudySpec(name="a", fit_options={"class_weight": {0: 1, 1: 4.5}, "shuffle": False, "steps_per_epoch": 3})
    assert spec.fit_options == {"class_weight": {"0": 1.0, "1": 4.5}, "shuffle": False, "steps_per_epoch": 3}
    stored = StudySpec.from_dict(spec.to_dict())
    assert stored == spec and spec.differences(stored) == []  # a resume reports no change


def test_class_weights_for_keras_and_the_balanced_rule():
    assert class_weights(None, np.array([0, 1])) is None
    assert class_weights({"0": 1.0, "2": 3.0}, np.array([0])) == {0: 1.0, 2: 3.0}
    labels = np.array([0] * 6 + [1] * 2)
    assert class_weights("balanced", labels) == {0: pytest.approx(8 / 12), 1: pytest.approx(2.0)}
