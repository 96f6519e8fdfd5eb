"""Read-only views of stored studies for ``hpo ls`` and ``hpo show``."""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

import hpo.records as records
from hpo.errors import SetupError
from hpo.selection import chosen_trial, pareto_front

if TYPE_CHECKING:
    import optuna

STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


def format_clock(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``; ``--:--`` for an unknown (infinite or NaN) time."""
    if not math.isfinite(seconds):
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _counts(trials: list["optuna.trial.FrozenTrial"]) -> dict[str, int]:
    counted = Counter(trial.state.name for trial in trials)
    return {state: counted.get(state, 0) for state in STATES}


def _best(study: "optuna.Study", trials: list["optuna.trial.FrozenTrial"]) -> "optuna.trial.FrozenTrial | None":
    """The best trial, or the one the study's ``pick_within`` rule picks from its Pareto front."""
    return chosen_trial(trials, study.directions, records.pick_within(records.spec_dict(study.user_attrs)))


def list_studies(storage: "optuna.storages.BaseStorage") -> list[dict[str, Any]]:
    """One row per study: name, direction, trial counts per state, best value."""
    import optuna

    rows = []
    for name in optuna.get_all_study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        best = _best(study, trials)
        rows.append({
            "name": name,
            "direction": "/".join(d.name.lower() for d in study.directions),
            "n_trials": len(trials),
            "states": _counts(trials),
            "best_value": best.values[0] if best else None,
            "best_trial": best.number if best else None,
        })
    return rows


def describe_study(storage: "optuna.storages.BaseStorage", name: str) -> dict[str, Any]:
    """Counts, the best trial and its parameters, the stored hpo settings, recent failures."""
    import optuna

    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise SetupError(f"no study named {name!r} in this storage (see `hpo ls`)") from None
    trials = study.get_trials(deepcopy=False)
    best = _best(study, trials)
    failures = [
        {"number": t.number, "reason": records.fail_reason(t.user_attrs)}
        for t in trials if t.state.name == "FAIL"
    ]
    durations = [t.duration.total_seconds() for t in trials if t.duration is not None]
    return {
        "name": name,
        "direction": "/".join(d.name.lower() for d in study.directions),
        "n_trials": len(trials),
        "states": _counts(trials),
        "settings": records.spec_dict(study.user_attrs),
        "best": None if best is None else {
            "number": best.number,
            "value": best.values[0],
            "values": list(best.values),
            "params": best.params,
            "user_attrs": records.compact(best.user_attrs),
            "intermediate_values": {str(k): v for k, v in sorted(best.intermediate_values.items())},
        },
        "total_trial_seconds": sum(durations),
        "pareto_front": None if len(study.directions) == 1 else [
            {"number": t.number, "values": list(t.values), "params": t.params}
            for t in pareto_front(trials, study.directions)
        ],
        "failures": failures[-10:],
    }
