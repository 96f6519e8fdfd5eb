import math

import optuna
import pytest

from hpo.errors import MonitorMissingError, NonFiniteLossError
from hpo.trial.callbacks import FailOnNonFiniteLoss, ReportAndPrune


def _study(pruner=None):
    return optuna.create_study(direction="maximize", pruner=pruner or optuna.pruners.NopPruner())


def test_reports_the_monitored_metric_per_one_based_epoch():
    study = _study()
    trial = study.ask()
    callback = ReportAndPrune(trial, "val_accuracy")
    for epoch, value in enumerate([0.5, 0.7, 0.6]):
        callback.on_epoch_end(epoch, {"loss": 1.0, "val_accuracy": value})
    study.tell(trial, 0.7)
    assert study.trials[0].intermediate_values == {1: 0.5, 2: 0.7, 3: 0.6}


def test_prunes_when_the_pruner_says_so():
    trial = _study(optuna.pruners.ThresholdPruner(lower=0.9)).ask()
    with pytest.raises(optuna.TrialPruned, match="pruned at epoch 1"):
        ReportAndPrune(trial, "val_accuracy").on_epoch_end(0, {"val_accuracy": 0.5})


def test_missing_monitor_is_an_error_naming_what_is_there():
    trial = _study().ask()
    with pytest.raises(MonitorMissingError, match="'val_auc' is not in Keras' logs at epoch 1; available: loss, val_accuracy"):
        ReportAndPrune(trial, "val_auc").on_epoch_end(0, {"loss": 1.0, "val_accuracy": 0.5})


@pytest.mark.parametrize("logs", [{"loss": math.nan, "val_accuracy": 0.5}, {"loss": 1.0, "val_accuracy": math.inf}])
def test_non_finite_loss_or_metric_fails_the_trial(logs):
    with pytest.raises(NonFiniteLossError, match="became (nan|inf) at epoch 4"):
        FailOnNonFiniteLoss("val_accuracy").on_epoch_end(3, logs)


def test_finite_values_pass():
    FailOnNonFiniteLoss("val_accuracy").on_epoch_end(0, {"loss": 0.3, "val_accuracy": 0.9})


def test_the_curve_recorder_keeps_the_monitored_value_of_each_epoch():
    from hpo.trial.callbacks import RecordCurve

    recorder = RecordCurve("val_loss")
    recorder.on_epoch_end(0, {"loss": 1.0, "val_loss": 0.9})
    recorder.on_epoch_end(1, {"loss": 0.8, "val_loss": 0.7})
    assert recorder.values == [0.9, 0.7]
    with pytest.raises(MonitorMissingError, match="'val_loss' is not in Keras' logs at epoch 3"):
        recorder.on_epoch_end(2, {"loss": 0.5})
