import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from hpo.search._continuations import OnePerConfiguration


class _Spy(optuna.samplers.RandomSampler):
    """Records which trials it was shown."""

    seen: list[list[int]]

    def __init__(self):
        super().__init__(seed=0)
        self.seen = []

    def sample_independent(self, study, trial, name, distribution):
        self.seen.append([t.number for t in study._get_trials(deepcopy=False, use_cache=True)])
        self.seen.append([t.number for t in study.get_trials(deepcopy=False)])
        return super().sample_independent(study, trial, name, distribution)


def _add(study, state, curve, **attrs):
    study.add_trial(create_trial(
        state=state, params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)},
        value=curve[-1] if state == TrialState.COMPLETE else None, user_attrs=attrs,
        intermediate_values=dict(enumerate(curve, start=1))))


def test_a_paused_trial_that_a_continuation_carries_on_is_hidden_from_the_sampler():
    spy = _Spy()
    study = optuna.create_study(sampler=OnePerConfiguration(spy))
    _add(study, TrialState.PRUNED, [0.1], paused_at_epoch=1)  # 0, continued by 1
    _add(study, TrialState.COMPLETE, [0.1, 0.2], continues=0)  # 1
    _add(study, TrialState.PRUNED, [0.3], paused_at_epoch=1)  # 2, continued by 3, which failed
    _add(study, TrialState.FAIL, [0.3], continues=2)  # 3
    study.ask({"x": FloatDistribution(0, 1)})
    assert spy.seen == [[1, 2, 3, 4], [1, 2, 3, 4]]  # 4 is the new trial itself
    assert len(study.trials) == 5  # the study itself is unchanged


def test_tpe_runs_through_the_wrapper():
    study = optuna.create_study(sampler=OnePerConfiguration(optuna.samplers.TPESampler(seed=0, n_startup_trials=2)))
    study.optimize(lambda trial: trial.suggest_float("x", -1, 1) ** 2, n_trials=6)
    assert len(study.trials) == 6 and "one observation per configuration" in str(study.sampler)
