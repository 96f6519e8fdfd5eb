"""Search strategies measured on recorded learning curves instead of training.

A curve bank holds real Keras learning curves of many configurations of one task
(:mod:`hpo.simulation.bank`); the simulator replays real Optuna samplers and pruners against
them, with simulated workers and time (:mod:`hpo.simulation.simulator`).
"""

from hpo.simulation.bank import CurveBank, load_bank
from hpo.simulation.simulator import SimulatedTrial, Simulation, bank_suggest, nearest_config, simulate

__all__ = ["CurveBank", "SimulatedTrial", "Simulation", "bank_suggest", "load_bank", "nearest_config", "simulate"]
