"""Record a curve bank: random configurations of one task trained by hpo's trial runner with no
pruning and no early stopping, every epoch's validation metric and loss, test metric and wall
seconds kept, then written as ``TASK.json`` + ``TASK.npz`` (:mod:`hpo.simulation._bank`).

    .venv/bin/python benchmarks/curve_bank/record.py --task digits_mlp --configs 1000 --epochs 30
    .venv/bin/python benchmarks/curve_bank/record.py --task digits_mlp --configs 100 --repeat
    .venv/bin/python benchmarks/curve_bank/record.py --task digits_mlp --export

Trials train through :class:`hpo.trial.TrialRunner` (the runner ``hpo run``'s
workers call: the same pipelines, seeds, schedules and callbacks), with a random sampler, no
pruner and a patience of the whole budget, in an Optuna study in SQLite under
``$HPO_HOME/curve_bank/`` (default ``hpo-runs``, git-ignored), so an interrupted recording continues where it stopped:
run the same command again. ``--repeat`` trains the first configurations of the main study
again with another training seed (same data split), which is how the bank knows its noise.
The driver's worker processes, checkpoints and kept models are left out: they add seconds per
epoch the simulator would then charge, and nothing to the curves.

Seconds: an epoch's wall time from the end of the one before (the first from the trial's start,
so it carries the model build and the tracing), without the test evaluation, which the recording
adds and a study does not pay.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BANK_ATTR = "curve_bank_epochs"  # per epoch: [validation metric, validation loss, test metric, seconds]
REPEAT_OF = "repeat_of"


def source_id(study: str, number: int) -> str:
    """Where a bank's configuration was recorded: a study of the recording and a trial number."""
    return f"{study}:{number}"


@dataclass(frozen=True)
class Task:
    objective: str
    dataset: str
    metric: str
    fit_options: dict[str, Any]


TASKS = {
    # Validation log-loss as in benchmarks/pruner_comparison.py (accuracy on 360 validation
    # images moves in steps of 0.28 % and saturates).
    "digits_mlp": Task("mlp", "digits", "val_loss", {}),
    "digits_cnn": Task("cnn", "digits", "val_loss", {}),  # studies/digits_cnn.py
    "breast_cancer_mlp": Task(str(REPO / "studies/models/binary_mlp.py"), str(REPO / "studies/data/breast_cancer.py:load"),
                              "val_auc", {"class_weight": "balanced"}),  # studies/breast_cancer_auc.py
    "diabetes_mlp": Task(str(REPO / "studies/models/diabetes_mlp.py"), str(REPO / "studies/data/diabetes.py:load"),
                         "val_mae", {}),  # studies/diabetes_regression.py
}
DATA_SEED = 0  # one data split per task, main and repeat alike


def study_name(task: str, part: int, *, repeat: bool = False) -> str:
    return f"{task}-repeat" if repeat else f"{task}-p{part}"


def storage_url() -> str:
    from hpo.storage import runtime_dir

    folder = runtime_dir() / "curve_bank"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'recording.db'}"


def record(task_name: str, n_configs: int, epochs: int, *, part: int, repeat: bool) -> None:
    from hpo._keras_runtime import prepare_keras

    prepare_keras()  # HPO_THREADS sizes the thread pools, as in hpo's workers
    import keras
    import optuna

    from hpo import StudySpec
    from hpo.data import load_dataset
    from hpo.errors import TrialFailure
    from hpo.objectives import Objective, load_objective
    from hpo.trial import StudyContext, TrialRunner

    task = TASKS[task_name]
    main_name = study_name(task_name, 1)
    spec = StudySpec(name=study_name(task_name, part, repeat=repeat), objective=task.objective, dataset=task.dataset,
                     metric=task.metric, sampler="random", pruner="none", n_trials=n_configs, max_epochs=epochs,
                     patience=epochs, seed=1000 if repeat else part, fit_options=task.fit_options)
    data = load_dataset(spec.dataset, seed=DATA_SEED)
    test_set = data.test_set()
    test_key = task.metric.removeprefix("val_")
    rows: list[list[float]] = []

    class Recorder(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.last = time.perf_counter()  # made just before the model is built

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            seconds = time.perf_counter() - self.last
            logs = logs or {}
            tested = self.model.evaluate(test_set, verbose=0, return_dict=True)
            rows.append([float(logs[task.metric]), float(logs["val_loss"]), float(tested[test_key]), seconds])
            self.last = time.perf_counter()

    class RecordingObjective(Objective):
        def callbacks(self, params: dict[str, Any]) -> list[Any]:
            rows.clear()
            return [*super().callbacks(params), Recorder()]

    objective = RecordingObjective(load_objective(spec.objective).module)
    run_trial = TrialRunner(StudyContext(spec, objective, data, warn=lambda line: None))

    def trial_function(trial: optuna.trial.Trial) -> float:
        value = run_trial(trial)
        trial.set_user_attr(BANK_ATTR, list(rows))
        return float(value)  # type: ignore[arg-type]

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    # NopPruner: Optuna's create_study would prune with a MedianPruner, and hpo's callbacks ask.
    study = optuna.create_study(study_name=spec.name, storage=storage_url(), load_if_exists=True,
                                direction=spec.direction, pruner=optuna.pruners.NopPruner())
    # Seeded by the trials already there, so a continued recording does not repeat its proposals.
    study.sampler = optuna.samplers.RandomSampler(seed=spec.seed * 100_003 + len(study.trials))
    done = [t for t in study.trials if t.state.name in ("COMPLETE", "FAIL")]
    if repeat and not study.trials:
        source = optuna.load_study(study_name=main_name, storage=storage_url())
        for trial in complete_trials(source)[:n_configs]:
            study.enqueue_trial(trial.params, user_attrs={REPEAT_OF: source_id(main_name, trial.number)})
    for stale in (t for t in study.trials if t.state.name == "RUNNING"):  # an interrupted recording
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)
        if repeat:
            study.enqueue_trial(stale.params, user_attrs=stale.user_attrs)
    remaining = n_configs - len(done)
    started = time.perf_counter()
    for number in range(remaining):
        study.optimize(trial_function, n_trials=1, catch=(TrialFailure,))
        if number % 25 == 24:
            elapsed = time.perf_counter() - started
            print(f"{spec.name}: {len(done) + number + 1}/{n_configs} configurations, {elapsed:.0f} s", flush=True)


