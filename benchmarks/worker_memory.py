"""Resident memory of a worker process over many trials, with and without recycling.

Runs the same digits MLP study twice: once in the ``hpo run`` process itself (never
replaced), once in a worker replaced every ``--recycle-after`` trials (``--workers 1
--recycle-after K``). After each trial the RSS of the process running trials is read from
/proc. Prints RSS at a few trial counts, the peak and the growth.

    .venv/bin/python benchmarks/worker_memory.py [--trials 100] [--recycle-after 25] [--max-epochs 2]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
READY = re.compile(r"^(?:w\d+ )?worker pid (\d+) ready")  # one worker: no "w0 " prefix
TRIAL = re.compile(r"^(w\d+ )?\[trial\s+(\d+)\]")


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def measure(trials: int, recycle_after: int, max_epochs: int) -> list[tuple[int, float]]:
    """(trials finished, worker RSS in MiB) after every trial."""
    with tempfile.TemporaryDirectory() as home:
        script = Path(home) / "memory.py"
        script.write_text(
            "from hpo import StudySpec\n"
            f"STUDY = StudySpec(name='memory', n_trials={trials}, max_epochs={max_epochs}, "
            f"patience={max_epochs}, pruner='none', sampler='random')\n"
        )
        env = {**os.environ, "HPO_HOME": home, "HPO_STORAGE": ""}
        command = [sys.executable, "-m", "hpo", "run", str(script), "--recycle-after", str(recycle_after)]
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        pid = None if recycle_after else process.pid  # else: the worker's, from its first line
        samples, seen = [], 0
        for line in process.stdout:
            if match := READY.match(line):
                pid = int(match.group(1))
            elif TRIAL.match(line) and pid is not None:
                seen += 1
                time.sleep(0.05)  # let the worker finish its after-trial work
                rss = rss_mib(pid)
                if rss is not None:
                    samples.append((seen, rss))
        if process.wait() != 0:
            raise SystemExit(f"the study failed (exit {process.returncode})")
        return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--recycle-after", type=int, default=25)
    parser.add_argument("--max-epochs", type=int, default=2)
    args = parser.parse_args()

    for label, recycle in (("in process, never", 0), (f"recycled every {args.recycle_after}", args.recycle_after)):
        started = time.monotonic()
        samples = measure(args.trials, recycle, args.max_epochs)
        wall = time.monotonic() - started
        by_trial = dict(samples)
        marks = [n for n in (1, 10, 25, 50, 75, args.trials) if n in by_trial]
        shown = "  ".join(f"#{n}: {by_trial[n]:6.0f}" for n in marks)
        peak = max(rss for _, rss in samples)
        first = by_trial[min(by_trial)]
        print(f"{label:<22} RSS MiB after trial {shown}  | peak {peak:.0f}, "
              f"growth {by_trial[max(by_trial)] - first:+.0f} MiB  ({wall:.0f} s wall)")


if __name__ == "__main__":
    main()
