"""The Python API: hpo.run / hpo.resume with data held in memory, hpo.load_study."""

import numpy as np
import optuna
import pytest

import hpo
from hpo.errors import SetupError

pytestmark = pytest.mark.slow


def _data(rows=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)).astype("float32")
    return hpo.Data((x, (x @ np.array([1.0, -2.0, 0.5, 0.0])).astype("float32")), validation=0.25)


def test_a_regression_study_on_arrays_from_python_and_its_resume_rules(sqlite_url):
    spec = hpo.StudySpec(name="arrays", objective="mlp", metric="val_mae", n_trials=2, max_epochs=2,
                         patience=2, pruner="none")
    outcome = hpo.run(spec, data=_data(), storage=sqlite_url)
    assert outcome.n_finished == 2 and outcome.best_value > 0
    study = hpo.load_study("arrays", storage=sqlite_url)
    assert isinstance(study, optuna.Study) and study.direction.name == "MINIMIZE"  # val_mae, not stated
    assert study.user_attrs["hpo_spec"]["dataset"] == "<in-memory Data>"
    assert study.user_attrs["hpo_data"]["task"] == "regression"
    assert all(t.user_attrs["n_params"] == (4 + 1) * 128 + (128 + 1) * 1 for t in study.trials[:1])

    with pytest.raises(SetupError, match=r"data was passed from Python .* hpo.resume\(name, data=...\)"):
        hpo.resume("arrays", storage=sqlite_url, n_trials=3)
    with pytest.raises(SetupError, match="was tuned on other data .*examples 120 -> 80.*new --study-name"):
        hpo.resume("arrays", data=_data(rows=80), storage=sqlite_url, n_trials=3)
    assert len(hpo.load_study("arrays", storage=sqlite_url).trials) == 2  # nothing stored by either
    assert hpo.resume("arrays", data=_data(), storage=sqlite_url, n_trials=3).n_finished == 3


def test_in_memory_data_cannot_go_to_worker_processes(sqlite_url):
    spec = hpo.StudySpec(name="w", metric="val_mae", workers=2)
    with pytest.raises(SetupError, match="data passed from Python trains in this process; use workers=1"):
        hpo.run(spec, data=_data(), storage=sqlite_url)
