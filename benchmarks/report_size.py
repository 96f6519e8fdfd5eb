"""Size and time of `hpo report` on a large study (the target: 5,000 trials, < 15 MB, < 20 s).

Writes a synthetic study with ``benchmarks/synthetic_study.py`` (no training; about 90 s for
5,000 trials, reused when the storage already holds it), then runs ``hpo report`` on it as
a user would, ``--rounds`` times, and prints the file size and the wall-clock seconds of the
whole command (Python start and imports included) and of the report itself.

    .venv/bin/python benchmarks/report_size.py [--trials 5000] [--rounds 3] [--importance fanova]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_study import write_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--importance", default="ped-anova")
    parser.add_argument("--storage", default="sqlite:///hpo-runs/benchmarks/report-size.db")
    parser.add_argument("--out", default="hpo-runs/benchmarks/report-size")
    args = parser.parse_args()

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = f"synthetic-{args.trials}"
    Path(args.storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if name not in optuna.get_all_study_names(args.storage):
        started = time.perf_counter()
        write_study(args.storage, name, args.trials)
        print(f"wrote {args.trials} synthetic trials in {time.perf_counter() - started:.0f} s")

    walls, inner = [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "hpo", "report", name, "--storage", args.storage, "--out", args.out,
             "--importance", args.importance],
            capture_output=True, text=True, check=True,
        )
        walls.append(time.perf_counter() - started)
        inner.append(float(re.search(r", ([\d.]+) s\)", result.stdout).group(1)))
    size = (Path(args.out) / "report.html").stat().st_size
    print(result.stdout.strip())
    print(f"{args.trials} trials, importance {args.importance}: report {size / 1e6:.2f} MB "
          f"(target < 15 MB); `hpo report` wall time median {statistics.median(walls):.1f} s "
          f"(min {min(walls):.1f}, max {max(walls):.1f}; target < 20 s), of which making the "
          f"report {statistics.median(inner):.1f} s; {args.rounds} rounds")


if __name__ == "__main__":
    main()
