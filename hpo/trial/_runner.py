"""One trial: suggest, build, fit and score, with its checkpoint, records and kept model.

:func:`make_trial_runner` turns an objective module and the data into the ``(trial) -> value``
Optuna calls. The objective module defines the search space and the model
(:class:`hpo.objectives.ObjectiveModule`, seen through :class:`hpo.objectives.Objective`);
:mod:`hpo.trial._training` trains it; this module ties them
to the trial: its seed (a retry keeps the original trial's), its epoch checkpoint (a retry
takes over the dead trial's, a continuation the paused trial's), its pause at a scheduler's
rung, its epochs granted by the study's epoch budget, its records, its value (with ``also_minimize``, the pair of the
metric and the second objective) and the best trial's kept ``.keras`` model.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable, Sequence

import hpo.records as records
from hpo._keras_runtime import tensorflow_left_unimported
from hpo._selection import chosen_trial
from hpo.errors import MonitorMissingError, SetupError, StorageError, TrialFailure, TrialPaused, TrialTakenOver

if TYPE_CHECKING:
    import keras
    import optuna

    from hpo.data import TrainingData
    from hpo.objectives import Objective
    from hpo.schedulers import Scheduler
    from hpo.storage import StudyFiles, TrialCheckpoint
    from hpo.study import StudySpec
    from hpo.tracking import Trackers
    from hpo.trial._evaluations import Evaluation
    from hpo.trial._training import FitResult, FitSettings

DEFAULT_BATCH_SIZE = 64
# What a trial returns to Optuna: the metric, or (metric, second objective) with also_minimize.
TrialValue = float | Sequence[float]


def fit_settings(spec: "StudySpec", params: dict[str, Any], seed: int,
                 class_weight: dict[int, float] | None = None, pause_at: frozenset[int] = frozenset()) -> "FitSettings":
    """How a configuration trains in this study (the search and ``hpo best`` alike);
    ``class_weight`` is :func:`class_weight_for`'s, computed once per process; ``pause_at`` a
    scheduler's rungs (none for ``hpo best``)."""
    from hpo.objectives import epoch_schedule
    from hpo.trial._training import FitSettings

    return FitSettings(
        monitor=spec.metric,
        direction=spec.direction,
        max_epochs=spec.max_epochs,
        patience=spec.patience,
        batch_size=int(params.get("batch_size", DEFAULT_BATCH_SIZE)),
        seed=seed,
        learning_rate_schedule=epoch_schedule(params, spec.max_epochs),
        class_weight=class_weight,
        shuffle=bool(spec.fit_options.get("shuffle", True)),
        steps_per_epoch=spec.fit_options.get("steps_per_epoch"),
        pause_at=pause_at,
    )


def class_weight_for(spec: "StudySpec", data: "TrainingData") -> dict[int, float] | None:
    """The study's ``class_weight`` fit option for this data (``"balanced"`` from its labels)."""
    from hpo.study import class_weights

    option = spec.fit_options.get("class_weight")
    if option is None:
        return None
    if isinstance(data.n_classes, dict):
        raise SetupError("fit_options: class_weight is for a model with one output (Keras takes no "
                         "class_weight for several); weight its losses in compile() instead")
    if data.n_classes is None:
        raise SetupError("fit_options: class_weight is for classification; this data is a regression task")
    labels = data.train_labels()
    assert not isinstance(labels, dict)
    return class_weights(option, labels)


