"""Search strategies measured on recorded learning curves instead of training.

A curve bank holds real Keras learning curves of many configurations of one task
(:class:`CurveBank`, :func:`load_bank`); :func:`simulate` replays real Optuna samplers and
pruners against them, with simulated workers and time; :func:`replay_study` replays a stored
study's curves under other pruners (``hpo simulate``).
"""

from typing import TYPE_CHECKING

from hpo._exports import lazy_exports

if TYPE_CHECKING:
    from hpo.simulation._bank import CurveBank, bank_directory, load_bank
    from hpo.simulation._replay import DEFAULT_PRUNERS, replay_study
    from hpo.simulation._simulator import SimulatedTrial, Simulation, bank_suggest, nearest_config, simulate

__all__ = [
    "CurveBank", "DEFAULT_PRUNERS", "SimulatedTrial", "Simulation", "bank_directory", "bank_suggest",
    "load_bank", "nearest_config", "replay_study", "simulate",
]

_EXPORTS = {
    "hpo.simulation._bank": ("CurveBank", "bank_directory", "load_bank"),
    "hpo.simulation._replay": ("DEFAULT_PRUNERS", "replay_study"),
    "hpo.simulation._simulator": (
        "SimulatedTrial", "Simulation", "bank_suggest", "nearest_config", "simulate",
    ),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _EXPORTS)
