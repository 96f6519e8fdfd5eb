"""One trial: suggest, build, fit and score, with its checkpoint, records and kept model.

:class:`TrialRunner` is the ``(trial) -> value`` Optuna calls. It takes a trial through
explicit phases, with the study's :class:`~hpo.trial._context.StudyContext` (built once per
process) and the hooks of the features the study has (:mod:`hpo.trial._hooks`, in their
written order):

1. **prepare**: the objective's parameters, the trial's seed (a retry keeps the original
   trial's), its settings and its epoch checkpoint, and its lineage: a retry takes over the
   dead trial's checkpoint, a continuation the paused trial's, a PBT segment copies its
   parent's. Then each hook's ``prepare``.
2. **evaluate**: plan the evaluations, fit each and score them. A hook may take this over
   (cross-validation); otherwise the trial trains once on the study's validation split and its
   value is the best epoch's (with ``also_minimize``, the pair of the metric and the second
   objective).
3. **finish**: check the parameter count, keep the best trial's ``.keras`` model (the hooks
   hear of it), and remove the checkpoint. A trial that ends with an error keeps its
   checkpoint exactly when a trial will go on from it (:func:`hpo.errors.keeps_checkpoint`),
   and the hooks say what the error means (a pause ends the trial PRUNED).

The objective module defines the search space and the model
(:class:`hpo.objectives.ObjectiveModule`, seen through :class:`hpo.objectives.Objective`);
:mod:`hpo.trial._training` trains it.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import TYPE_CHECKING, Any, Callable

import hpo.records as records
from hpo.errors import TrialFailure, keeps_checkpoint
from hpo.trial._checks import check_batch_size, check_param_count
from hpo.trial._context import Scored, TrialRun
from hpo.trial._hooks import hooks_for
from hpo.trial._kept_model import keep_if_best

if TYPE_CHECKING:
    import keras
    import optuna

    from hpo.storage import StudyFiles, TrialCheckpoint
    from hpo.trial._context import StudyContext, TrialValue
    from hpo.trial._evaluations import Evaluation
    from hpo.trial._training import FitResult


class TrialRunner:
    """The ``(trial) -> value`` Optuna calls for the trials of one :class:`StudyContext`.

    With the context's ``files``, each trial keeps an epoch checkpoint while it trains (removed
    when it ends, kept when a trial goes on from it), a retry continues from the checkpoint of
    the trial it retries, a continuation from its paused trial's, and the best trial's
    best-epoch model is saved as a ``.keras`` file.
    """

    def __init__(self, context: "StudyContext") -> None:
        self.context = context
        self.hooks = hooks_for(context)

    def __call__(self, trial: "optuna.trial.BaseTrial") -> "TrialValue":
        run = self.prepare(trial)
        try:
            scored = self.evaluate(run)
            self.keep(run, scored)
        except BaseException as error:
            meant = self.stopped(run, error)
            if meant is error:
                raise
            raise meant from None
        if run.checkpoint is not None:
            run.checkpoint.remove()
        values = scored.values
        return values[0] if len(values) == 1 else (values[0], values[1])

    # 1. prepare -------------------------------------------------------------------------------
    def prepare(self, trial: "optuna.trial.BaseTrial") -> TrialRun:
        """Parameters, seed, settings, checkpoint and lineage; then each hook's part."""
        context = self.context
        params = context.objective.suggest(trial)
        check_batch_size(params, context.data)
        attrs = dict(trial.user_attrs)
        seed = records.trial_seed(context.spec.seed, trial.number, attrs)
        run = TrialRun(trial, params, attrs, context.fit_settings(params, seed), confirms=records.confirms(attrs))
        if context.files is not None:
            run.checkpoint = context.files.checkpoint(trial.number)
            run.resuming = start_from_checkpoint(context.files, run.checkpoint, attrs)
        for hook in self.hooks:
            hook.prepare(run)
        return run

    # 2. evaluate ------------------------------------------------------------------------------
    def evaluate(self, run: TrialRun) -> Scored:
        """The trial's evaluations planned, fitted and scored: by the first hook that plans
        them, else one training on the study's validation split."""
        fit_one = functools.partial(self.fit_one, run)
        for hook in self.hooks:
            scored = hook.evaluate(run, fit_one)
            if scored is not None:
                return scored
        result = self.fit_one(run, None, True, run.grant)
        return Scored(self.score(run, result), result)

    def fit_one(self, run: TrialRun, evaluation: "Evaluation | None", reports: bool,
                grant: "Callable[[], bool] | None") -> "FitResult":
        """One training of the trial's configuration: on ``evaluation``'s fold and seed (None:
        the study's split and the trial's seed), reporting its epochs to Optuna when
        ``reports``, each epoch asked of ``grant`` (the epoch budget)."""
        from hpo.trial._training import fit_and_score

        context, params = self.context, run.params
        objective = context.objective
        split = context.data if evaluation is None or evaluation.fold is None else \
            context.folds(run.confirms is not None)[evaluation.fold]
        settings = run.settings if evaluation is None else \
            dataclasses.replace(run.settings, seed=evaluation.seed(run.settings.seed))
        return fit_and_score(
            run.trial if reports else None, lambda: objective.build(params, split.info()), split, settings,
            checkpoint=run.checkpoint, resuming=run.resuming, warn=context.warn,
            extra_callbacks=[*objective.callbacks(params), *(run.reporting_callbacks if reports else ())],
            fit=objective.fit(params, split), grant_epoch=grant, after_restore=run.after_restore,
        )

    def score(self, run: TrialRun, result: "FitResult") -> tuple[float, ...]:
        """The trial's objective values: the metric, then ``also_minimize``'s."""
        also_minimize = self.context.spec.also_minimize
        if also_minimize == "n_params":
            return result.value, float(result.n_params)
        if also_minimize == "inference_ms":
            milliseconds = inference_ms(result.model, self.context.data.validation_head(256)[0])
            run.trial.set_user_attr(records.INFERENCE_MS, milliseconds)
            return result.value, milliseconds
        return (result.value,)

    # 3. finish --------------------------------------------------------------------------------
    def keep(self, run: TrialRun, scored: Scored) -> None:
        """Check the parameter count and keep the model when the study's rule chooses the
        trial (the hooks hear of it)."""
        context, result = self.context, scored.result
        if result is None:
            return
        check_param_count(context.objective, run.params, context.data, result.n_params)
        if context.files is not None and keep_if_best(run.trial, scored.values, result, context.files,
                                                      context.spec.pick_within):
            for hook in self.hooks:
                hook.kept(run, result.model)

    def stopped(self, run: TrialRun, error: BaseException) -> BaseException:
        """A trial that ended with ``error``: its checkpoint kept only when a trial will go on
        from it; what the error means, as the hooks read it (a pause: PRUNED)."""
        if run.checkpoint is not None and not keeps_checkpoint(error):
            run.checkpoint.remove()
        for hook in self.hooks:
            error = hook.stopped(run, error)
        return error


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