def make_trial_runner(
    objective: "Objective", data: "TrainingData", spec: "StudySpec", files: "StudyFiles | None" = None,
    *, warn: Callable[[str], None] = print, scheduler: "Scheduler | None" = None,
    epoch_grants: "Callable[[optuna.trial.BaseTrial], Callable[[], bool]] | None" = None,
    trackers: "Trackers | None" = None,
) -> Callable[["optuna.trial.BaseTrial"], TrialValue]:
    """The ``(trial) -> value`` Optuna calls for this objective and data.

    With ``files``, each trial keeps an epoch checkpoint while it trains (removed when it
    ends, kept when it is interrupted or paused, its storage is gone or another process
    finished it), a retry continues from the checkpoint of the
    trial it retries, a continuation from its paused trial's, and the best trial's best-epoch
    model is saved as a ``.keras`` file. With a ``scheduler``, a trial pauses at its bracket's
    next rung: it ends PRUNED with ``paused_at_epoch``. ``epoch_grants(trial)`` is the trial's
    grant of each epoch from the study's epoch budget (:class:`hpo.driver._budget.EpochLedger`).
    ``trackers`` (:mod:`hpo.tracking`) are told of each trial's start, of each epoch it reports
    and of its kept model.
    """
    from optuna.exceptions import UpdateFinishedTrialError

    from hpo.trial._callbacks import TrackEpochs
    from hpo.trial._evaluations import (
        earlier_values,
        fold_count,
        fold_seed,
        folds_of,
        plan,
        run_evaluations,
    )
    from hpo.trial._training import fit_and_score

    class_weight = class_weight_for(spec, data)  # once per process, not per trial

    @functools.cache
    def folds(confirming: bool) -> list["TrainingData"]:  # once per process
        return folds_of(data, fold_count(spec, confirming=confirming), fold_seed(spec, confirming=confirming))

    def run_trial(trial: "optuna.trial.BaseTrial") -> TrialValue:
        params = objective.suggest(trial)
        check_batch_size(params, data)
        user_attrs = trial.user_attrs
        pause_at: frozenset[int] = frozenset()
        if scheduler is not None:
            for key, value in scheduler.first_attrs(trial.number).items():
                if key not in user_attrs:  # a new configuration's first trial
                    trial.set_user_attr(key, value)
            pause_at = scheduler.pause_epochs(trial.user_attrs)
        settings = fit_settings(spec, params, records.trial_seed(spec.seed, trial.number, user_attrs),
                                class_weight, pause_at)
        checkpoint = files.checkpoint(trial.number) if files is not None else None
        resuming = files is not None and checkpoint is not None and start_from_checkpoint(files, checkpoint, user_attrs)
        copied = records.pbt_parent(user_attrs) is not None  # a PBT segment: its params may differ
        confirmed = records.confirms(user_attrs)  # a re-check of a leader (hpo.driver._confirmation)
        grant = epoch_grants(trial) if epoch_grants is not None and confirmed is None else None
        if trackers is not None:
            trackers.trial_started(trial, params)
        tracking = [TrackEpochs(functools.partial(trackers.epoch_ended, trial.number))] if trackers is not None else []

        def fit_one(evaluation: "Evaluation | None", reports: bool, grant_epoch: "Callable[[], bool] | None") -> "FitResult":
            split = data if evaluation is None or evaluation.fold is None else folds(confirmed is not None)[evaluation.fold]
            return fit_and_score(
                trial if reports else None, lambda: objective.build(params, split.info()), split,
                settings if evaluation is None else dataclasses.replace(settings, seed=evaluation.seed(settings.seed)),
                checkpoint=checkpoint, resuming=resuming, warn=warn,
                extra_callbacks=[*objective.callbacks(params), *(tracking if reports else ())],
                fit=objective.fit(params, split), grant_epoch=grant_epoch,
                after_restore=(lambda model: objective.apply(model, params)) if copied else None,
            )

        try:
            if spec.evaluated_more_than_once or confirmed is not None:
                evaluated = run_evaluations(
                    trial, plan(spec, confirming=confirmed is not None), fit_one, checkpoint=checkpoint,
                    grant_epoch=grant, reports=confirmed is None,
                    earlier=earlier_values(trial, confirmed) if confirmed is not None else ())
                values: tuple[float, ...] = (evaluated.value,)
                result = evaluated.last
            else:
                result = fit_one(None, True, grant)
                values = _values(spec, trial, result, data)
            if result is not None:
                check_param_count(objective, params, data, result.n_params)
                if files is not None and keep_if_best(trial, values, result, files, spec.pick_within) \
                        and trackers is not None:
                    trackers.model_kept(trial.number, result.model)
        except KeyboardInterrupt:
            raise  # the checkpoint stays: the retry continues from it
        except (StorageError, TrialTakenOver, UpdateFinishedTrialError):
            # The checkpoint stays: the trial is left RUNNING for a resume to retry (its
            # storage gone), or it is its retry's already (finished by another process).
            raise
        except TrialPaused as paused:  # the checkpoint stays: a continuation may go on from it
            import optuna

            trial.set_user_attr(records.PAUSED_AT_EPOCH, paused.epoch)
            raise optuna.TrialPruned(str(paused)) from None
        except BaseException:
            if checkpoint is not None:
                checkpoint.remove()
            raise
        if checkpoint is not None:
            checkpoint.remove()
        return values[0] if len(values) == 1 else (values[0], values[1])

    return run_trial


