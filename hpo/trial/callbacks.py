"""Keras callbacks, one job each.

Our own pruning callback rather than optuna-integration's ``KerasPruningCallback``: that one
only warns when the monitored metric is missing from the logs (optuna/optuna#1218), so a typo
in ``metric`` silently disables pruning and every trial scores nothing. Here it is an error.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import keras

from hpo.errors import CheckpointError, MonitorMissingError, NonFiniteLossError, TrialInterrupted
from hpo.interrupts import stop_requested

if TYPE_CHECKING:
    import optuna

    from hpo.storage.checkpoints import CheckpointState, TrialCheckpoint


def _logged_value(logs: dict[str, Any] | None, key: str, epoch: int) -> float:
    logs = logs or {}
    if key not in logs:
        raise MonitorMissingError(
            f"metric {key!r} is not in Keras' logs at epoch {epoch + 1}; "
            f"available: {', '.join(sorted(logs)) or 'none'}"
        )
    return float(logs[key])


class FailOnNonFiniteLoss(keras.callbacks.Callback):
    """Fail the trial (with the epoch in the reason) when the loss or the monitor is NaN/inf.

    Keras' ``TerminateOnNaN`` only stops training, which would score the trial on garbage.
    """

    def __init__(self, monitor: str) -> None:
        super().__init__()
        self.monitor = monitor

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for key in ("loss", self.monitor):
            value = _logged_value(logs, key, epoch)
            if not math.isfinite(value):
                raise NonFiniteLossError(f"{key} became {value} at epoch {epoch + 1}")


class RecordCurve(keras.callbacks.Callback):
    """Keep the monitored value of each epoch trained (the trial's learning curve), whoever
    runs the training loop: Keras' own ``fit`` or an objective module's ``fit``."""

    def __init__(self, monitor: str) -> None:
        super().__init__()
        self.monitor = monitor
        self.values: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.values.append(_logged_value(logs, self.monitor, epoch))


class ReportAndPrune(keras.callbacks.Callback):
    """Report the monitored metric to the trial each epoch and prune when the pruner says so.

    Steps are 1-based epochs, so "step 3" in Optuna's views is the third epoch.
    """

    def __init__(self, trial: "optuna.trial.BaseTrial", monitor: str) -> None:
        super().__init__()
        self.trial = trial
        self.monitor = monitor

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        import optuna

        value = _logged_value(logs, self.monitor, epoch)
        self.trial.report(value, step=epoch + 1)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch + 1} with {self.monitor}={value:.6g}")


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' ``EarlyStopping`` that can start from a checkpoint's best value, best weights
    and patience counter instead of forgetting them (its ``on_train_begin`` resets them)."""

    def __init__(self, *, resume_from: "CheckpointState | None" = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resume_from = resume_from

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        state = self.resume_from
        if state is not None and state.best_epoch > 0:
            self.best = state.curve[state.best_epoch - 1]
            self.best_epoch = state.best_epoch - 1  # Keras counts epochs from 0
            self.wait = state.wait
            self.best_weights = state.best_weights


class EpochCheckpoint(keras.callbacks.Callback):
    """Save the trial's state at each epoch boundary (after early stopping has updated its own).

    ``curve`` holds the monitored values of the epochs before this ``fit`` call (a resumed
    trial's first epochs); the checkpoint stores the whole curve.
    """

    def __init__(
        self, checkpoint: "TrialCheckpoint", early_stopping: ResumableEarlyStopping,
        monitor: str, curve: list[float],
    ) -> None:
        super().__init__()
        self.checkpoint = checkpoint
        self.early_stopping = early_stopping
        self.monitor = monitor
        self.curve = curve

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.curve.append(_logged_value(logs, self.monitor, epoch))
        stopper = self.early_stopping
        best_epoch = stopper.best_epoch + 1 if stopper.best is not None else 0
        self.checkpoint.save(
            epochs_done=epoch + 1,
            curve=self.curve,
            best_epoch=best_epoch,
            wait=stopper.wait,
            model_weights=self.model.get_weights(),
            optimizer_variables=[v.numpy() for v in self.model.optimizer.variables],
            best_weights=stopper.best_weights,
        )


class StopAtEpochBoundary(keras.callbacks.Callback):
    """End the trial after the epoch in flight when Ctrl-C or SIGTERM asked for a stop.

    Last in the callback list, so the epoch's checkpoint is already written.
    """

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if stop_requested():
            raise TrialInterrupted(f"interrupted after epoch {epoch + 1}")


def restore_training_state(model: "keras.Model", state: "CheckpointState") -> None:
    """Load a checkpoint's weights and optimizer variables into a freshly built ``model``."""
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    targets = [*model.weights, *optimizer.variables]
    values = [*state.model_weights, *state.optimizer_variables]
    if len(state.model_weights) != len(model.weights) or len(values) != len(targets):
        raise CheckpointError("checkpoint does not match the model (a different architecture)")
    for variable, value in zip(targets, values):  # check all before changing any
        if tuple(variable.shape) != tuple(value.shape):
            raise CheckpointError(
                f"checkpoint does not match the model: {variable.path} has shape "
                f"{tuple(variable.shape)}, the checkpoint {tuple(value.shape)}"
            )
    for variable, value in zip(targets, values):
        variable.assign(value)
