"""How noisy a curve bank is: its repeated configurations (``TASK-repeat``: the same parameters,
another training seed) against their first recording.

Printed per task: how many configurations were repeated; the median absolute difference of
their best values (what a trial is scored by) and that as a share of the bank's spread (the
interquartile range of all its configurations' best values); the Spearman rank correlation of
the best values; and how often the better of two repeated configurations stays the better
(pairs of repeated configurations whose first recordings differ). A simulator replaying one
recording per configuration treats it as exact; this says by how much a real rerun would differ.

    .venv/bin/python benchmarks/curve_bank/noise.py [--tasks digits_mlp,...] [--bank DIR]
"""

from __future__ import annotations

import argparse
from itertools import combinations

import numpy as np


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    return ranks


def noise(task: str, bank_dir: str | None = None) -> dict[str, float]:
    from hpo.simulation import load_bank

    name, _, metric = task.partition(":")  # TASK:val_loss as load_bank takes it
    bank, repeat = load_bank(task, bank_dir), load_bank(f"{name}-repeat{':' if metric else ''}{metric}", bank_dir)
    where = {source: i for i, source in enumerate(bank.sources)}
    pairs = [(where[source], j) for j, source in enumerate(repeat.sources) if source in where]
    first = np.array([bank.final_best(i) for i, _ in pairs])
    second = np.array([repeat.final_best(j) for _, j in pairs])
    finals = np.array([bank.final_best(i) for i in range(bank.n_configs)])
    spread = float(np.subtract(*np.quantile(finals, [0.75, 0.25])))
    difference = float(np.median(np.abs(first - second)))
    kept = [np.sign(first[a] - first[b]) == np.sign(second[a] - second[b])
            for a, b in combinations(range(len(pairs)), 2) if first[a] != first[b]]
    return {"repeated": len(pairs), "median_abs_difference": difference,
            "share_of_spread": difference / spread if spread else float("nan"),
            "spearman": float(np.corrcoef(_ranks(first), _ranks(second))[0, 1]),
            "order_kept": float(np.mean(kept)) if kept else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="digits_mlp,digits_cnn,breast_cancer_mlp,diabetes_mlp")
    parser.add_argument("--bank", default=None)
    args = parser.parse_args()
    print("| task | repeated | median abs. difference of best | share of the bank's IQR | Spearman | order kept |")
    print("|---|---|---|---|---|---|")
    for task in args.tasks.split(","):
        n = noise(task, args.bank)
        print(f"| {task} | {n['repeated']} | {n['median_abs_difference']:.4f} | {n['share_of_spread']:.0%} | "
              f"{n['spearman']:.2f} | {n['order_kept']:.0%} |")


if __name__ == "__main__":
    main()
