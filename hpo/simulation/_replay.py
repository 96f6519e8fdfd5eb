"""``hpo simulate``: a stored study's own curves replayed under other pruners.

"Which pruner for my next 300 trials?", measured on the user's curves: the study's complete,
unpruned trials are replayed one after another, in many random orders, into an in-memory
Optuna study with each pruner. For each pruner: the share of the epochs it would have saved,
and how often it would have pruned the trial that turned out best. The replay is sequential
(one worker) and each trial scores its best epoch, as hpo scores trials.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from hpo.errors import SetupError

if TYPE_CHECKING:
    import optuna

MIN_TRIALS = 20


@dataclass(frozen=True)
class PrunerReplay:
    pruner: str
    epochs_saved: float  # share of the replayed epochs the pruner would not have trained
    best_pruned: float  # share of the orders in which it pruned the eventual best trial
    orders: int

    def to_dict(self) -> dict[str, object]:
        return {"pruner": self.pruner, "epochs_saved": self.epochs_saved, "best_pruned": self.best_pruned,
                "orders": self.orders}


def usable_curves(trials: Sequence["optuna.trial.FrozenTrial"], name: str) -> list[list[float]]:
    """The learning curves of the complete trials (pruned ones never showed their end); a
    one-line :class:`SetupError` when fewer than :data:`MIN_TRIALS` qualify."""
    curves = [[t.intermediate_values[step] for step in sorted(t.intermediate_values)]
              for t in trials if t.state.name == "COMPLETE" and t.intermediate_values]
    if len(curves) < MIN_TRIALS:
        pruned = sum(t.state.name == "PRUNED" for t in trials)
        why = f" ({pruned} pruned trials cannot be replayed: their curves stop early)" if pruned else ""
        raise SetupError(f"study {name!r} has {len(curves)} complete trials with learning curves; "
                         f"hpo simulate needs at least {MIN_TRIALS}{why}")
    return curves


def replay(
    curves: Sequence[Sequence[float]], direction: str, pruners: dict[str, Callable[[], "optuna.pruners.BasePruner"]],
    *, orders: int = 50, seed: int = 0,
) -> list[PrunerReplay]:
    """Each pruner (a factory: a fresh pruner per order) replayed over ``orders`` shuffles."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    maximize = direction == "maximize"
    finals = [max(c) if maximize else min(c) for c in curves]
    best = finals.index(max(finals) if maximize else min(finals))
    total = sum(len(c) for c in curves) * orders
    shuffles = [random.Random(seed + k).sample(range(len(curves)), len(curves)) for k in range(orders)]
    results = []
    for name, make in pruners.items():
        trained = best_pruned = 0
        for order in shuffles:
            study = optuna.create_study(direction="maximize" if maximize else "minimize", pruner=make(),
                                        sampler=optuna.samplers.RandomSampler(seed=seed))
            for index in order:
                trial = study.ask()
                curve = curves[index]
                for step, value in enumerate(curve, start=1):
                    trial.report(value, step)
                    trained += 1
                    if step < len(curve) and trial.should_prune():
                        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                        best_pruned += index == best
                        break
                else:
                    study.tell(trial, finals[index])
        results.append(PrunerReplay(name, 1 - trained / total, best_pruned / orders, orders))
    return results


DEFAULT_PRUNERS = ("median", "percentile", "patient", "successive-halving", "hyperband", "wilcoxon")


def replay_study(storage: "optuna.storages.BaseStorage", name: str, pruner_names: Sequence[str] = DEFAULT_PRUNERS,
                 *, orders: int = 50) -> list[PrunerReplay]:
    """:func:`replay` of stored study ``name`` with hpo's pruners by name (as a study script
    names them), set up for the study's longest curve and its metric."""
    import optuna

    import hpo.records as records
    from hpo.search import check_pruner_name, make_pruner

    for pruner in pruner_names:
        check_pruner_name(pruner)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise SetupError(f"no study named {name!r} in this storage (see `hpo ls`)") from None
    if len(study.directions) > 1:
        raise SetupError(f"study {name!r} has several objectives: Optuna prunes single-objective studies only")
    curves = usable_curves(study.get_trials(deepcopy=False), name)
    direction = study.direction.name.lower()
    metric = str((records.spec_dict(study.user_attrs) or {}).get("metric", ""))
    longest = max(len(c) for c in curves)

    def factory(pruner: str) -> Callable[[], "optuna.pruners.BasePruner"]:
        return lambda: make_pruner(pruner, max_epochs=longest, metric=metric, direction=direction)

    return replay(curves, direction, {pruner: factory(pruner) for pruner in pruner_names}, orders=orders)
