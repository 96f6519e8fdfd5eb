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
    for name in search.STRATEGIES:
        entry = table["strategies"][name]
        assert list(entry["best_at"]) == ["0.125", "0.25", "0.333", "0.5", "1"]
        median, low, high = entry["bands_at_epochs"]["0.5"]["median"]
        assert low <= median <= high
        assert entry["test_of_pick"] == pytest.approx(entry["test_of_pick"])  # not NaN
    random = table["strategies"]["random"]
    assert random["best_at"]["1"] == table["random_median_final"]
    assert 0 < random["epoch_fraction_to_random_final"] <= 1.0  # its own final, by its last trial


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
