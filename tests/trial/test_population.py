"""The trial side of PBT: the mutable parameters' check, and a lineage retrained segment by segment."""

import dataclasses
import types

import pytest

from hpo.data._sources import load_dataset
from hpo.errors import SetupError
from hpo.objectives import Objective, mlp
from hpo.schedulers import make_scheduler
from hpo.study._spec import StudySpec
from hpo.trial._context import fit_settings
from hpo.trial._population import check_mutable, retrain_lineage


def test_mutable_parameters_must_be_in_the_space_and_keep_the_shapes_pbt_copies():
    data = load_dataset("digits")

    def spec(mutable):
        return StudySpec(name="s", scheduler="pbt", pruner="none", n_trials=4,
                         scheduler_options={"mutable": mutable})

    check_mutable(Objective(mlp), data, spec(["learning_rate", "dropout", "batch_size"]))
    with pytest.raises(SetupError, match=r"mutable parameter\(s\) 'lr' not in hpo.objectives.mlp's search space"):
        check_mutable(Objective(mlp), data, spec(["lr"]))
    with pytest.raises(SetupError, match="mutable parameter 'units_0' changes the shapes of the model's weights"):
        check_mutable(Objective(mlp), data, spec(["units_0"]))


def test_an_explore_function_is_tried_once_before_any_trial(tmp_path):
    (tmp_path / "explore.py").write_text(
        "def calmer(params):\n    return {**params, 'dropout': 0.1}\n"
        "def wider(params):\n    return {**params, 'units_0': 2 * params['units_0']}\n"
        "def broken(params):\n    raise KeyError('lr')\n")
    data = load_dataset("digits")

    def spec(function):
        return StudySpec(name="s", scheduler="pbt", pruner="none", n_trials=4,
                         scheduler_options={"mutable": [], "explore": f"{tmp_path}/explore.py:{function}"})

    check_mutable(Objective(mlp), data, spec("calmer"))
    with pytest.raises(SetupError, match="explore '.*explore.py:wider' changes the shapes of the model's weights"):
        check_mutable(Objective(mlp), data, spec("wider"))
    with pytest.raises(SetupError, match="explore '.*explore.py:broken' failed: KeyError"):
        check_mutable(Objective(mlp), data, spec("broken"))


@pytest.mark.slow
def test_a_lineage_is_retrained_with_each_segments_parameters_from_its_first_epoch():
    data = load_dataset("digits")
    data = dataclasses.replace(data, x_train=data.x_train[:200], y_train=data.y_train[:200])
    spec = StudySpec(name="s", metric="val_loss", max_epochs=4, patience=4, scheduler="pbt", pruner="none",
                     n_trials=2, scheduler_options={"interval": 2})
    scheduler = make_scheduler("pbt", spec.scheduler_options, max_epochs=4, direction="minimize", n_trials=2)
    first = dict(mlp.DEFAULT_PARAMS, units_0=16, learning_rate=0.01)
    segments = [types.SimpleNamespace(params=first, user_attrs={"pbt_generation": 0}),
                types.SimpleNamespace(params=dict(first, learning_rate=0.002), user_attrs={"pbt_generation": 1})]
    asked = []

    def settings_for(params, pause_at):
        asked.append((params["learning_rate"], sorted(pause_at)))
        return fit_settings(spec, params, 3, None, pause_at)

    result = retrain_lineage(Objective(mlp), data, scheduler, segments, settings_for)
    assert asked == [(0.01, [2]), (0.002, [])]  # the first segment paused after epoch 2, the second went on
    assert result.first_epoch == 3 and result.epochs_trained == 4
    assert float(result.model.optimizer.learning_rate) == pytest.approx(0.002)
