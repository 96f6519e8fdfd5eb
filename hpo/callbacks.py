"""Keras callbacks, one job each.

Our own pruning callback rather than optuna-integration's ``KerasPruningCallback``: that one
only warns when the monitored metric is missing from the logs (optuna/optuna#1218), so a typo
in ``metric`` silently disables pruning and every trial scores nothing. Here it is an error.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import keras

from hpo.errors import MonitorMissingError, NonFiniteLossError

if TYPE_CHECKING:
    import optuna


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
