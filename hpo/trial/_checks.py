"""The checks that need Keras: before any trial exists (the metric, a population's mutable
parameters, the folds), and of each trial (its batch size, its parameter count)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpo.errors import MonitorMissingError, SetupError, TrialFailure

if TYPE_CHECKING:
    from hpo.data import TrainingData
    from hpo.objectives import Objective
    from hpo.study import StudySpec


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
