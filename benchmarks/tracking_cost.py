"""What tracking costs per epoch: TensorBoard event files and MLflow runs (hpo.tracking).

Two measurements, each printed as a table:

1. **Calls**: the tracker calls of a trial timed alone, on the data a trial gives them (the
   built-in MLP's parameters, Keras' five logs per epoch), ``--epoch-ms`` apart (an epoch of
   the digits MLP takes about 100 ms here): milliseconds per epoch (median and 90th percentile
   over ``--epochs`` epochs of ``--trials`` trials), per trial start and end, and per kept
   model (MLflow logs it as an MLflow model). MLflow against a local tracking server over HTTP
   (``scripts/tracking_servers.sh``, what several hosts share) and a local SQLite store.
2. **Studies**: the same ``hpo run`` of the built-in MLP on digits (``--study-trials`` trials of
   ``--study-epochs`` epochs, no pruning, one process) without tracking, with TensorBoard, with
   MLflow and with both, in ``--rounds`` rounds of the four in turn (this machine's speed
   drifts by tens of percent over minutes): the median over rounds of the trials' wall
   seconds per epoch trained, start to end (model building and kept models included).

    .venv/bin/python benchmarks/tracking_cost.py [--trials 5] [--epochs 40] [--epoch-ms 100]
        [--study-trials 6] [--study-epochs 10] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna

REPO = Path(__file__).resolve().parent.parent
SERVERS = REPO / "scripts" / "tracking_servers.sh"
PARAMS = {"n_layers": 2, "units_0": 128, "units_1": 64, "activation": "relu", "initializer": "he_normal",
          "dropout": 0.2, "regularizer": "none", "optimizer": "adam", "learning_rate": 1e-3,
          "lr_schedule": "constant", "batch_size": 64}


def _logs(rng: np.random.Generator) -> dict[str, float]:
    return {key: float(rng.random()) for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")}


def time_calls(kind: str, target: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """Milliseconds of each tracker call, by call."""
    import keras

    from hpo.study import StudySpec
    from hpo.tracking import open_trackers

    os.environ.pop("HPO_TENSORBOARD", None)
    os.environ.pop("HPO_MLFLOW", None)
    spec = StudySpec(name=f"cost_{kind}_{int(time.time() * 1000)}", tracking={kind: target})
    study = optuna.create_study(direction="maximize")
    trackers = open_trackers(spec, study, print, prepare=True)
    assert trackers is not None
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(128), keras.layers.Dense(64),
                              keras.layers.Dense(10)])  # the MLP's size: 17k parameters
    rng, spent = np.random.default_rng(0), {"start": [], "epoch": [], "end": [], "model": []}

    def timed(call: str, function, *arguments) -> None:
        started = time.perf_counter()
        function(*arguments)
        spent[call].append(1000 * (time.perf_counter() - started))

    for _ in range(args.trials):
        trial = study.ask()
        for key, value in PARAMS.items():
            trial.suggest_categorical(key, [value])
        timed("start", trackers.trial_started, trial, PARAMS)
        for epoch in range(1, args.epochs + 1):
            logs = _logs(rng)
            time.sleep(args.epoch_ms / 1000)  # the epoch's training
            timed("epoch", trackers.epoch_ended, trial.number, epoch, logs)
        timed("model", trackers.model_kept, trial.number, model)
        study.tell(trial, 0.9)
        timed("end", trackers.trial_finished, study, trial.number)
    trackers.close()
    return spent


def time_study(directory: Path, label: str, flags: list[str], round_: int, args: argparse.Namespace) -> float:
    """Wall seconds per epoch of one fresh run of the study."""
    home = directory / f"home-{label}-{round_}"
    script = directory / "cost.py"
    script.write_text(
        "from hpo import StudySpec\n"
        f"STUDY = StudySpec(name='cost', objective='mlp', dataset='digits', n_trials={args.study_trials}, "
        f"max_epochs={args.study_epochs}, patience={args.study_epochs}, pruner='none', recycle_after=0, seed=0)\n")
    env = {**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""}
    env.pop("HPO_TENSORBOARD", None)
    env.pop("HPO_MLFLOW", None)
    done = subprocess.run([sys.executable, "-m", "hpo", "run", str(script), *flags], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    study = optuna.load_study(study_name="cost", storage=f"sqlite:///{home / 'hpo.db'}")
    seconds = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in study.trials)
    return seconds / sum(len(t.intermediate_values) for t in study.trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--study-trials", type=int, default=6)
    parser.add_argument("--study-epochs", type=int, default=10)
    parser.add_argument("--epoch-ms", type=float, default=100.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hpo-tracking-cost-") as temporary:
        directory = Path(temporary)
        os.chdir(directory)  # a local MLflow store keeps its artifacts in ./mlruns
        server = subprocess.run(["bash", str(SERVERS), "mlflow", str(directory / "server")], capture_output=True,
                                text=True, check=True).stdout.strip()
        try:
            targets = [("tensorboard", str(directory / "tb"), "TensorBoard (local files)"),
                       ("mlflow", server, "MLflow (HTTP server on 127.0.0.1)"),
                       ("mlflow", f"sqlite:///{directory / 'mlflow.db'}", "MLflow (local SQLite store)")]
            print(f"Tracker calls, ms ({args.trials} trials x {args.epochs} epochs; median [90th percentile])")
            print(f"| {'tracker':<34} | {'per epoch':>16} | {'trial start':>16} | {'trial end':>16} | "
                  f"{'kept model':>16} |")
            print(f"|{'-' * 36}|{'-' * 18}|{'-' * 18}|{'-' * 18}|{'-' * 18}|")
            for kind, target, label in targets:
                spent = time_calls(kind, target, args)
                cells = [f"{statistics.median(v):7.2f} [{np.percentile(v, 90):6.2f}]"
                         for v in (spent["epoch"], spent["start"], spent["end"], spent["model"])]
                print(f"| {label:<34} | " + " | ".join(f"{cell:>16}" for cell in cells) + " |")
            print()
            print(f"hpo run, digits MLP, {args.study_trials} trials x {args.study_epochs} epochs, one process, "
                  f"median of {args.rounds} rounds: ms per epoch")
            configs = {"none": [], "TensorBoard": ["--tensorboard", str(directory / "tb-study")],
                       "MLflow (HTTP server)": ["--mlflow", server],
                       "both": ["--tensorboard", str(directory / "tb-both"), "--mlflow", server]}
            seconds: dict[str, list[float]] = {label: [] for label in configs}
            for round_ in range(args.rounds):
                for number, (label, flags) in enumerate(configs.items()):
                    seconds[label].append(time_study(directory, str(number), flags, round_, args))
            plain = statistics.median(seconds["none"])
            print(f"| {'tracking':<22} | {'ms per epoch':>12} | {'added':>8} | {'rounds, ms':<40} |")
            print(f"|{'-' * 24}|{'-' * 14}|{'-' * 10}|{'-' * 42}|")
            for label, values in seconds.items():
                median = statistics.median(values)
                added = f"{1000 * (median - plain):+8.1f}" if label != "none" else ""
                rounds = " ".join(f"{1000 * value:.0f}" for value in values)
                print(f"| {label:<22} | {1000 * median:12.1f} | {added:>8} | {rounds:<40} |")
        finally:
            subprocess.run(["bash", str(SERVERS), "stop", str(directory / "server")], check=False)


if __name__ == "__main__":
    main()
