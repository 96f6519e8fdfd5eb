import importlib.util

import optuna
import pytest

from hpo.errors import SetupError
from hpo.search import _strategies as strategies


@pytest.mark.parametrize("name", strategies.SAMPLER_NAMES)
def test_every_sampler_name_builds_an_optuna_sampler_or_names_its_install_command(name):
    requirement = strategies._SAMPLER_REQUIREMENTS[name]
    if requirement is None or importlib.util.find_spec(requirement[0]) is not None:
        sampler = strategies.make_sampler(name, seed=1, grid={"x": [1, 2]})
        assert isinstance(sampler, optuna.samplers.BaseSampler)
    else:
        with pytest.raises(SetupError, match=f"run `{requirement[1]}`"):
            strategies.make_sampler(name, seed=1)


@pytest.mark.parametrize("name", strategies.PRUNER_NAMES)
def test_every_pruner_name_builds_an_optuna_pruner(name):
    pruner = strategies.make_pruner(name, max_epochs=10, metric="val_accuracy", n_classes=10)
    assert isinstance(pruner, optuna.pruners.BasePruner)


def test_grid_sampler_needs_a_grid():
    with pytest.raises(SetupError, match="sampler 'grid' needs a grid in the study script"):
        strategies.make_sampler("grid", seed=0)


@pytest.mark.parametrize("metric, direction, bound", [
    ("val_accuracy", "maximize", {"lower": 0.15}),
    ("val_loss", "minimize", {"upper": pytest.approx(2.302585)}),
])
def test_threshold_pruner_defaults_to_the_chance_level(metric, direction, bound):
    pruner = strategies.make_pruner("threshold", max_epochs=10, metric=metric, direction=direction,
                                    n_classes=10)
    key, value = next(iter(bound.items()))
    assert getattr(pruner, f"_{key}") == value
    assert pruner._n_warmup_steps == 3


def test_threshold_pruner_on_another_metric_asks_for_a_bound():
    with pytest.raises(SetupError, match=r"no default bound for metric 'val_auc'.*pruner_options"):
        strategies.make_pruner("threshold", max_epochs=10, metric="val_auc", n_classes=2)
    pruner = strategies.make_pruner("threshold", max_epochs=10, metric="val_auc", options={"lower": 0.6})
    assert pruner._lower == 0.6


def test_pruner_options_are_checked():
    with pytest.raises(SetupError, match="pruner 'median' takes no pruner_options"):
        strategies.make_pruner("median", max_epochs=10, options={"lower": 1})
    with pytest.raises(SetupError, match="pruner 'learning-curve': bad pruner_options"):
        strategies.make_pruner("learning-curve", max_epochs=10, options={"bogus": 1})
    with pytest.raises(SetupError, match=r"pruner 'learning-curve': threshold must be in \(0, 1\)"):
        strategies.make_pruner("learning-curve", max_epochs=10, options={"threshold": 2})
    lc = strategies.make_pruner("learning-curve", max_epochs=10, options={"min_epochs": 3})
    assert lc.min_epochs == 3 and lc.max_epochs == 10


def test_unknown_names_list_the_choices():
    with pytest.raises(SetupError, match="unknown sampler 'bayes'; choose one of: tpe, random"):
        strategies.make_sampler("bayes", seed=0)
    with pytest.raises(SetupError, match="unknown pruner 'x'; choose one of: median"):
        strategies.make_pruner("x", max_epochs=3)


def test_missing_optional_package_fails_at_start_with_the_install_command(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "cmaes" else real_find_spec(name, *a)
    )
    with pytest.raises(SetupError, match=r"sampler 'cmaes' needs the package 'cmaes': run `pip install cmaes`"):
        strategies.check_sampler_available("cmaes")


def test_pruners_never_prune_before_epoch_three():
    study = optuna.create_study(direction="maximize", pruner=strategies.make_pruner("median", max_epochs=20))
    for value in (0.9, 0.9, 0.9, 0.9, 0.9):
        trial = study.ask()
        for step in range(1, 6):
            trial.report(value, step)
        study.tell(trial, value)
    loser = study.ask()
    loser.report(0.1, 1)
    assert not loser.should_prune()
    loser.report(0.1, 2)
    assert not loser.should_prune()
    loser.report(0.1, 3)
    assert loser.should_prune()


_OWN_STRATEGIES = '''
import optuna


class EveryOtherPruner(optuna.pruners.BasePruner):
    """Prunes odd-numbered trials at their first step."""

    def __init__(self, every=2):
        self.every = every

    def prune(self, study, trial):
        return trial.number % self.every == 1


def make_sampler(seed=None):
    return optuna.samplers.RandomSampler(seed=seed)


def not_a_pruner():
    return "nope"
'''


def test_a_users_own_pruner_and_sampler_are_named_by_import_path(tmp_path):
    (tmp_path / "own.py").write_text(_OWN_STRATEGIES)
    pruner = strategies.make_pruner(f"{tmp_path}/own.py:EveryOtherPruner", max_epochs=5, options={"every": 3})
    assert type(pruner).__name__ == "EveryOtherPruner" and pruner.every == 3
    sampler = strategies.make_sampler(f"{tmp_path}/own.py:make_sampler", seed=7)
    assert isinstance(sampler, optuna.samplers.RandomSampler)
    assert sampler.sample_independent(None, None, "x", optuna.distributions.FloatDistribution(0, 1)) == \
        optuna.samplers.RandomSampler(seed=7).sample_independent(None, None, "x", optuna.distributions.FloatDistribution(0, 1))
    with pytest.raises(SetupError, match="made a str, not an optuna BasePruner"):
        strategies.make_pruner(f"{tmp_path}/own.py:not_a_pruner", max_epochs=5)
    with pytest.raises(SetupError, match="unexpected keyword argument 'colour'"):
        strategies.make_pruner(f"{tmp_path}/own.py:EveryOtherPruner", max_epochs=5, options={"colour": 1})
    with pytest.raises(SetupError, match="defines no 'Missing'"):
        strategies.check_sampler_available(f"{tmp_path}/own.py:Missing")


def test_a_study_script_names_its_own_pruner_and_the_study_uses_it(tmp_path, sqlite_url):
    from hpo.study._script import load_study_script
    from tests.conftest import run_quick

    def pruned_when_told(trial):
        x = trial.suggest_float("x", -1.0, 1.0)
        trial.report(x * x, 1)
        if trial.should_prune():
            raise optuna.TrialPruned()
        return x * x

    (tmp_path / "own.py").write_text(_OWN_STRATEGIES)
    (tmp_path / "study.py").write_text(
        "from hpo import StudySpec\n"
        "STUDY = StudySpec(name='own', metric='loss', n_trials=4, sampler='own.py:make_sampler',\n"
        "                  pruner='own.py:EveryOtherPruner', enqueue_defaults=False)\n")
    spec = load_study_script(tmp_path / "study.py")
    assert spec.pruner == f"{tmp_path.resolve()}/own.py:EveryOtherPruner"  # stored absolute for resume
    run_quick(spec, sqlite_url, objective=pruned_when_told)
    states = [t.state.name for t in optuna.load_study(study_name="own", storage=sqlite_url).trials]
    assert states == ["COMPLETE", "PRUNED", "COMPLETE", "PRUNED"]
