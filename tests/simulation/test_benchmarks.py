"""benchmarks/simulate_search.py on a tiny bank, and benchmarks/curve_bank/record.py end to end."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from hpo.simulation import load_bank
from tests.conftest import REPO
from tests.simulation.bank_factory import tiny_bank


def load_script(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def search():
    return load_script(REPO / "benchmarks" / "simulate_search.py")


def test_anytime_is_the_best_complete_value_within_each_budget(search):
    run = ([6, 9, 15], [3.0, 4.5, 7.5], [0.2, float("nan"), 0.5], 0.4)  # the second trial pruned
    budgets = np.array([5, 6, 14, 15, 100])
    assert search.anytime(run, budgets, seconds=False, maximize=True, worst=0.0).tolist() == [0.0, 0.2, 0.2, 0.5, 0.5]
    assert search.anytime(run, np.array([4.5, 7.5]), seconds=True, maximize=True, worst=0.0).tolist() == [0.2, 0.5]
    assert search.anytime(run, budgets, seconds=False, maximize=False, worst=9.0).tolist() == [9.0, 0.2, 0.2, 0.2, 0.2]


def test_iqm_is_the_mean_of_the_middle_half(search):
    assert search.iqm(np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 100.0])) == pytest.approx(3.5)


def test_the_tables_of_every_strategy_in_the_json_contract(search, tmp_path):
    tiny_bank().save(tmp_path)
    runs = {seed: search.run_seed("tiny", seed, (4,), str(tmp_path)) for seed in range(4)}
    assert set(runs[0]) == set(search.STRATEGIES) and set(runs[0]["random"]) == {1, 4}
    table = search.task_tables("tiny", runs, (4,), str(tmp_path))
    json.dumps(table)  # what --json writes
    assert 0.0 <= table["win_rate_hpo_default_vs_optuna_default"] <= 1.0
    assert set(table["win_rate_hpo_default_vs_optuna_default_seconds"]) == {"1", "4"}
    assert set(table["win_rate_hpo_default_vs_optuna_default_final"]) == {"epochs", "seconds_1", "seconds_4"}
    for name in search.STRATEGIES:
        entry = table["strategies"][name]
        assert list(entry["best_at"]) == ["0.125", "0.25", "0.333", "0.5", "1"]
        median, low, high = entry["bands_at_epochs"]["0.5"]["median"]
        assert low <= median <= high
        assert entry["test_of_pick"] == pytest.approx(entry["test_of_pick"])  # not NaN
    random = table["strategies"]["random"]
    assert random["best_at"]["1"] == table["random_median_final"]
    assert 0 < random["epoch_fraction_to_random_final"] <= 1.0  # its own final, by its last trial


def test_hpos_default_is_simulated_once_when_it_is_one_of_the_other_strategies(search, tmp_path):
    from hpo import StudySpec

    tiny_bank().save(tmp_path)
    twin = search._twin_of_hpo_default(search.default_study(tiny_bank()))
    assert twin == "tpe_" + StudySpec(name="x").pruner.replace("-", "_")
    runs = search.run_seed("tiny", 0, (), str(tmp_path), ("random", "hpo_default", twin))
    assert list(runs) == ["random", "hpo_default", twin] and runs["hpo_default"] is runs[twin]
    assert search._twin_of_hpo_default(StudySpec(name="x", pruner="threshold", pruner_options={"lower": 0.1})) is None


def test_strategies_get_random_searchs_epochs_or_the_studys_trials(search, tmp_path):
    tiny_bank().save(tmp_path)
    study = (10, 6, 6)  # 10 trials of the tiny bank's 6 epochs, no early stopping
    equal_epochs = search.run_seed("tiny", 0, (), str(tmp_path), ("random", "tpe_successive_halving"), study)
    assert equal_epochs["random"][1][0][-1] == 60
    pruned = equal_epochs["tpe_successive_halving"][1]
    assert pruned[0][-1] >= 60 and len(pruned[2]) > 10  # pruned trials left epochs for more trials
    equal_trials = search.run_seed("tiny", 0, (), str(tmp_path), ("random", "tpe_successive_halving"), study,
                                   equal="trials")
    assert len(equal_trials["tpe_successive_halving"][1][2]) == 10


@pytest.mark.slow
def test_a_recording_exports_a_bank_and_its_repeat(tmp_path):
    env = {**os.environ, "HPO_HOME": str(tmp_path / "home")}
    script = str(REPO / "benchmarks" / "curve_bank" / "record.py")
    out = tmp_path / "bank"
    for extra in (["--configs", "3"], ["--configs", "2", "--repeat"], ["--export", "--out", str(out)]):
        result = subprocess.run([sys.executable, script, "--task", "breast_cancer_mlp", "--epochs", "2", *extra],
                                capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
    bank = load_bank("breast_cancer_mlp", out)
    assert (bank.metric, bank.direction, bank.n_configs, bank.n_epochs) == ("val_auc", "maximize", 3, 2)
    assert bank.sources == [f"breast_cancer_mlp-p1:{n}" for n in range(3)]
    assert np.all((bank.curves >= 0) & (bank.curves <= 1)) and np.all(bank.seconds > 0)  # AUCs
    assert bank.seconds[:, 0].min() > bank.seconds[:, 1].max() / 10  # the first epoch carries the build
    assert set(bank.configs[0]) == {"units", "dropout", "learning_rate", "batch_size"} and bank.n_params.min() > 0
    repeat = load_bank("breast_cancer_mlp-repeat", out)
    assert repeat.sources == bank.sources[:2] and repeat.configs == bank.configs[:2]
    assert not np.array_equal(repeat.curves, bank.curves[:2])  # another training seed
    assert json.loads((out / "versions.json").read_text())["optuna"]
    assert bank.objective == "studies/models/binary_mlp.py"  # its suggest, for define-by-run replays


def test_the_noise_of_a_bank_compares_each_repeated_configuration_with_its_first_recording(tmp_path):
    import dataclasses

    noise = load_script(REPO / "benchmarks" / "curve_bank" / "noise.py")
    bank = dataclasses.replace(tiny_bank(), sources=[f"tiny-p1:{i}" for i in range(40)])
    bank.save(tmp_path)
    rerun = bank.curves[:10] + 0.002  # another seed: every configuration a little better
    repeat = dataclasses.replace(bank, task="tiny-repeat", configs=bank.configs[:10], sources=bank.sources[:10],
                                 curves=rerun, losses=1 - rerun, test_curves=rerun, seconds=bank.seconds[:10],
                                 n_params=bank.n_params[:10])
    repeat.save(tmp_path)
    measured = noise.noise("tiny", str(tmp_path))
    assert measured["repeated"] == 10 and measured["median_abs_difference"] == pytest.approx(0.002, abs=1e-9)
    assert measured["spearman"] == pytest.approx(1.0) and measured["order_kept"] == 1.0
    assert 0 < measured["share_of_spread"] < 0.01


def test_the_memoised_curve_fits_return_what_the_fits_return(search, monkeypatch):
    from hpo.pruners import _learning_curve as learning_curve

    fit = learning_curve.extrapolate
    monkeypatch.setattr(learning_curve, "extrapolate", fit)  # restored after the test
    search.memoised_extrapolation()
    cached = learning_curve.extrapolate
    assert cached is not fit
    curve = [-np.log(v) for v in (2.1, 1.2, 0.8, 0.6, 0.5, 0.45)]
    first = cached(curve, 30)
    assert first == fit(curve, 30) and cached(np.array(curve), 30) is first  # the second call is a hit
    assert cached(curve[:3], 30) == fit(curve[:3], 30)
