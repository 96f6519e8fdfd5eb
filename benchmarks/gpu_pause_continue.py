"""Pause and continue on a GPU: promotion ASHA and PBT studies of the built-in CNN on the bundled
digits, each worker on the machine's GPU (``--gpus auto``), a worker killed -9 in the middle of
a continuation, the study run again to its end, then ``hpo best`` of the PBT study.

It checks what the CPU suite checks, where the optimizer state lives in GPU memory: the budget
exact, nothing left RUNNING or WAITING, the killed trial retried from its checkpoint (not from
epoch 1), every continuation's curve continuing its paused trial's, and the PBT winner
retrained along its schedule. It prints one line per check and the studies' numbers, and exits
1 if a check failed. On a machine without a GPU it runs on the CPU and says so.

    python benchmarks/gpu_pause_continue.py [--backend torch] [--workers 2] [--home DIR]

The device machine of this workplace has PyTorch and no TensorFlow: there it runs with
``--backend torch`` (hpo's own dependencies carried as wheels, hpo from the working tree).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EPOCH_BUDGET = 60


def hpo(*args: str, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hpo", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def write_script(directory: Path, name: str, **settings: Any) -> Path:
    body = ",\n    ".join(f"{key}={value!r}" for key, value in {"name": name, **settings}.items())
    path = directory / f"{name}.py"
    path.write_text(f"from hpo import StudySpec\n\nSTUDY = StudySpec(\n    {body},\n)\n")
    return path


def trials_of(url: str, name: str) -> list[Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        return optuna.load_study(study_name=name, storage=url).trials
    except Exception:  # noqa: BLE001 - not created yet, or its file is being written
        return []


def running_worker(home: Path, trial: Any) -> int | None:
    for marker in home.glob(f"studies/*/running/{trial._trial_id}"):
        return int(marker.read_text().rpartition(":")[2])
    return None


def kill_a_continuation(script: Path, env: dict[str, str], url: str, name: str, home: Path,
                        wanted: str) -> tuple[Any, subprocess.CompletedProcess[str]]:
    """Run the study; kill -9 the worker of the first running trial with user attribute
    ``wanted`` that has trained an epoch of its own; then the run. Returns the trial and the run."""
    process = subprocess.Popen([sys.executable, "-m", "hpo", "run", str(script), "--gpus", "auto"], cwd=REPO,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, victim = time.monotonic() + 600, None
    while victim is None and time.monotonic() < deadline and process.poll() is None:
        for trial in trials_of(url, name):
            own = len(trial.intermediate_values) - trial.user_attrs.get("resumed_from_epoch", 10**6)
            if trial.state.name == "RUNNING" and wanted in trial.user_attrs and own >= 0:
                worker = running_worker(home, trial)
                if worker is not None:
                    os.kill(worker, signal.SIGKILL)
                    victim = trial
                    break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    out, err = process.communicate()
    return victim, subprocess.CompletedProcess(process.args, process.returncode, out, err)


def devices(output: str) -> list[str]:
    """The devices hpo's workers said they were ready on ("worker pid 12 ready on GPU 0, ...")."""
    return sorted({line.split("ready on ")[1].split(",")[0] for line in output.splitlines() if "ready on " in line})


class Checks:
    def __init__(self) -> None:
        self.failed = 0

    def __call__(self, ok: bool, what: str) -> None:
        self.failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)


