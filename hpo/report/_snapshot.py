"""One read of a stored study: everything a report shows, taken in a single pass.

The report only reads storage (never Keras or an objective module), so it can be made for
any Optuna study, including ones hpo did not create, and while workers write to the same
SQLite file: WAL mode lets this reader and the writers work at once.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING, Any, cast

import hpo.records as records
from hpo.errors import SetupError
from hpo.storage import mask_url, open_storage

if TYPE_CHECKING:
    import optuna

    from hpo.study import Direction


@dataclasses.dataclass(frozen=True)
class StudySnapshot:
    name: str
    directions: tuple["Direction", ...]  # one per objective
    metric_names: tuple[str, ...]  # one per objective
    trials: tuple["optuna.trial.FrozenTrial", ...]
    settings: dict[str, Any] | None  # hpo's stored StudySpec; None for foreign studies
    storage: str  # URL with the password masked
    taken_at: datetime.datetime

    @property
    def made_by_hpo(self) -> bool:
        return self.settings is not None

    @property
    def multi_objective(self) -> bool:
        return len(self.directions) > 1


def take_snapshot(storage_url: str, name: str) -> StudySnapshot:
    """Read study ``name``; :class:`SetupError` when it is absent or has no trials."""
    import optuna

    storage = open_storage(storage_url, create=False)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        known = f"; studies here: {', '.join(names)}" if names else "; this storage holds no studies"
        raise SetupError(f"no study named {name!r} in {mask_url(storage_url)}{known}") from None
    trials = tuple(study.get_trials(deepcopy=False))
    if not trials:
        raise SetupError(f"study {name!r} has no trials yet: nothing to report (run it first)")
    settings = records.spec_dict(study.user_attrs)
    directions = tuple(cast("Direction", d.name.lower()) for d in study.directions)
    return StudySnapshot(
        name=name,
        directions=directions,
        metric_names=_metric_names(study, settings, len(directions)),
        trials=trials,
        settings=settings,
        storage=mask_url(storage_url),
        taken_at=datetime.datetime.now(),
    )


def _metric_names(study: "optuna.Study", settings: Any, n_objectives: int) -> tuple[str, ...]:
    names = study.metric_names
    if names:
        return tuple(names)
    if isinstance(settings, dict) and settings.get("metric"):
        hpo_names = (str(settings["metric"]),) + ((str(settings["also_minimize"]),)
                                                 if settings.get("also_minimize") else ())
        if len(hpo_names) == n_objectives:
            return hpo_names
    if n_objectives == 1:
        return ("Objective value",)
    return tuple(f"Objective {i}" for i in range(n_objectives))