def complete_trials(study: Any) -> list[Any]:
    return sorted((t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE" and BANK_ATTR in t.user_attrs),
                  key=lambda t: t.number)


def export(task_name: str, out: Path) -> None:
    """Write the banks ``TASK`` and ``TASK-repeat`` from the recording, added to what the files
    already hold from recordings of other parts (a configuration's source says which)."""
    import numpy as np
    import optuna

    from hpo.errors import SetupError
    from hpo.simulation import CurveBank, load_bank
    from hpo.study import direction_of

    task = TASKS[task_name]
    recorded = {s.study_name for s in optuna.get_all_study_summaries(storage_url())}
    for bank_name, repeat in ((task_name, False), (f"{task_name}-repeat", True)):
        names = [n for n in sorted(recorded) if (n == study_name(task_name, 0, repeat=True)) == repeat
                 and n.startswith(f"{task_name}-")]
        rows: list[Any] = []
        configs: list[dict[str, Any]] = []
        sources: list[str] = []
        n_params: list[int] = []
        distributions: dict[str, Any] = {}
        direction = direction_of(task.metric)
        for name in names:
            study = optuna.load_study(study_name=name, storage=storage_url())
            for trial in complete_trials(study):
                distributions.update(trial.distributions)
                configs.append(dict(trial.params))
                sources.append(trial.user_attrs[REPEAT_OF] if repeat else source_id(name, trial.number))
                n_params.append(int(trial.user_attrs["n_params"]))
                rows.append(np.array(trial.user_attrs[BANK_ATTR], dtype=float))
        try:
            kept = load_bank(bank_name, out)
        except SetupError:
            kept = None
        if kept is not None:  # what earlier recordings (other parts) left in the files stays
            distributions = {**kept.distributions, **distributions}
            recorded_now = set(sources)
            for i, source in enumerate(kept.sources):
                if source not in recorded_now:
                    configs.append(kept.configs[i])
                    sources.append(source)
                    n_params.append(int(kept.n_params[i]))
                    rows.append(np.stack([kept.curves[i], kept.losses[i], kept.test_curves[i], kept.seconds[i]], axis=1))
        if not rows:
            continue
        epochs = min(len(r) for r in rows)
        table = np.stack([np.asarray(r, dtype=float)[:epochs] for r in rows])
        bank = CurveBank(task=bank_name, metric=task.metric, direction=direction,  # type: ignore[arg-type]
                         configs=configs, distributions=distributions, sources=sources,
                         curves=table[:, :, 0].astype("float32"), losses=table[:, :, 1].astype("float32"),
                         test_curves=table[:, :, 2].astype("float32"), seconds=table[:, :, 3].astype("float32"),
                         n_params=np.array(n_params),
                         objective=task.objective.removeprefix(f"{REPO}/"))  # relative: the bank moves with the repository
        path = bank.save(out)
        print(f"{path}: {bank.n_configs} configurations x {bank.n_epochs} epochs")
    versions = {name: __import__(name).__version__ for name in ("optuna", "keras", "tensorflow", "numpy")}
    (out / "versions.json").write_text(json.dumps({**versions, "python": sys.version.split()[0]}, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=sorted(TASKS), required=True)
    parser.add_argument("--configs", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--part", type=int, default=1, help="a recording's part: its own study and seed")
    parser.add_argument("--repeat", action="store_true", help="part 1's first configurations, another seed")
    parser.add_argument("--export", action="store_true", help="write the bank files from what was recorded")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "curve_bank")
    args = parser.parse_args()
    if args.export:
        export(args.task, args.out)
    else:
        record(args.task, args.configs, args.epochs, part=args.part, repeat=args.repeat)


if __name__ == "__main__":
    main()
