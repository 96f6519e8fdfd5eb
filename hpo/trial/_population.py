"""The trial side of population-based training (:mod:`hpo.schedulers._population`): the check
that a population's ``mutable`` parameters can change in a live model, and the retraining of
a member's lineage segment by segment (``hpo best``).

A PBT segment starts from another segment's checkpoint with perturbed parameters: the trial
runner builds the model from the new parameters, loads the checkpoint's weights and optimizer
state into it, and applies the parameters the state overrode
(:meth:`hpo.objectives.Objective.apply`). So a mutable parameter must keep the weights' and
the optimizer state's shapes: a layer width or the optimizer's name cannot mutate.
"""

from __future__ import annotations

import functools
import random
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import hpo.records as records
from hpo._plugins import load_factory
from hpo.errors import SetupError, TrialPaused
from hpo.schedulers import PopulationScheduler, check_scheduler, checked_exploration, perturb

if TYPE_CHECKING:
    from hpo.data import TrainingData
    from hpo.objectives import Objective
    from hpo.study import StudySpec
    from hpo.trial._training import FitResult, FitSettings


def _state_shapes(objective: "Objective", params: dict[str, Any], data: "TrainingData") -> list[tuple[int, ...]]:
    import keras

    keras.backend.clear_session()
    model = objective.build(params, data.info())
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    variables = [*model.weights, *(model.optimizer.variables if model.optimizer is not None else [])]
    return [tuple(int(d) for d in v.shape) for v in variables]


def check_mutable(objective: "Objective", data: "TrainingData", spec: "StudySpec") -> None:
    """A one-line :class:`SetupError` when a ``mutable`` parameter is not in the search space
    or changes the shapes of the state PBT copies. One random configuration is built, then
    again with each mutable parameter perturbed (two small builds per parameter); a space
    that cannot be built here is left to its trials, as :func:`hpo.trial._checks.check_metric`
    does."""
    import optuna

    options = check_scheduler(spec.scheduler, spec.scheduler_options, pruner=spec.pruner,
                              max_epochs=spec.max_epochs, n_trials=spec.n_trials)
    mutable: list[str] = options["mutable"]
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=spec.seed)).ask()
    try:
        params = objective.suggest(trial)
    except SetupError:
        raise
    except Exception:  # noqa: BLE001 - the trials report it
        return
    distributions = trial.distributions
    missing = [name for name in mutable if name not in distributions]
    if missing:
        raise SetupError(f"scheduler_options: mutable parameter(s) {', '.join(map(repr, missing))} not in "
                         f"{objective.name}'s search space (it suggests: {', '.join(sorted(distributions))})")
    try:
        reference = _state_shapes(objective, params, data)
    except Exception:  # noqa: BLE001 - as above
        return
    rng = random.Random(spec.seed)
    for name in mutable:
        _check_perturbed(objective, data, name, params, distributions, reference, rng)
    if options.get("explore") is not None:
        _check_explore(objective, data, options["explore"], params, distributions, reference)


def _check_perturbed(objective: "Objective", data: "TrainingData", name: str, params: dict[str, Any],
                     distributions: dict[str, Any], reference: list[tuple[int, ...]], rng: random.Random) -> None:
    """``name`` perturbed once must keep the shapes of the state PBT copies."""
    changed = dict(params)
    for _ in range(4):  # at a bound, x1.2 or a neighbouring choice may not move it
        changed[name] = perturb(params[name], distributions[name], rng, 0.0)
        if changed[name] != params[name]:
            break
    try:
        shapes = _state_shapes(objective, changed, data)
    except Exception:  # noqa: BLE001 - a space that cannot be built here is left to its trials
        return
    if shapes != reference:
        raise SetupError(f"scheduler_options: mutable parameter {name!r} changes the shapes of the model's "
                         f"weights or optimizer state ({params[name]!r} -> {changed[name]!r}); PBT copies "
                         "them between members, so only parameters that keep them can be mutable")


def _check_explore(objective: "Objective", data: "TrainingData", explore: str, params: dict[str, Any],
                   distributions: dict[str, Any], reference: list[tuple[int, ...]]) -> None:
    """The study's own explore function, tried once on a random configuration: it must return
    parameters within the search space that keep the shapes of the state PBT copies."""
    function = load_factory(explore, what="explore function")
    try:
        explored = checked_exploration(function(dict(params)), params, distributions, explore)
    except SetupError:
        raise
    except Exception as error:  # noqa: BLE001 - the user's function: one line naming it
        raise SetupError(f"scheduler_options: explore {explore!r} failed: {type(error).__name__}: {error}") from None
    try:
        shapes = _state_shapes(objective, explored, data)
    except Exception:  # noqa: BLE001 - as above
        return
    if shapes != reference:
        raise SetupError(f"scheduler_options: explore {explore!r} changes the shapes of the model's weights or "
                         "optimizer state; PBT copies them between members, so it may only change parameters "
                         "that keep them")


def _apply(objective: "Objective", params: dict[str, Any], model: Any) -> None:
    objective.apply(model, params)


def retrain_lineage(objective: "Objective", data: "TrainingData", scheduler: "PopulationScheduler",
                    segments: Sequence[Any], settings_for: "Callable[[dict[str, Any], frozenset[int]], FitSettings]",
                    ) -> "FitResult":
    """Train a fresh model through ``segments`` (:func:`hpo.schedulers._population.lineage`, oldest
    first) as the population did: each segment's parameters from its first epoch to its end,
    going on from the segment before's weights and optimizer state (a checkpoint in a scratch
    directory). ``settings_for(params, pause_at)`` is how a segment trains
    (:func:`hpo.trial._context.fit_settings` of the study, the winner's seed). Returns the last
    segment's result."""
    from hpo.storage import TrialCheckpoint
    from hpo.trial._training import fit_and_score

    with tempfile.TemporaryDirectory(prefix="hpo-lineage-") as scratch:
        checkpoint = TrialCheckpoint(Path(scratch) / "lineage")
        result = None
        for index, segment in enumerate(segments):
            params = dict(segment.params)
            last = index == len(segments) - 1
            end = scheduler.segment_end(records.pbt_generation(segment.user_attrs))
            settings = settings_for(params, frozenset() if last else frozenset({end}))
            try:
                result = fit_and_score(None, functools.partial(objective.build, params, data.info()), data,
                                       settings, checkpoint=checkpoint, extra_callbacks=objective.callbacks(params),
                                       fit=objective.fit(params, data),
                                       after_restore=functools.partial(_apply, objective, params))
            except TrialPaused:
                continue
        assert result is not None
        return result
