"""fit_and_score trains for real, on a slice of the digits data."""

import dataclasses

import keras
import optuna
import pytest

from hpo import _interrupts as interrupts
from hpo.data._sources import load_dataset
from hpo.errors import MonitorMissingError, NonFiniteLossError, TrialFailure, TrialInterrupted, TrialPaused
from hpo.objectives import mlp
from hpo.storage._checkpoints import TrialCheckpoint
from hpo.trial._training import FitSettings, fit_and_score

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_digits():
    data = load_dataset("digits")
    return dataclasses.replace(data, x_train=data.x_train[:300], y_train=data.y_train[:300])


def _model(**overrides):
    params = dict(mlp.DEFAULT_PARAMS, units_0=32, **overrides)
    return lambda: mlp.build(params, (8, 8, 1), 10)


def test_value_is_the_best_epoch_and_early_stopping_watches_the_same_metric(small_digits):
    study = optuna.create_study(direction="minimize")
    trial = study.ask()
    settings = FitSettings(monitor="val_loss", direction="minimize", max_epochs=200, patience=1)
    result = fit_and_score(trial, _model(learning_rate=0.05), small_digits, settings)
    curve = [value for _, value in sorted(trial.storage.get_trial(trial._trial_id).intermediate_values.items())]
    assert result.epochs_trained < 200, "early stopping on val_loss with patience 1 should stop"
    assert result.epochs_trained == result.best_epoch + 1  # stopped `patience` epochs after the best
    assert result.value == pytest.approx(min(curve)) and result.value <= curve[-1]
    restored = result.model.evaluate(small_digits.x_val, small_digits.y_val, verbose=0, return_dict=True)
    assert restored["loss"] == pytest.approx(result.value, rel=1e-4)  # best weights restored
    attrs = trial.storage.get_trial(trial._trial_id).user_attrs
    assert attrs["best_epoch"] == result.best_epoch and attrs["n_params"] == (64 + 1) * 32 + (32 + 1) * 10


def test_a_diverging_loss_fails_the_trial_with_the_epoch(small_digits):
    settings = FitSettings(monitor="val_accuracy", direction="maximize", max_epochs=3, patience=2)
    diverging = _model(optimizer="sgd", momentum=0.9, learning_rate=1e30, dropout=0.0)
    with pytest.raises(NonFiniteLossError, match="loss became nan at epoch 1"):
        fit_and_score(optuna.trial.FixedTrial({}), diverging, small_digits, settings)


def test_a_monitor_that_keras_does_not_log_is_an_error(small_digits):
    settings = FitSettings(monitor="val_auc", direction="maximize", max_epochs=2, patience=2)
    with pytest.raises(MonitorMissingError, match="val_auc"):
        fit_and_score(optuna.trial.FixedTrial({}), _model(), small_digits, settings)


def _curve(trial):
    stored = trial.storage.get_trial(trial._trial_id)
    return [value for _, value in sorted(stored.intermediate_values.items())]


def test_a_stop_request_ends_the_trial_at_the_epoch_boundary_with_its_checkpoint(small_digits, tmp_path):
    checkpoint = TrialCheckpoint(tmp_path / "trial-0")
    settings = FitSettings(monitor="val_accuracy", direction="maximize", max_epochs=20, patience=20)

    class StopAfterThirdEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                interrupts.request_stop()  # as Ctrl-C does, in the middle of epoch 3

    trial = optuna.create_study(direction="maximize").ask()
    make_model = _model()
    with_stopper = lambda: _with_callback(make_model(), StopAfterThirdEpoch())  # noqa: E731
    try:
        with pytest.raises(TrialInterrupted, match="after epoch 3"):
            fit_and_score(trial, with_stopper, small_digits, settings, checkpoint=checkpoint)
    finally:
        interrupts._requested.clear()
    state = checkpoint.load()
    assert state.epochs_done == 3 and state.curve == pytest.approx(_curve(trial))