def asha(directory: Path, env: dict[str, str], args: argparse.Namespace, check: Checks) -> dict[str, Any]:
    from hpo.schedulers import epochs_charged

    home, name = Path(env["HPO_HOME"]), "gpu_asha"
    url = f"sqlite:///{home / 'hpo.db'}"
    script = write_script(directory, name, objective="cnn", dataset="digits", metric="val_loss", sampler="tpe",
                          pruner="none", scheduler="asha", n_trials=500, max_epochs=9, patience=9,
                          epoch_budget=EPOCH_BUDGET, workers=args.workers, backend=args.backend, seed=0)
    started = time.perf_counter()
    victim, first = kill_a_continuation(script, env, url, name, home, "continues")
    check(victim is not None, f"asha: a continuation killed -9 mid-way (workers on {devices(first.stdout)})")
    rerun = hpo("run", str(script), "--gpus", "auto", env=env)
    seconds = time.perf_counter() - started
    check(rerun.returncode == 0, f"asha: the study run again to its end (exit {rerun.returncode}) {rerun.stderr[-300:]}")
    trials = trials_of(url, name)
    check(not [t for t in trials if t.state.name in ("RUNNING", "WAITING")], "asha: nothing left RUNNING or WAITING")
    check(epochs_charged(trials) == EPOCH_BUDGET, f"asha: epochs charged {epochs_charged(trials)} = {EPOCH_BUDGET}")
    continuations = [t for t in trials if "continues" in t.user_attrs and t.state.name != "FAIL"]
    # The paused trial's epochs reported again (a retry of a continuation, others after them).
    continuous = all({s: v for s, v in t.intermediate_values.items()
                      if s <= trials[t.user_attrs["continues"]].user_attrs["paused_at_epoch"]}
                     == trials[t.user_attrs["continues"]].intermediate_values for t in continuations)
    check(bool(continuations) and continuous,
          f"asha: {len(continuations)} continuations, each curve continuing its paused trial's")
    if victim is not None:
        retry = [t for t in trials if t.user_attrs.get("retry_of") == victim.number]
        check(len(retry) == 1 and retry[0].user_attrs.get("resumed_from_epoch", 1) > victim.user_attrs["resumed_from_epoch"],
              f"asha: the killed trial {victim.number} retried from its checkpoint "
              f"(epoch {retry[0].user_attrs.get('resumed_from_epoch') if retry else None})")
    best = min((t.value for t in trials if t.state.name == "COMPLETE"), default=float("nan"))
    return {"trials": len(trials), "continuations": len(continuations), "best_val_loss": best, "seconds": seconds,
            "devices": devices(first.stdout + rerun.stdout)}


def pbt(directory: Path, env: dict[str, str], args: argparse.Namespace, check: Checks) -> dict[str, Any]:
    home, name = Path(env["HPO_HOME"]), "gpu_pbt"
    url = f"sqlite:///{home / 'hpo.db'}"
    script = write_script(directory, name, objective="cnn", dataset="digits", metric="val_loss", sampler="random",
                          pruner="none", scheduler="pbt", n_trials=6, max_epochs=8, patience=8,
                          scheduler_options={"interval": 2, "mutable": ["learning_rate", "dense_dropout"]},
                          workers=args.workers, backend=args.backend, seed=0)
    started = time.perf_counter()
    victim, _ = kill_a_continuation(script, env, url, name, home, "pbt_parent")
    check(victim is not None, "pbt: a segment killed -9 mid-way")
    rerun = hpo("run", str(script), "--gpus", "auto", env=env)
    seconds = time.perf_counter() - started
    check(rerun.returncode == 0, f"pbt: the study run again to its end (exit {rerun.returncode}) {rerun.stderr[-300:]}")
    trials = trials_of(url, name)
    alive = [t for t in trials if t.state.name != "FAIL"]
    members: dict[int, list[Any]] = {}
    for trial in alive:
        members.setdefault(trial.user_attrs.get("pbt_member", -1), []).append(trial)
    check(len(members) == 6 and all(s[-1].state.name == "COMPLETE" and max(s[-1].intermediate_values) == 8
                                    for s in members.values()), "pbt: 6 members, each complete at epoch 8")
    exploits = [t for t in alive if "pbt_parent" in t.user_attrs
                and trials[t.user_attrs["pbt_parent"]].user_attrs["pbt_member"] != t.user_attrs["pbt_member"]]
    check(bool(exploits), f"pbt: {len(exploits)} segments went on from a better member's checkpoint")
    best = hpo("best", name, env=env)
    check(best.returncode == 0 and "trained with the winning member's schedule:" in best.stdout,
          f"pbt: hpo best retrained the winner along its schedule {best.stderr[-300:]}")
    test_line = next((line for line in best.stdout.splitlines() if line.startswith("test")), "")
    return {"segments": len(trials), "exploits": len(exploits), "seconds": seconds, "best": test_line}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--home", type=Path, default=None, help="HPO_HOME (default: a temporary folder)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    check = Checks()
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        home = args.home or directory / "hpo-runs"
        path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": "", "PYTHONPATH": path}
        results = {"asha": asha(directory, env, args, check), "pbt": pbt(directory, env, args, check)}
    print(json.dumps(results, indent=1))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    print(f"{check.failed} check(s) failed")
    sys.exit(1 if check.failed else 0)


if __name__ == "__main__":
    main()
