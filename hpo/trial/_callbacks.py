"""Keras callbacks, one job each.

Our own pruning callback rather than optuna-integration's ``KerasPruningCallback``: that one
only warns when the monitored metric is missing from the logs (optuna/optuna#1218), so a typo
in ``metric`` silently disables pruning and every trial scores nothing. Here it is an error.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

import keras

from hpo._interrupts import stop_requested
from hpo.errors import CheckpointError, EpochBudgetSpent, MonitorMissingError, NonFiniteLossError, TrialInterrupted, TrialPaused
from hpo.storage import DISK_FULL

if TYPE_CHECKING:
    import optuna

    from hpo.storage import CheckpointState, TrialCheckpoint


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


class TrackEpochs(keras.callbacks.Callback):
    """Hand each epoch's logs (every metric Keras and the objective's callbacks logged) and the
    optimizer's learning rate to the study's trackers (:mod:`hpo.tracking`); epochs are 1-based."""

    def __init__(self, track: Callable[[int, dict[str, float]], None]) -> None:
        super().__init__()
        self.track = track

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values = {}
        for key, value in (logs or {}).items():
            try:
                values[key] = float(value)
            except (TypeError, ValueError):  # a non-scalar an objective's callback logged
                continue
        if "learning_rate" not in values:
            rate = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
            if rate is not None:
                values["learning_rate"] = float(keras.ops.convert_to_numpy(rate))
        self.track(epoch + 1, values)


class TrialBackup(keras.callbacks.Callback):
    """A trial's learning curve and its epoch checkpoint, owned by one callback in the shape of
    Keras' ``BackupAndRestore``: :meth:`restore` before training (model and optimizer), the
    early-stopping state put back at the start of training, a save at each epoch's end. Removing
    the checkpoint is the trial runner's: a trial that will be retried keeps it.

    The curve lives here only: the monitored value of the epochs a dead process finished (from
    the checkpoint) and of each epoch trained since, whoever runs the loop (Keras' ``fit`` or an
    objective module's own). Without a checkpoint it only keeps the curve.

    After ``early_stopping`` in the callback list: Keras' ``EarlyStopping`` resets its state in
    ``on_train_begin`` and updates it in ``on_epoch_end``, and this callback restores and saves
    that state after it.
    """

    def __init__(self, monitor: str, early_stopping: keras.callbacks.EarlyStopping,
                 checkpoint: "TrialCheckpoint | None" = None, warn: Callable[[str], None] = print) -> None:
        super().__init__()
        self.monitor = monitor
        self.early_stopping = early_stopping
        self.checkpoint = checkpoint
        self.warn = warn
        self.curve: list[float] = []
        self.restored: "CheckpointState | None" = None
        self.unsaved_since: int | None = None  # the first epoch a full disk kept from its checkpoint

    def restore(self, model: "keras.Model", warn: Callable[[str], None]) -> int:
        """Load the checkpoint (a retry's) into ``model``; the epochs it holds, 0 to start over
        (none, or unusable: then it is removed, with a warning)."""
        if self.checkpoint is None:
            return 0
        try:
            state = self.checkpoint.load()
            if state is not None:
                restore_training_state(model, state)
        except CheckpointError as error:
            warn(f"warning: {error}; training from epoch 1")
            self.checkpoint.remove()
            state = None
        if state is None:
            return 0
        self.restored, self.curve = state, list(state.curve)
        return state.epochs_done

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        state, stopper = self.restored, self.early_stopping
        if state is not None and state.best_epoch > 0:
            stopper.best = state.curve[state.best_epoch - 1]
            stopper.best_epoch = state.best_epoch - 1  # Keras counts epochs from 0
            stopper.wait = state.wait
            stopper.best_weights = state.best_weights

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.curve.append(_logged_value(logs, self.monitor, epoch))
        if self.checkpoint is None:
            return
        stopper = self.early_stopping
        try:
            self.checkpoint.save(
                epochs_done=epoch + 1,
                curve=self.curve,
                best_epoch=stopper.best_epoch + 1 if stopper.best is not None else 0,
                wait=stopper.wait,
                model_weights=self.model.get_weights(),
                optimizer_variables=[v.numpy() for v in self.model.optimizer.variables],
                best_weights=stopper.best_weights,
            )
        except OSError as error:
            # A full disk costs the trial its crash safety, not its training: the previous
            # checkpoint stays whole (TrialCheckpoint.save commits last), and each epoch tries again.
            if error.errno not in DISK_FULL:
                raise
            if self.unsaved_since is None:
                self.unsaved_since = epoch + 1
                self.warn(f"warning: checkpoint of epoch {epoch + 1} not saved ({error.strerror}: "
                          f"{self.checkpoint.directory}); training goes on, and a crash now resumes "
                          f"from epoch {self.checkpoint.epochs_done() + 1}")
            return
        if self.unsaved_since is not None:
            missed = f"epoch {epoch}" if self.unsaved_since == epoch else f"epochs {self.unsaved_since}-{epoch}"
            self.warn(f"checkpoints saved again from epoch {epoch + 1} ({missed} had none)")
            self.unsaved_since = None


class StopAtEpochBoundary(keras.callbacks.Callback):
    """End the trial after the epoch in flight when Ctrl-C or SIGTERM asked for a stop.

    Last in the callback list, so the epoch's checkpoint is already written.
    """

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if stop_requested():
            raise TrialInterrupted(f"interrupted after epoch {epoch + 1}")


class PauseAtRung(keras.callbacks.Callback):
    """End the trial as paused after an epoch in ``rungs`` (a scheduler's, :mod:`hpo.schedulers`),
    unless it is the last one or early stopping ends the trial there anyway. After the
    checkpoint and the report, so the paused epoch is in both."""

    def __init__(self, rungs: "frozenset[int]", max_epochs: int) -> None:
        super().__init__()
        self.rungs, self.max_epochs = rungs, max_epochs

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if epoch + 1 in self.rungs and epoch + 1 < self.max_epochs and not self.model.stop_training:
            raise TrialPaused(epoch + 1)


class GrantNextEpoch(keras.callbacks.Callback):
    """Ask the study's epoch budget for the next epoch (:class:`hpo.driver._budget.EpochLedger`)
    before it starts; refused, end training. Last: a trial stopping here anyway asks nothing."""

    def __init__(self, grant: Callable[[], bool], max_epochs: int) -> None:
        super().__init__()
        self.grant, self.max_epochs = grant, max_epochs

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if epoch + 1 < self.max_epochs and not self.model.stop_training and not self.grant():
            raise EpochBudgetSpent(f"epoch budget spent after epoch {epoch + 1}")


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
