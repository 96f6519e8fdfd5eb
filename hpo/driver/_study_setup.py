"""Everything before the first trial: create or load the study, check it, seed its first trials.

In an order that loses nothing when it fails: the objective and the data first (a missing file
stops the run before a study exists), then the study, created once under a lock so that
processes starting at the same moment do not race on a new database's schema
(optuna/optuna#1092). A new study's first trials are the objective's recommended defaults, the
script's ``enqueue`` list and the best trials of a ``warm_start`` study.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import hpo.records as records
from hpo.driver._recovery import recover_dead_trials, retry_trial, sweep_checkpoints
from hpo.errors import SetupError
from hpo.objectives import Objective
from hpo.search import check_sampler_available, make_pruner, make_sampler
from hpo.storage import (
    Heartbeat,
    StudyFiles,
    mask_url,
    open_mirror,
    open_storage,
    rdb_storage,
    resolve_uri,
    resolve_url,
    storage_lock,
    study_storage,
)
from hpo.study import IDENTITY_FIELDS, StudySpec

if TYPE_CHECKING:
    import optuna

    from hpo.data import Data, TrainingData

Printer = Callable[[str], None]


@dataclass
class Prepared:
    spec: StudySpec  # as run: a grid may have set the budget
    url: str
    shown: str  # the URL, masked
    study: "optuna.Study"
    files: StudyFiles
    is_new: bool
    objective: Objective | None  # None when a plain callable replaces the objective
    data: "TrainingData | None"


Check = Callable[[Objective, "TrainingData", StudySpec], None]


class StudyConnection:
    """What a process that runs a study's trials opens first: the storage, with the study's
    heartbeat settings and a retry for each trial the heartbeat finds stale (a worker on another
    host that stopped), and the study's local files, mirrored to its artifact store when it has
    one (``--artifacts``, which sets ``HPO_ARTIFACTS`` for this process and its workers, then
    ``HPO_ARTIFACTS``, then the study's setting)."""

    def __init__(self, url: str, spec: StudySpec, out: Printer, *, create: bool) -> None:
        self.spec, self.out = spec, out
        heartbeat = Heartbeat(spec.heartbeat_interval, spec.grace_period, on_stale=self._retry_stale)
        self.storage = open_storage(url, create=create, heartbeat=heartbeat)
        mirror = open_mirror(resolve_uri(None, spec.artifacts), self.storage, spec.name, out)
        self.files = StudyFiles(url, spec.name, mirror=mirror)

    def _retry_stale(self, study: "optuna.Study", trial: "optuna.trial.FrozenTrial") -> None:
        """Optuna's callback, after it failed ``trial`` for a stale heartbeat."""
        retry = retry_trial(study, self.spec, self.files, trial)
        self.out(f"[trial {trial.number:>4}] FAIL      its worker stopped sending heartbeats; {retry}")


def prepare(spec: StudySpec, storage_url: str | None, *, load_objective: bool, out: Printer,
            check: Check | None = None, data: "Data | None" = None) -> Prepared:
    """Load objective and data, then create or load the study, recover what dead workers left,
    and enqueue a new study's first trials. ``check(objective, data, spec)`` runs before the
    storage is opened (the metric check of a run that trains in this process). ``data`` is
    the user's in-memory data (``hpo.run(spec, data=...)``) in place of ``spec.dataset``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # we print our own line per trial
    check_sampler_available(spec.sampler)
    objective: Objective | None = None
    dataset: "TrainingData | None" = None
    if load_objective:
        objective, dataset = load_objective_and_data(spec, data)
        if check is not None:
            check(objective, dataset, spec)
    if spec.sampler == "grid":
        spec = fit_budget_to_grid(spec, objective, out)

    url = resolve_url(storage_url, spec.storage)
    with storage_lock(url):
        connection = StudyConnection(url, spec, out, create=True)
        files = connection.files
        study, is_new = create_or_load(spec, connection.storage, out, objective, dataset)
        recover_dead_trials(study, spec, files, out, lock=False)  # the lock is held here
        sweep_checkpoints(study, files)
        if is_new:
            enqueue_first_trials(study, spec, objective)
    return Prepared(spec, url, mask_url(url), study, files, is_new, objective, dataset)


def load_objective_and_data(spec: StudySpec, data: "Data | None" = None) -> tuple[Objective, "TrainingData"]:
    """The objective module and the data (``data`` split, or ``spec.dataset`` loaded), once
    per process, never per trial."""
    from hpo.data import load_dataset
    from hpo.objectives import load_objective

    dataset = data.split(spec.seed) if data is not None else load_dataset(spec.dataset, seed=spec.seed)
    return load_objective(spec.objective), dataset


def load_hpo_study(name: str, *, storage_url: str | None = None) -> tuple["optuna.Study", StudySpec]:
    """Study ``name`` (opened read-only: nothing is created) and the settings stored with it."""
    import optuna

    url = resolve_url(storage_url)
    storage = open_storage(url, create=False)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise SetupError(f"no study named {name!r} in {mask_url(url)} (see `hpo ls`)") from None
    stored = records.spec_dict(study.user_attrs)
    if stored is None:
        raise SetupError(f"study {name!r} was not created by hpo run; run it with a study script")
    return study, StudySpec.from_dict(stored)


def stored_spec(name: str, *, storage_url: str | None = None) -> StudySpec:
    """The settings saved with study ``name`` by ``hpo run`` (the storage closed again)."""
    study, spec = load_hpo_study(name, storage_url=storage_url)
    storage = rdb_storage(study)
    if storage is not None:
        storage.engine.dispose()
    return spec


def fit_budget_to_grid(spec: StudySpec, objective: Objective | None, out: Printer) -> StudySpec:
    """Check the grid against the objective and say, before any training, how it compares
    with the budget: a smaller grid becomes the budget (Optuna would repeat its points)."""
    from hpo.search import check_grid, grid_size, require_grid

    require_grid(spec.grid)
    if objective is not None:
        check_grid(spec.grid, objective.defaults, objective.suggest)
    size = grid_size(spec.grid)
    if size > spec.n_trials:
        out(f"note: the grid has {size} points and the budget is {spec.n_trials} trials: "
            f"{size - spec.n_trials} points will not be tried (--n-trials {size} covers the grid)")
    elif size < spec.n_trials:
        out(f"note: the grid has {size} points; the budget is {size} trials, not {spec.n_trials}")
        spec = spec.with_overrides(n_trials=size)
    return spec


def make_strategies(
    spec: StudySpec, seed: int, objective: Objective | None, data: "TrainingData | None",
) -> tuple["optuna.samplers.BaseSampler", "optuna.pruners.BasePruner"]:
    """The spec's sampler (seeded with ``seed``) and pruner."""
    import optuna

    sampler = make_sampler(spec.sampler, seed=seed, grid=spec.grid,
                           defaults=objective.defaults if objective is not None else {})
    if spec.scheduler != "none":
        from hpo.search import OnePerConfiguration

        sampler = OnePerConfiguration(sampler)
    if spec.multi_objective:  # Optuna cannot prune a multi-objective trial (no report)
        return sampler, optuna.pruners.NopPruner()
    pruner = make_pruner(spec.pruner, max_epochs=spec.max_epochs, metric=spec.metric,
                         direction=spec.direction, n_classes=data.n_classes if data else None,
                         options=spec.pruner_options)
    return sampler, pruner


def create_or_load(
    spec: StudySpec, storage: "optuna.storages.BaseStorage", out: Printer,
    objective: Objective | None = None, data: "TrainingData | None" = None,
) -> tuple["optuna.Study", bool]:
    """The study ``spec`` names, created when new; refuses to change what it optimises."""
    import optuna

    try:
        study_id: int | None = storage.get_study_id_from_name(spec.name)
    except KeyError:
        study_id = None

    n_existing = 0
    if study_id is not None:
        directions = [d.name.lower() for d in storage.get_study_directions(study_id)]
        if directions != spec.directions:
            raise SetupError(
                f"study {spec.name!r} already exists with direction {'/'.join(directions)}, "
                f"not {'/'.join(spec.directions)}; use another --study-name"
            )
        attrs = storage.get_study_user_attrs(study_id)
        stored = records.spec_dict(attrs)
        if stored is not None:
            report_differences(spec, StudySpec.from_dict(stored), out)
        if data is not None:
            check_same_data(spec.name, attrs.get(records.DATA), data.fingerprint())
        n_existing = len(storage.get_all_trials(study_id, deepcopy=False))

    # A sampler seeded identically on every resume would repeat its first proposals
    # (optuna/optuna#3255); offsetting by the trials already stored keeps runs reproducible
    # from a fresh study while a resumed study explores new points.
    sampler, pruner = make_strategies(spec, spec.seed + n_existing, objective, data)
    study = optuna.create_study(
        study_name=spec.name,
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        directions=list(spec.directions),
        load_if_exists=True,
    )
    if study.user_attrs.get(records.SPEC) != spec.to_dict():
        study.set_user_attr(records.SPEC, spec.to_dict())
    if data is not None and study.user_attrs.get(records.DATA) != data.fingerprint():
        study.set_user_attr(records.DATA, data.fingerprint())
    return study, study_id is None


def check_same_data(name: str, stored: Any, current: dict[str, Any]) -> None:
    """Refuse to continue a study on data other than its trials were scored on."""
    if not isinstance(stored, dict):
        return  # a study from before hpo stored fingerprints: it gets one now
    changed = [key for key in sorted(set(stored) | set(current)) if stored.get(key) != current.get(key)]
    if changed:
        what = ", ".join(f"{key} {stored.get(key)!r} -> {current.get(key)!r}" for key in changed[:3])
        raise SetupError(f"study {name!r} was tuned on other data ({what}); its trials would not "
                         "compare with new ones, so use a new --study-name")


def report_differences(spec: StudySpec, stored: StudySpec, out: Printer) -> None:
    """Refuse a change of what the study optimises; say which other settings changed."""
    differences = spec.differences(stored)
    identity = [d for d in differences if d[0] in IDENTITY_FIELDS]
    if identity:
        changes = ", ".join(f"{key} {old!r} -> {new!r}" for key, old, new in identity)
        raise SetupError(
            f"study {spec.name!r} exists with different {changes}; these define the study, "
            f"so use a new --study-name"
        )
    if differences:
        changes = ", ".join(f"{key} {old!r} -> {new!r}" for key, old, new in differences)
        out(f"note: study {spec.name!r} continues with changed settings: {changes}")


def enqueue_first_trials(study: "optuna.Study", spec: StudySpec, objective: Objective | None) -> None:
    """The study's first trials: the objective's recommended defaults, the script's
    ``enqueue`` list, then the best trials of the study named by ``warm_start``."""
    first: list[dict[str, Any]] = []
    defaults = objective.defaults if objective is not None else {}
    # A grid study tries its grid; the defaults would take one of its trials.
    if spec.enqueue_defaults and defaults and spec.sampler != "grid":
        first.append(dict(defaults))
    first.extend(dict(params) for params in spec.enqueue)
    if spec.warm_start:
        first.extend(warm_start_params(study, spec))
    for params in first:
        study.enqueue_trial(params, skip_if_exists=True)


def warm_start_params(study: "optuna.Study", spec: StudySpec) -> list[dict[str, Any]]:
    """Parameters of the ``warm_start_trials`` best complete trials of the earlier study
    ``spec.warm_start`` (in the same storage), best first, by its first objective."""
    import optuna

    assert spec.warm_start is not None
    try:
        earlier = optuna.load_study(study_name=spec.warm_start, storage=study_storage(study))
    except KeyError:
        raise SetupError(f"warm_start: no study named {spec.warm_start!r} in this storage (see `hpo ls`)") from None
    complete = earlier.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise SetupError(f"warm_start: study {spec.warm_start!r} has no complete trial to start from")
    maximize = earlier.directions[0].name == "MAXIMIZE"
    complete.sort(key=lambda t: t.values[0], reverse=maximize)
    return [dict(t.params) for t in complete[:spec.warm_start_trials]]
