"""A sampler wrapper that sees each configuration once, however many trials it took.

With a scheduler (:mod:`hpo.schedulers`) a configuration's training is split into trials: it
pauses (PRUNED, its curve up to the rung) and its continuation carries the same parameters
and the same curve on (RUNNING, then PRUNED again or COMPLETE). A sampler shown all of them
would count one configuration as several observations, the paused one as a worse copy of
its own continuation. :class:`OnePerConfiguration` hands the wrapped sampler a view of the
study without the paused trials that a live continuation carries on
(:func:`hpo.schedulers._chains.superseded`), so it sees each configuration at its furthest
trial: TPE ranks a paused configuration by the epochs it reached and its value there, as it
ranks a pruned one. Everything else (the storage, directions, the trial itself) is the study's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Container, Sequence

import optuna

from hpo.schedulers import superseded

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial, TrialState


class _OnePerConfigurationView:
    """The study as the wrapped sampler sees it: its trials less the superseded ones."""

    def __init__(self, study: "optuna.Study") -> None:
        self._study = study

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def _filtered(self, trials: Sequence["FrozenTrial"]) -> list["FrozenTrial"]:
        hidden = superseded(self._study._get_trials(deepcopy=False, use_cache=True))
        return [t for t in trials if t.number not in hidden] if hidden else list(trials)

    def _get_trials(self, deepcopy: bool = True, states: "Container[TrialState] | None" = None,
                    use_cache: bool = False) -> list["FrozenTrial"]:
        return self._filtered(self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache))

    def get_trials(self, deepcopy: bool = True, states: "Container[TrialState] | None" = None) -> list["FrozenTrial"]:
        return self._filtered(self._study.get_trials(deepcopy=deepcopy, states=states))

    @property
    def trials(self) -> list["FrozenTrial"]:
        return self.get_trials()


class OnePerConfiguration(optuna.samplers.BaseSampler):
    """``sampler``, shown each configuration once (this module's doc)."""

    def __init__(self, sampler: optuna.samplers.BaseSampler) -> None:
        self.sampler = sampler

    def __str__(self) -> str:
        return f"{self.sampler} (one observation per configuration)"

    def infer_relative_search_space(self, study: "optuna.Study", trial: "FrozenTrial") -> dict[str, "BaseDistribution"]:
        return self.sampler.infer_relative_search_space(_view(study), trial)

    def sample_relative(self, study: "optuna.Study", trial: "FrozenTrial",
                        search_space: dict[str, "BaseDistribution"]) -> dict[str, Any]:
        return self.sampler.sample_relative(_view(study), trial, search_space)

    def sample_independent(self, study: "optuna.Study", trial: "FrozenTrial", param_name: str,
                           param_distribution: "BaseDistribution") -> Any:
        return self.sampler.sample_independent(_view(study), trial, param_name, param_distribution)

    def before_trial(self, study: "optuna.Study", trial: "FrozenTrial") -> None:
        self.sampler.before_trial(_view(study), trial)

    def after_trial(self, study: "optuna.Study", trial: "FrozenTrial", state: "TrialState",
                    values: Sequence[float] | None) -> None:
        self.sampler.after_trial(_view(study), trial, state, values)

    def reseed_rng(self) -> None:
        self.sampler.reseed_rng()


def _view(study: "optuna.Study") -> Any:
    return _OnePerConfigurationView(study)
