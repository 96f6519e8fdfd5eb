import dataclasses

import pytest

from hpo.errors import SetupError
from hpo.study._metrics import direction_of
from hpo.study._spec import StudySpec


def test_direction_is_inferred_from_the_metric_once():
    assert StudySpec(name="a", metric="val_accuracy").direction == "maximize"
    assert StudySpec(name="a", metric="val_loss").direction == "minimize"
    assert StudySpec(name="a", metric="val_loss", direction="maximize").direction == "maximize"
    assert direction_of("val_mean_squared_error") == "minimize"


def test_a_metric_without_a_known_direction_must_state_one():
    assert StudySpec(name="a", metric="val_mae").direction == "minimize"  # never maximised by a guess
    with pytest.raises(SetupError, match="metric 'val_score' is not one hpo knows the direction of"):
        StudySpec(name="a", metric="val_score")
    assert StudySpec(name="a", metric="val_score", direction="maximize").direction == "maximize"


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"name": "bad name!"}, "invalid study name"),
        ({"name": "a", "sampler": "annealing"}, "unknown sampler 'annealing'"),
        ({"name": "a", "pruner": "sometimes"}, "unknown pruner 'sometimes'"),
        ({"name": "a", "n_trials": 0}, "n_trials must be a positive integer"),
        ({"name": "a", "max_epochs": 2.5}, "max_epochs must be a positive integer"),
        ({"name": "a", "direction": "up"}, "direction must be"),
        ({"name": "a", "seed": -1}, "seed must be"),
        ({"name": "a", "enqueue": [{"lr": float("nan")}]}, "enqueued parameter"),
        ({"name": "a", "backend": "mxnet"}, "backend must be one of tensorflow, torch, jax"),
        ({"name": "a", "cv": 0}, "cv must be a positive integer, got 0"),
        ({"name": "a", "repeats": True}, "repeats must be a positive integer"),
        ({"name": "a", "confirm_top": -1}, "confirm_top must be a non-negative integer"),
        ({"name": "a", "cv": 3, "scheduler": "asha", "pruner": "none"}, "cannot run with scheduler='asha'"),
        ({"name": "a", "confirm_top": 2, "also_minimize": "n_params"}, "cannot run with also_minimize"),
        ({"name": "a", "tracking": {"wandb": "x"}}, "unknown tracking 'wandb': use 'tensorboard' or 'mlflow'"),
        ({"name": "a", "tracking": {"mlflow": ""}}, "tracking 'mlflow' must be a directory or URI"),
        ({"name": "a", "tracking": "runs/tb"}, "tracking must map 'tensorboard' and/or 'mlflow'"),
    ],
)
def test_invalid_settings_are_rejected_with_the_bad_value(settings, message):
    with pytest.raises(SetupError, match=message):
        StudySpec(**settings)


def test_round_trip_through_storage_form():
    spec = StudySpec(name="a", n_trials=7, enqueue=[{"units_0": 64}], storage="sqlite:///x.db",
                     tracking={"tensorboard": "runs/tb", "mlflow": "http://127.0.0.1:5000"})
    data = spec.to_dict()
    assert "storage" not in data  # where a study lives is not one of its settings
    assert StudySpec.from_dict(data) == dataclasses.replace(spec, storage=None)


def test_overrides_ignore_none_and_differences_name_the_changed_settings():
    stored = StudySpec(name="a", n_trials=10)
    changed = stored.with_overrides(n_trials=20, sampler=None, max_epochs=5)
    assert changed.sampler == stored.sampler
    assert changed.differences(stored) == [("n_trials", 10, 20), ("max_epochs", 30, 5)]


def test_unknown_stored_settings_are_an_error():
    with pytest.raises(SetupError, match="unknown study settings: colour"):
        StudySpec.from_dict({"name": "a", "colour": "blue"})


@pytest.mark.parametrize("settings, message", [
    ({"scheduler": "asha"}, "scheduler 'asha' decides which trials go on, so it needs pruner='none'"),
    ({"scheduler": "asha", "pruner": "none", "also_minimize": "n_params"}, "cannot run with also_minimize"),
    ({"epoch_budget": 0}, "epoch_budget must be a positive integer, got 0"),
    ({"scheduler": "asha", "pruner": "none", "scheduler_options": {"eta": 2}}, "takes no option 'eta'"),
    ({"scheduler": "pbt", "pruner": "none", "scheduler_options": {"population": 8}},
     r"population \(8\) differs from n_trials \(30\)"),
])
def test_scheduler_and_epoch_budget_settings_are_checked(settings, message):
    with pytest.raises(SetupError, match=message):
        StudySpec(name="s", **settings)


def test_a_scheduled_study_round_trips_through_storage():
    spec = StudySpec(name="s", scheduler="hyperband", pruner="none", scheduler_options={"min_epochs": 2},
                     epoch_budget=300)
    assert StudySpec.from_dict(spec.to_dict()) == spec
    assert StudySpec(name="s").scheduler == "none" and StudySpec(name="s").epoch_budget is None


def test_folds_and_repeats_are_part_of_what_a_study_optimises():
    from hpo.study._spec import IDENTITY_FIELDS

    spec = StudySpec(name="a", cv=5, repeats=2, confirm_top=3)
    assert spec.evaluated_more_than_once and not StudySpec(name="a", confirm_top=3).evaluated_more_than_once
    assert StudySpec.from_dict(spec.to_dict()) == spec
    assert {"cv", "repeats"} <= set(IDENTITY_FIELDS) and "confirm_top" not in IDENTITY_FIELDS