def test_a_retry_continues_the_dead_trials_curve_and_optimizer_from_its_checkpoint(small_digits, tmp_path):
    study = optuna.create_study(direction="maximize")
    settings = FitSettings(monitor="val_accuracy", direction="maximize", max_epochs=6, patience=6, seed=3)
    uninterrupted = study.ask()
    whole = fit_and_score(uninterrupted, _model(), small_digits, settings)

    # The "dead" trial: three epochs, checkpointed, as if killed during epoch 4.
    dead = study.ask()
    checkpoint = TrialCheckpoint(tmp_path / "trial-1")
    fit_and_score(dead, _model(), small_digits, dataclasses.replace(settings, max_epochs=3), checkpoint=checkpoint)
    assert checkpoint.epochs_done() == 3

    retry = study.ask()
    resumed = fit_and_score(retry, _model(), small_digits, settings, checkpoint=checkpoint, resuming=True)
    attrs = retry.storage.get_trial(retry._trial_id).user_attrs
    assert attrs["resumed_from_epoch"] == 4 and resumed.first_epoch == 4
    assert attrs["epochs_trained"] == 6 and resumed.epochs_trained == 6
    curve = _curve(retry)
    assert len(curve) == 6 and curve[:3] == pytest.approx(_curve(dead))  # one curve, not two
    batches = -(-len(small_digits.x_train) // settings.batch_size)
    assert int(resumed.model.optimizer.iterations) == 6 * batches  # Adam's state carried over
    # Same seed, same weights and optimizer state: the continued curve follows the
    # uninterrupted one closely (only the data order of epochs 4-6 differs).
    assert curve[-1] == pytest.approx(_curve(uninterrupted)[-1], abs=0.05)
    assert resumed.value == pytest.approx(max(curve)) and whole.epochs_trained == 6


def test_a_checkpoint_of_another_architecture_is_ignored_with_a_warning(small_digits, tmp_path):
    checkpoint = TrialCheckpoint(tmp_path / "trial-0")
    settings = FitSettings(monitor="val_accuracy", direction="maximize", max_epochs=2, patience=2)
    fit_and_score(None, _model(), small_digits, settings, checkpoint=checkpoint)
    warnings = []
    wider = _model(n_layers=2, units_1=16)
    result = fit_and_score(None, wider, small_digits, settings, checkpoint=checkpoint, warn=warnings.append)
    assert result.first_epoch == 1 and result.epochs_trained == 2
    assert len(warnings) == 1 and "does not match the model" in warnings[0]


def _with_callback(model, callback):
    """Make ``fit`` also call ``callback`` (the model's own fit, wrapped)."""
    fit = model.fit

    def fit_with_callback(*args, callbacks=(), **kwargs):
        return fit(*args, callbacks=[callback, *callbacks], **kwargs)

    model.fit = fit_with_callback
    return model


def test_fit_options_and_the_objectives_own_callbacks_reach_keras(small_digits):
    batches = []

    class CountBatches(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)

    settings = FitSettings(monitor="val_accuracy", direction="maximize", max_epochs=2, patience=2,
                           batch_size=16, class_weight={i: 1.0 + i for i in range(10)}, shuffle=False,
                           steps_per_epoch=3)
    result = fit_and_score(None, _model(), small_digits, settings, extra_callbacks=[CountBatches()])
    assert result.epochs_trained == 2 and batches == [0, 1, 2, 0, 1, 2]  # 3 batches an epoch


def test_an_objectives_own_fit_gets_hpos_callbacks_and_the_curve_comes_from_them(small_digits):
    calls = []

    def own_fit(model, *, epochs, initial_epoch, callbacks):
        calls.append((epochs, initial_epoch))
        return model.fit(small_digits.x_train, small_digits.y_train, batch_size=64, epochs=epochs,
                         initial_epoch=initial_epoch, callbacks=callbacks, verbose=0,
                         validation_data=(small_digits.x_val, small_digits.y_val))

    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    settings = FitSettings(monitor="val_accuracy", direction="maximize", max_epochs=3, patience=3)
    result = fit_and_score(trial, _model(), small_digits, settings, fit=own_fit)
    assert calls == [(3, 0)] and result.epochs_trained == 3
    reported = trial.storage.get_trial(trial._trial_id).intermediate_values
    assert sorted(reported) == [1, 2, 3] and result.value == max(reported.values())  # pruning saw each epoch


def test_an_own_fit_that_drops_hpos_callbacks_fails_the_trial_saying_so(small_digits):
    def careless_fit(model, *, epochs, initial_epoch, callbacks):
        model.fit(small_digits.x_train, small_digits.y_train, epochs=1, verbose=0)

    settings = FitSettings(monitor="val_accuracy", direction="maximize", max_epochs=2, patience=2)
    with pytest.raises(TrialFailure, match="ran no epoch through hpo's callbacks.*pass callbacks=callbacks"):
        fit_and_score(None, _model(), small_digits, settings, fit=careless_fit)


def test_an_epochs_checkpoint_is_written_before_its_value_is_reported(small_digits, tmp_path):
    # A worker killed between the two would otherwise lose an epoch storage already shows.
    study = optuna.create_study(direction="maximize")
    checkpoint = TrialCheckpoint(tmp_path / "trial-0")
    trial = study.ask()
    seen = []
    report = trial.report

    def report_after_checkpoint(value, step):
        seen.append((step, checkpoint.epochs_done()))
        report(value, step)

    trial.report = report_after_checkpoint
    settings = FitSettings(monitor="val_accuracy", direction="maximize", max_epochs=3, patience=3)
    fit_and_score(trial, _model(), small_digits, settings, checkpoint=checkpoint)
    assert seen == [(1, 1), (2, 2), (3, 3)]


def test_a_paused_trial_continues_its_curve_and_optimizer_as_if_never_paused(small_digits, tmp_path):
    study = optuna.create_study(direction="minimize")
    settings = FitSettings(monitor="val_loss", direction="minimize", max_epochs=6, patience=6, seed=5)
    first = study.ask()
    whole = fit_and_score(first, _model(learning_rate=0.01), small_digits, settings)
    uninterrupted = _curve(first)

    paused = study.ask()
    checkpoint = TrialCheckpoint(tmp_path / "trial-1")
    with pytest.raises(TrialPaused) as pause:
        fit_and_score(paused, _model(learning_rate=0.01), small_digits, dataclasses.replace(settings, pause_at=frozenset({3})),
                      checkpoint=checkpoint)
    assert pause.value.epoch == 3 and checkpoint.epochs_done() == 3 and len(_curve(paused)) == 3

    continuation = study.ask()
    resumed = fit_and_score(continuation, _model(learning_rate=0.01), small_digits, settings,
                            checkpoint=checkpoint, resuming=True)
    curve = _curve(continuation)
    assert len(curve) == 6 and curve[:3] == pytest.approx(_curve(paused))
    assert resumed.first_epoch == 4 and resumed.epochs_trained == 6
    batches = -(-len(small_digits.x_train) // settings.batch_size)
    assert int(resumed.model.optimizer.iterations) == 6 * batches  # Adam's moments and step went on
    # The epoch after the pause: the same weights and optimizer state as the uninterrupted run
    # (only the data order differs), so its loss matches within a few percent. Measured: 1.0655
    # continued, 1.0658 uninterrupted; with Adam's variables zeroed in the checkpoint, 1.369.
    assert curve[3] == pytest.approx(uninterrupted[3], rel=0.05)
    assert whole.epochs_trained == 6


def test_an_epoch_budget_refusal_ends_training_and_scores_the_epochs_so_far(small_digits):
    study = optuna.create_study(direction="minimize")
    settings = FitSettings(monitor="val_loss", direction="minimize", max_epochs=10, patience=10)
    asked = []

    def grant():
        asked.append(len(asked) + 1)
        return len(asked) <= 4

    trial = study.ask()
    result = fit_and_score(trial, _model(), small_digits, settings, grant_epoch=grant)
    assert asked == [1, 2, 3, 4, 5] and result.epochs_trained == 4  # epochs 1-4 granted, the 5th refused
    assert result.value == pytest.approx(min(_curve(trial)))
    restored = result.model.evaluate(small_digits.x_val, small_digits.y_val, verbose=0, return_dict=True)
    assert restored["loss"] == pytest.approx(result.value, rel=1e-4)  # the best epoch's weights


def test_a_copied_checkpoint_goes_on_with_the_new_learning_rate_not_the_one_its_state_held(small_digits, tmp_path):
    settings = FitSettings(monitor="val_loss", direction="minimize", max_epochs=4, patience=4, seed=2)
    donor = TrialCheckpoint(tmp_path / "trial-0")
    with pytest.raises(TrialPaused):
        fit_and_score(None, _model(learning_rate=0.01), small_digits,
                      dataclasses.replace(settings, pause_at=frozenset({2})), checkpoint=donor)
    segment = TrialCheckpoint(tmp_path / "trial-1")
    assert donor.copy_to(segment)
    rates = []

    def apply(model):  # as Objective.apply does for a PBT segment
        rates.append(float(model.optimizer.learning_rate))
        model.optimizer.learning_rate = 0.003

    result = fit_and_score(None, _model(learning_rate=0.003), small_digits, settings, checkpoint=segment,
                           resuming=True, after_restore=apply)
    assert rates == [pytest.approx(0.01)]  # the restored state held the donor's rate
    assert float(result.model.optimizer.learning_rate) == pytest.approx(0.003)
    assert result.first_epoch == 3 and result.epochs_trained == 4 and donor.epochs_done() == 2


def test_a_pooled_final_model_trains_exactly_the_epochs_it_is_given(small_digits):
    from hpo.trial._training import fit_for_epochs

    settings = FitSettings(monitor="val_loss", direction="minimize", max_epochs=50, patience=1, seed=3)
    pooled = small_digits.pooled()
    assert len(pooled.x_train) == 300 + len(small_digits.x_val)
    epochs = []
    counter = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append(epoch))
    model = fit_for_epochs(_model(learning_rate=0.05), pooled, settings, 3, extra_callbacks=[counter])
    assert epochs == [0, 1, 2] and model.count_params() == (64 + 1) * 32 + (32 + 1) * 10