def start_from_checkpoint(files: "StudyFiles", checkpoint: "TrialCheckpoint", attrs: records.Attrs) -> bool:
    """Give a trial the checkpoint it goes on from; whether it has one to go on from. A retry
    takes over the dead trial's, a continuation the paused trial's (both move); a PBT segment
    copies its parent's (other members may copy it too), and so does a retry of one that
    died before its copy was whole."""
    retry_of, parent = records.retry_of(attrs), records.pbt_parent(attrs)
    taken_over = retry_of if retry_of is not None else records.continues(attrs)
    if taken_over is not None:
        files.take_over(taken_over, checkpoint)
    if parent is not None and checkpoint.epochs_done() == 0:
        files.copy_checkpoint(parent, checkpoint)
        if checkpoint.epochs_done() == 0:
            raise TrialFailure(f"the checkpoint of trial {parent}, which this population segment starts from, "
                               "is gone (removed, or on another host without an artifact store)")
    return taken_over is not None or parent is not None


def check_setup(objective: "Objective", data: "TrainingData", spec: "StudySpec") -> None:
    """The checks that need Keras, before any trial exists: the metric, and a population's
    mutable parameters (:func:`hpo.trial._population.check_mutable`)."""
    check_metric(objective, data, spec)
    if spec.cv > 1 or spec.confirm_top:
        from hpo.trial._evaluations import fold_count, folds_of

        folds_of(data, fold_count(spec, confirming=spec.confirm_top > 0), spec.seed)
    if spec.scheduler == "pbt":
        from hpo.trial._population import check_mutable

        check_mutable(objective, data, spec)


def check_metric(objective: "Objective", data: "TrainingData", spec: "StudySpec") -> None:
    """Stop before any trial exists when the monitored metric is not one the model logs.

    Keras names its log keys only once a model has computed its metrics, so a model of the
    objective's defaults (or of a random configuration) computes them once, eagerly, on two
    validation samples: 0.2 s here, against a first trial that would otherwise fail after its
    first epoch and leave a failed trial behind. A configuration that cannot be built here
    is not judged: its trials fail with their own reason, and the callback's check in
    :mod:`hpo.trial._callbacks` still stands behind this one.
    """
    import keras
    import optuna

    params = objective.defaults
    trial: optuna.trial.BaseTrial = optuna.trial.FixedTrial(params) if params else optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=spec.seed)).ask()
    try:
        params = objective.suggest(trial)
        check_batch_size(params, data)
        keras.backend.clear_session()
        model = objective.build(params, data.info())
        x, y = data.validation_head(2)
        predicted = model(x, training=False)
        model.compute_loss(x=x, y=y, y_pred=predicted)
        names = set(model.compute_metrics(x, y, predicted, sample_weight=None))
    except SetupError:
        raise  # a search space Optuna cannot express (hpo.objectives._keras_tuner_port): every trial would fail
    except Exception:  # noqa: BLE001 - see the docstring: the trials report it
        return
    logged = names | {f"val_{name}" for name in names}
    if spec.metric not in logged:
        raise MonitorMissingError(f"metric {spec.metric!r} is not in Keras' logs of this objective; "
                                  f"available: {', '.join(sorted(logged))}")


