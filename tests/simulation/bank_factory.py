"""A tiny synthetic curve bank: config i's curve rises towards x_i (higher is better)."""

import numpy as np
from optuna.distributions import CategoricalDistribution, FloatDistribution

from hpo.simulation import CurveBank


def tiny_bank(n=40, epochs=6, seed=0):
    rng = np.random.default_rng(seed)
    xs = np.linspace(0.05, 0.95, n)
    kinds = ["a" if i % 2 else "b" for i in range(n)]
    steps = np.arange(1, epochs + 1) / epochs
    curves = np.outer(xs, steps) + rng.normal(0, 0.001, (n, epochs))
    return CurveBank(
        task="tiny", metric="val_accuracy", direction="maximize",
        configs=[{"x": float(x), "kind": k} for x, k in zip(xs, kinds)],
        distributions={"x": FloatDistribution(0.0, 1.0), "kind": CategoricalDistribution(["a", "b"])},
        curves=curves, losses=1 - curves, test_curves=curves - 0.01,
        seconds=np.full((n, epochs), 0.5), n_params=np.arange(n) * 10,
    )
