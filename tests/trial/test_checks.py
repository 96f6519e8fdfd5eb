"""The checks that need Keras: the metric before any trial, a trial's parameter count."""

import types

import pytest

from hpo.data._sources import load_dataset
from hpo.errors import TrialFailure
from hpo.objectives import Objective, mlp
from hpo.study._spec import StudySpec
from hpo.trial._checks import check_param_count


def test_a_parameter_count_formula_that_disagrees_with_keras_fails_the_trial():
    info = types.SimpleNamespace(input_shape=(8, 8, 1), n_classes=10)
    data = types.SimpleNamespace(info=lambda: info)
    params = dict(mlp.DEFAULT_PARAMS)
    check_param_count(Objective(mlp), params, data, mlp.param_count(params, (8, 8, 1), 10))
    with pytest.raises(TrialFailure, match="formula gives .* but Keras counts 1 .*hpo.objectives.mlp"):
        check_param_count(Objective(mlp), params, data, 1)
    no_formula = types.SimpleNamespace(suggest=mlp.suggest, build=mlp.build)
    check_param_count(Objective(no_formula), params, data, 1)  # nothing to check


def test_a_metric_the_model_does_not_log_is_found_before_any_trial():
    from hpo.errors import MonitorMissingError
    from hpo.trial._checks import check_metric

    data = load_dataset("digits")
    check_metric(Objective(mlp), data, StudySpec(name="s", metric="val_accuracy"))
    check_metric(Objective(mlp), data, StudySpec(name="s", metric="loss"))
    with pytest.raises(MonitorMissingError, match="'val_acc' is not in Keras' logs of this objective; "
                                                  "available: accuracy, loss, val_accuracy, val_loss"):
        check_metric(Objective(mlp), data, StudySpec(name="s", metric="val_acc"))
    # Without defaults a random configuration is built; one that cannot be built is not judged.
    no_defaults = types.SimpleNamespace(suggest=mlp.suggest, build=mlp.build)
    with pytest.raises(MonitorMissingError):
        check_metric(Objective(no_defaults), data, StudySpec(name="s", metric="val_auc"))
    broken = types.SimpleNamespace(suggest=lambda trial: {}, build=lambda *args: 1 / 0)
    check_metric(Objective(broken), data, StudySpec(name="s", metric="val_auc"))
