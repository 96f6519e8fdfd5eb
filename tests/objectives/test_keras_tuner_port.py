"""KerasTuner's build_model(hp) on Optuna: the hp adapter (no training) and one real study."""

import optuna
import pytest

from hpo.driver import _optimize as driver
from hpo.errors import SetupError
from hpo.objectives import ObjectiveModule, load_objective
from hpo.objectives._keras_tuner_port import KerasTunerObjective, OptunaHyperParameters
from hpo.study._spec import StudySpec
from tests.conftest import REPO


def space(hp):
    """Every kind of hp call, as a build_model would make them (without the model)."""
    kind = hp.Choice("kind", ["wide", "deep"])
    with hp.conditional_scope("kind", ["wide"]):
        units = hp.Int("units", 64, 512, step=64, default=128)
    layers = hp.Int("layers", 1, 4, parent_name="kind", parent_values="deep")
    lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
    dropout = hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Fixed("optimizer", "adam")
    return {"kind": kind, "units": units, "layers": layers, "lr": lr, "dropout": dropout,
            "batch_norm": hp.Boolean("batch_norm"), "optimizer": hp.get("optimizer")}


def test_values_come_from_the_trial_and_conditions_keep_inactive_ones_out():
    trial = optuna.trial.FixedTrial({"kind": "wide", "units": 256, "lr": 0.01, "dropout": 0.2, "batch_norm": True})
    hp = OptunaHyperParameters(trial=trial)
    assert space(hp) == {"kind": "wide", "units": 256, "layers": None, "lr": 0.01, "dropout": 0.2,
                         "batch_norm": True, "optimizer": "adam"}
    assert trial.params == {"kind": "wide", "units": 256, "lr": 0.01, "dropout": 0.2, "batch_norm": True}


def test_a_real_trial_gets_optunas_distributions():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(20):
        trial = study.ask()
        values = space(OptunaHyperParameters(trial=trial))
        assert (values["units"] is None) == (values["kind"] == "deep") == (values["layers"] is not None)
        study.tell(trial, 0.0)
    distributions = study.trials[0].distributions
    assert distributions["lr"].log and distributions["dropout"].step == pytest.approx(0.1)
    assert "optimizer" not in distributions  # a Fixed value is not searched


def test_replaying_a_trials_values_gives_the_same_configuration():
    chosen = {"kind": "deep", "layers": 3, "lr": 0.001, "dropout": 0.0, "batch_norm": False}
    replayed = space(OptunaHyperParameters(values=chosen))
    assert replayed == {**chosen, "units": None, "optimizer": "adam"}
    with pytest.raises(ValueError, match="'nothing' is not defined"):
        OptunaHyperParameters(values={}).get("nothing")


@pytest.mark.parametrize("call, message", [
    (lambda hp: hp.Float("lr", 1e-4, 1e-1, sampling="reverse_log"), "sampling 'reverse_log' has no Optuna equivalent"),
    (lambda hp: hp.Int("units", 16, 512, step=2, sampling="log"), "a step with log sampling has no Optuna equivalent"),
])
def test_what_optuna_cannot_express_is_one_line(call, message):
    with pytest.raises(SetupError, match=message):
        call(OptunaHyperParameters(trial=optuna.trial.FixedTrial({"lr": 0.01, "units": 32})))


def test_a_module_with_only_build_model_is_an_objective_module(tmp_path):
    module = load_objective(str(REPO / "studies" / "models" / "digits_keras_tuner.py"))
    assert isinstance(module.module, KerasTunerObjective) and isinstance(module.module, ObjectiveModule)
    (tmp_path / "neither.py").write_text("x = 1\n")
    with pytest.raises(SetupError, match=r"does not define suggest and build\(\) \(or KerasTuner's build_model"):
        load_objective(str(tmp_path / "neither.py"))


@pytest.mark.slow
def test_the_shipped_keras_tuner_study_runs_with_hpos_pruning_and_its_batch_size(sqlite_url):
    from hpo.study._script import load_study_script

    spec = load_study_script(REPO / "studies" / "keras_tuner_port.py").with_overrides(
        n_trials=2, max_epochs=2, recycle_after=0)
    outcome = driver.run(spec, storage_url=sqlite_url, out=lambda line: None)
    assert outcome.n_finished == 2
    trials = optuna.load_study(study_name="keras_tuner_port", storage=sqlite_url).trials
    assert all(t.state.name == "COMPLETE" and t.params["batch_size"] in (32, 64, 128) for t in trials)
    assert all(len(t.intermediate_values) == 2 for t in trials)  # per-epoch reports for the pruner
    assert all(f"units_{i}" in t.params for t in trials for i in range(t.params["num_layers"]))


def test_an_inexpressible_space_stops_the_run_before_anything_is_stored(tmp_path, sqlite_url):
    (tmp_path / "bad_space.py").write_text(
        "import keras\n"
        "def build_model(hp):\n"
        "    hp.Float('lr', 1e-4, 1e-1, sampling='reverse_log')\n"
        "    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])\n")
    spec = StudySpec(name="bad", objective=str(tmp_path / "bad_space.py"), recycle_after=0)
    with pytest.raises(SetupError, match="reverse_log"):
        driver.run(spec, storage_url=sqlite_url, out=lambda line: None)
    assert not (tmp_path / "studies.db").exists()
