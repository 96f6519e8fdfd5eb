"""The one place that trains and scores a Keras model: :func:`fit_and_score`.

``make_model`` is called after ``clear_session()`` so every trial starts from an empty graph.
With ``trial=None`` nothing is reported (the final training of ``hpo best``). The best epoch's
weights are restored, so ``result.model`` is the model that scored.

With a ``checkpoint`` the state is saved at every epoch boundary; when the checkpoint already
holds epochs (a retry of an interrupted trial), training continues after them, their values
are reported again so the pruner sees one curve, and ``resuming`` records the first epoch
trained as the trial's ``resumed_from_epoch``. ``extra_callbacks`` (the objective module's own)
run before hpo's, so hpo's checks see what they logged. ``fit`` (an objective module's own
training loop) is called as ``fit(model, epochs=, initial_epoch=, callbacks=)`` instead of
Keras' ``fit`` on hpo's pipelines; it must pass ``callbacks`` on, and a trial whose epochs never
reach them fails saying so.

``grant_epoch()`` (the study's epoch budget, :class:`hpo.driver._budget.EpochLedger`) is asked
before each epoch; refused, training ends and the epochs so far are scored. With
``settings.pause_at``, :class:`hpo.errors.TrialPaused` ends training at a rung (the checkpoint
holds the epoch). ``after_restore(model)`` runs once the checkpoint's state is loaded (a PBT
segment sets its own learning rate over the one the optimizer's state held).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import hpo.records as records
from hpo._keras_runtime import set_random_seed
from hpo.errors import EpochBudgetSpent, TrialFailure
from hpo.storage import TrialCheckpoint
from hpo.trial._callbacks import (
    FailOnNonFiniteLoss,
    GrantNextEpoch,
    PauseAtRung,
    ReportAndPrune,
    StopAtEpochBoundary,
    TrialBackup,
)

if TYPE_CHECKING:
    import keras
    import optuna

    from hpo.data import TrainingData


# An objective module's own training loop, bound to its params and data by the trial runner.
CustomFit = Callable[..., object]


@dataclass(frozen=True)
class FitSettings:
    """How a trial trains: the monitored metric and direction are declared once, here."""

    monitor: str
    direction: str  # "maximize" | "minimize"
    max_epochs: int
    patience: int
    batch_size: int = 64
    seed: int = 0
    # epoch (0-based) -> learning rate; None keeps the optimizer's rate (hpo.objectives._schedules)
    learning_rate_schedule: Callable[[int], float] | None = None
    # The study's fit_options (hpo.study._fit_options)
    class_weight: dict[int, float] | None = None
    shuffle: bool = True
    steps_per_epoch: int | None = None
    # A scheduler's rungs (hpo.schedulers): the trial pauses after the first it reaches
    pause_at: frozenset[int] = frozenset()

    @property
    def mode(self) -> str:
        return "max" if self.direction == "maximize" else "min"


@dataclass(frozen=True)
class FitResult:
    value: float  # the best epoch's monitored value, not the last epoch's
    best_epoch: int  # 1-based
    epochs_trained: int  # in total, with the epochs a resumed trial took over
    n_params: int
    model: "keras.Model"  # holds the best epoch's weights
    first_epoch: int = 1  # the first epoch trained here: later than 1 when resumed


def _build_optimizer(model: "keras.Model") -> None:
    """Create the optimizer's slots now, eagerly. Keras' TensorFlow trainer would create them
    while tracing the first train step, where making each variable costs more: 0.1 s of a
    2-epoch digits-MLP trial. The values trained are the same to the bit."""
    if model.built and model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def fit_and_score(
    trial: "optuna.trial.BaseTrial | None", make_model: Callable[[], "keras.Model"], data: "TrainingData",
    settings: FitSettings, *, checkpoint: TrialCheckpoint | None = None, resuming: bool = False,
    warn: Callable[[str], None] = print, extra_callbacks: Sequence["keras.callbacks.Callback"] = (),
    fit: "CustomFit | None" = None, grant_epoch: Callable[[], bool] | None = None,
    after_restore: Callable[["keras.Model"], None] | None = None,
) -> FitResult:
    """Build a fresh model, train it with pruning and early stopping, score its best epoch
    (the arguments: see the module's docstring)."""
    import keras

    model = _fresh_model(make_model, settings.seed)
    n_params = int(model.count_params())
    if trial is not None:
        trial.set_user_attr(records.N_PARAMS, n_params)
    # Optuna takes intermediate values (and prunes) in single-objective studies only.
    reporting_trial = trial if trial is not None and _single_objective(trial) else None
    early_stopping = keras.callbacks.EarlyStopping(monitor=settings.monitor, mode=settings.mode,
                                                   patience=settings.patience, restore_best_weights=True)
    backup = TrialBackup(settings.monitor, early_stopping, checkpoint, warn)
    done = _restore(model, backup, warn, after_restore, reporting_trial)
    if trial is not None and resuming:
        trial.set_user_attr(records.RESUMED_FROM_EPOCH, done + 1)
    state = backup.restored
    stopped_before = state is not None and state.best_epoch > 0 and state.wait >= settings.patience
    if done < settings.max_epochs and not stopped_before:
        callbacks = training_callbacks(settings, early_stopping, backup, reporting_trial, extra_callbacks, grant_epoch)
        _train_the_rest(model, data, settings, callbacks, done, fit, early_stopping, grant_epoch)
        if fit is not None and len(backup.curve) == done:
            raise TrialFailure(f"the objective's fit() ran no epoch through hpo's callbacks, so "
                               f"{settings.monitor!r} was never seen: pass callbacks=callbacks to model.fit")
    elif state is not None and state.best_weights is not None:
        model.set_weights(state.best_weights)  # the dead trial had finished its epochs
    return _scored(trial, backup.curve, settings, n_params, model, done)


def _fresh_model(make_model: Callable[[], "keras.Model"], seed: int) -> "keras.Model":
    """A model built after ``clear_session()`` (every trial starts from an empty graph), seeded."""
    import keras

    keras.backend.clear_session()
    set_random_seed(seed)
    model = make_model()
    _build_optimizer(model)
    return model


def _restore(model: "keras.Model", backup: TrialBackup, warn: Callable[[str], None],
             after_restore: Callable[["keras.Model"], None] | None, reporting_trial: "optuna.trial.BaseTrial | None",
             ) -> int:
    """Load the checkpoint's epochs into ``model``; report them again (one curve); how many."""
    done = backup.restore(model, warn)
    if after_restore is not None and done > 0:
        after_restore(model)
    if reporting_trial is not None:  # the epochs a dead process finished, again: one curve
        for step, value in enumerate(backup.curve, start=1):
            reporting_trial.report(value, step=step)
    return done


def _train_the_rest(model: "keras.Model", data: "TrainingData", settings: FitSettings,
                    callbacks: list["keras.callbacks.Callback"], done: int, fit: "CustomFit | None",
                    early_stopping: "keras.callbacks.EarlyStopping", grant_epoch: Callable[[], bool] | None) -> None:
    """Epochs ``done + 1`` on; refused an epoch by the budget, the best weights so far."""
    if grant_epoch is not None:
        grant_epoch()  # the first epoch: granted when the trial started
    try:
        _train(model, data, settings, callbacks, done, fit)
    except EpochBudgetSpent:
        if early_stopping.best_weights is not None:  # EarlyStopping's on_train_end never ran
            model.set_weights(early_stopping.best_weights)


def _scored(trial: "optuna.trial.BaseTrial | None", curve: Sequence[float], settings: FitSettings, n_params: int,
            model: "keras.Model", done: int) -> FitResult:
    """The best epoch's value (not the last's), recorded on the trial."""
    pick = max if settings.direction == "maximize" else min
    best = pick(range(len(curve)), key=lambda i: curve[i])
    value = float(curve[best])  # finite: FailOnNonFiniteLoss checked every epoch
    if trial is not None:
        trial.set_user_attr(records.BEST_EPOCH, best + 1)
        trial.set_user_attr(records.EPOCHS_TRAINED, len(curve))
    return FitResult(value, best + 1, len(curve), n_params, model, done + 1)


def fit_for_epochs(make_model: Callable[[], "keras.Model"], data: "TrainingData", settings: FitSettings,
                   epochs: int, *, extra_callbacks: Sequence["keras.callbacks.Callback"] = (),
                   fit: "CustomFit | None" = None) -> "keras.Model":
    """Train a fresh model for exactly ``epochs`` epochs on ``data``'s training split and keep
    the last epoch's weights: ``hpo best`` of a cross-validated study, which trains on training
    and validation data together (nothing is held out to pick an epoch by, so the epoch count
    is the folds' mean best epoch)."""
    import keras

    model = _fresh_model(make_model, settings.seed)
    callbacks: list[keras.callbacks.Callback] = [*extra_callbacks]
    if settings.learning_rate_schedule is not None:
        schedule = settings.learning_rate_schedule
        callbacks.append(keras.callbacks.LearningRateScheduler(lambda epoch, _rate: schedule(epoch)))
    if fit is not None:
        fit(model, epochs=epochs, initial_epoch=0, callbacks=callbacks)
        return model
    train, _ = data.pipelines(settings.batch_size, shuffle=settings.shuffle, seed=settings.seed,
                              repeat=settings.steps_per_epoch is not None)
    model.fit(train, epochs=epochs, callbacks=callbacks, shuffle=False, class_weight=settings.class_weight,
              steps_per_epoch=settings.steps_per_epoch, verbose=0)
    return model


def _train(model: "keras.Model", data: "TrainingData", settings: FitSettings,
           callbacks: list["keras.callbacks.Callback"], done: int, fit: "CustomFit | None") -> None:
    """Epochs ``done + 1`` to ``settings.max_epochs``: the objective's ``fit``, else Keras'."""
    if fit is not None:
        fit(model, epochs=settings.max_epochs, initial_epoch=done, callbacks=callbacks)
        return
    train, validation = data.pipelines(settings.batch_size, shuffle=settings.shuffle, seed=settings.seed,
                                       repeat=settings.steps_per_epoch is not None)
    model.fit(
        train,
        validation_data=validation,
        epochs=settings.max_epochs,
        initial_epoch=done,
        callbacks=callbacks,
        shuffle=False,  # the pipeline shuffles, seeded (streamed data: the stream does)
        class_weight=settings.class_weight,
        steps_per_epoch=settings.steps_per_epoch,
        verbose=0,
    )


def training_callbacks(
    settings: FitSettings,
    early_stopping: "keras.callbacks.EarlyStopping",
    backup: TrialBackup,
    reporting_trial: "optuna.trial.BaseTrial | None",
    extra_callbacks: Sequence["keras.callbacks.Callback"] = (),
    grant_epoch: Callable[[], bool] | None = None,
) -> list["keras.callbacks.Callback"]:
    """Every callback of a trial's training, in the one order that works (Keras calls them in
    list order at each epoch's end):

    1. the objective module's own, so hpo's checks see what they logged;
    2. the non-finite check, so nothing below keeps or reports a NaN;
    3. early stopping, then the backup, which records the curve and saves early stopping's
       updated state with the epoch's checkpoint;
    4. the report to Optuna (and the pruning decision) after the checkpoint: an epoch whose
       value storage holds is always in the checkpoint, so a worker killed between the two
       loses no finished epoch (the retry reports it again);
    5. the learning-rate schedule;
    6. the pause at a scheduler's rung, and the stop at the epoch boundary, when the epoch is
       saved and reported;
    7. the epoch budget's grant of the next epoch last, so a trial that ends anyway asks for none.
    """
    import keras

    callbacks: list[keras.callbacks.Callback] = [*extra_callbacks, FailOnNonFiniteLoss(settings.monitor),
                                                 early_stopping, backup]
    if reporting_trial is not None:
        callbacks.append(ReportAndPrune(reporting_trial, settings.monitor))
    if settings.learning_rate_schedule is not None:
        schedule = settings.learning_rate_schedule
        callbacks.append(keras.callbacks.LearningRateScheduler(lambda epoch, _rate: schedule(epoch)))
    if settings.pause_at:
        callbacks.append(PauseAtRung(settings.pause_at, settings.max_epochs))
    callbacks.append(StopAtEpochBoundary())
    if grant_epoch is not None:
        callbacks.append(GrantNextEpoch(grant_epoch, settings.max_epochs))
    return callbacks


def _single_objective(trial: "optuna.trial.BaseTrial") -> bool:
    study = getattr(trial, "study", None)  # a FixedTrial has none, and reports nowhere anyway
    return study is None or len(study.directions) == 1
