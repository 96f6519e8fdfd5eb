import math

import optuna
import pytest

from hpo.errors import MonitorMissingError, NonFiniteLossError
from hpo.trial._callbacks import FailOnNonFiniteLoss, ReportAndPrune


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


def test_the_backup_keeps_the_monitored_value_of_each_epoch():
    import keras

    from hpo.trial._callbacks import TrialBackup

    backup = TrialBackup("val_loss", keras.callbacks.EarlyStopping(monitor="val_loss"))  # no checkpoint
    backup.on_epoch_end(0, {"loss": 1.0, "val_loss": 0.9})
    backup.on_epoch_end(1, {"loss": 0.8, "val_loss": 0.7})
    assert backup.curve == [0.9, 0.7]
    with pytest.raises(MonitorMissingError, match="'val_loss' is not in Keras' logs at epoch 3"):
        backup.on_epoch_end(2, {"loss": 0.5})


def _tiny_model():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_the_backup_saves_each_epoch_and_a_new_process_restores_weights_curve_and_early_stopping(tmp_path):
    import keras
    import numpy as np

    from hpo.storage._checkpoints import TrialCheckpoint
    from hpo.trial._callbacks import TrialBackup

    def stopper():
        return keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)

    model, checkpoint = _tiny_model(), TrialCheckpoint(tmp_path / "trial-0")
    early_stopping = stopper()
    backup = TrialBackup("val_loss", early_stopping, checkpoint)
    early_stopping.set_model(model)
    backup.set_model(model)
    early_stopping.on_train_begin()
    for epoch, value in enumerate([0.9, 0.5, 0.6]):  # what Keras calls, in the list's order
        logs = {"loss": 1.0, "val_loss": value}
        early_stopping.on_epoch_end(epoch, logs)
        backup.on_epoch_end(epoch, logs)
    assert checkpoint.epochs_done() == 3

    # The retry, in another process: a fresh model and callbacks.
    fresh, early_stopping = _tiny_model(), stopper()
    retry = TrialBackup("val_loss", early_stopping, checkpoint)
    assert retry.restore(fresh, warn=print) == 3 and retry.curve == [0.9, 0.5, 0.6]
    assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), model.get_weights()))
    early_stopping.on_train_begin()  # resets it, then the backup puts the state back
    retry.on_train_begin()
    assert (early_stopping.best, early_stopping.best_epoch, early_stopping.wait) == (0.5, 1, 1)


def test_an_unusable_checkpoint_is_removed_and_training_starts_over(tmp_path):
    import keras

    from hpo.storage._checkpoints import TrialCheckpoint
    from hpo.trial._callbacks import TrialBackup

    checkpoint = TrialCheckpoint(tmp_path / "trial-0")
    checkpoint.directory.mkdir()
    (checkpoint.directory / "state.json").write_text("{not json")
    warnings = []
    backup = TrialBackup("val_loss", keras.callbacks.EarlyStopping(monitor="val_loss"), checkpoint)
    assert backup.restore(_tiny_model(), warn=warnings.append) == 0 and backup.curve == []
    assert not checkpoint.directory.exists() and "training from epoch 1" in warnings[0]


def test_a_full_disk_costs_the_checkpoint_with_one_warning_and_training_goes_on(tmp_path, monkeypatch):
    import errno
    import os

    import keras

    from hpo.storage._checkpoints import TrialCheckpoint
    from hpo.trial._callbacks import TrialBackup

    model, checkpoint, said = _tiny_model(), TrialCheckpoint(tmp_path / "trial-0"), []
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)
    backup = TrialBackup("val_loss", early_stopping, checkpoint, said.append)
    early_stopping.set_model(model)
    backup.set_model(model)
    early_stopping.on_train_begin()
    real_save, full = TrialCheckpoint.save, {2, 3}

    def save(self, **state):
        if state["epochs_done"] in full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_save(self, **state)

    monkeypatch.setattr(TrialCheckpoint, "save", save)
    for epoch, value in enumerate([0.9, 0.5, 0.6, 0.4]):
        logs = {"loss": 1.0, "val_loss": value}
        early_stopping.on_epoch_end(epoch, logs)
        backup.on_epoch_end(epoch, logs)
        if epoch == 1:
            assert checkpoint.epochs_done() == 1  # what a crash now would resume from
    assert said == [
        f"warning: checkpoint of epoch 2 not saved (No space left on device: {checkpoint.directory}); training "
        "goes on, and a crash now resumes from epoch 2",
        "checkpoints saved again from epoch 4 (epochs 2-3 had none)",
    ]
    assert backup.curve == [0.9, 0.5, 0.6, 0.4] and checkpoint.epochs_done() == 4
    monkeypatch.setattr(TrialCheckpoint, "save", lambda self, **state: (_ for _ in ()).throw(PermissionError("no")))
    with pytest.raises(PermissionError):  # not a full disk: the trial fails as before
        backup.on_epoch_end(4, {"val_loss": 0.3})