def check_batch_size(params: dict[str, Any], data: "TrainingData") -> None:
    """Data batched by its own pipeline fixes the batch size: a suggested one could not apply,
    and a search over it would compare nothing (a setup error: every trial would ignore it)."""
    if data.batched and "batch_size" in params:
        raise SetupError(f"the search space suggests batch_size, but {data.name}'s training data is "
                         "already batched; remove batch_size from the search space, or hand hpo "
                         "unbatched data")


def _values(spec: "StudySpec", trial: "optuna.trial.BaseTrial", result: "FitResult",
            data: "TrainingData") -> tuple[float, ...]:
    """The trial's objective values: the metric, then ``also_minimize``'s."""
    if spec.also_minimize == "n_params":
        return result.value, float(result.n_params)
    if spec.also_minimize == "inference_ms":
        milliseconds = inference_ms(result.model, data.validation_head(256)[0])
        trial.set_user_attr(records.INFERENCE_MS, milliseconds)
        return result.value, milliseconds
    return (result.value,)


def inference_ms(model: "keras.Model", images: Any, *, repeats: int = 3, batch: int = 256) -> float:
    """Milliseconds per sample to predict a batch of validation images (best of ``repeats``,
    after one untimed call that traces the model)."""
    from hpo.data import length, rows

    sample = rows(images, slice(0, batch))
    model(sample, training=False)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        model(sample, training=False)
        best = min(best, time.perf_counter() - started)
    return 1000.0 * best / length(sample)


def keep_if_best(trial: "optuna.trial.BaseTrial", values: tuple[float, ...], result: "FitResult",
                 files: "StudyFiles", pick_within: float | None = None) -> bool:
    """Save the trial's best-epoch model when the study's rule (:mod:`hpo._selection`) would
    choose it among the finished trials and this one, and store its weight histograms with the
    trial for the report. Returns whether it was kept.

    Files of trials that stop being the chosen one are removed by the driver after each trial,
    so the models directory holds the chosen trial's model, not one per trial.
    """
    import os

    from optuna.trial import TrialState

    from hpo.trial._histograms import weight_histograms

    study = getattr(trial, "study", None)
    if study is not None:
        candidate = SimpleNamespace(number=trial.number, state=TrialState.COMPLETE, values=list(values),
                                    user_attrs=trial.user_attrs)
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        chosen = chosen_trial([*finished, candidate], study.directions, pick_within)
        if chosen is not candidate:
            return False
    path = files.model_path(trial.number)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"partial-{path.name}")  # Keras wants the .keras suffix
    with tensorflow_left_unimported():
        result.model.save(temporary)
    os.replace(temporary, path)
    if files.mirror is not None:
        files.mirror.upload_model(trial.number, path)
    trial.set_user_attr(records.WEIGHT_HISTOGRAMS, weight_histograms(result.model))
    return True


def check_param_count(objective: "Objective", params: dict[str, Any], data: "TrainingData", n_params: int) -> None:
    """The formula and Keras must agree; a mismatch is a bug in the objective module."""
    expected = objective.param_count(params, data.info())
    if expected is None:
        return
    if expected != n_params:
        raise TrialFailure(
            f"parameter count formula gives {expected} but Keras counts {n_params} "
            f"(a bug in objective {objective.name})"
        )


def drop_superseded_models(study: "optuna.Study", files: "StudyFiles", pick_within: float | None = None) -> None:
    """Keep the saved models of the chosen trial and of running trials only (after each trial)."""
    kept = files.kept_models()
    if len(kept) <= 1:
        return
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
    chosen = chosen_trial(trials, study.directions, pick_within)
    keep = {t.number for t in trials if t.state == TrialState.RUNNING}
    if chosen is not None:
        keep.add(chosen.number)
    files.drop_models(number for number in kept if number not in keep)
