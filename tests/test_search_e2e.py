"""Every search strategy, pruner and study mode of issue 5, end to end on tiny digits studies."""

import importlib.util
import json
import os
import subprocess

import optuna
import pytest

from hpo import StudySpec
from hpo.driver import _optimize as driver
from hpo.errors import SetupError
from hpo.search._strategies import _SAMPLER_REQUIREMENTS, PRUNER_NAMES, SAMPLER_NAMES
from tests.conftest import REPO, hpo_command, write_study_script

pytestmark = pytest.mark.slow
GRID = {"units_0": [16, 32], "learning_rate": [1e-3, 1e-2]}
# Stays near chance on digits for its first epochs: the pruners' obvious loser.
HOPELESS = {"n_layers": 1, "units_0": 16, "activation": "sigmoid", "initializer": "glorot_uniform",
            "dropout": 0.0, "regularizer": "none", "optimizer": "sgd", "momentum": 0.0,
            "learning_rate": 1e-4, "lr_schedule": "constant", "batch_size": 128}
GOOD = {"n_layers": 1, "units_0": 128, "activation": "relu", "initializer": "he_normal", "dropout": 0.0,
        "regularizer": "none", "optimizer": "adam", "learning_rate": 1e-2, "lr_schedule": "constant",
        "batch_size": 32}


def tiny(name, **settings):
    values = dict(objective="mlp", dataset="digits", n_trials=3, max_epochs=2, patience=2, seed=0,
                  recycle_after=0, enqueue_defaults=False)
    values.update(settings)
    return StudySpec(name=name, **values)


def run(spec, url):
    lines = []
    outcome = driver.run(spec, storage_url=url, out=lines.append)
    return outcome, lines, optuna.load_study(study_name=spec.name, storage=url)


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
def test_every_sampler_runs_a_study(sampler, sqlite_url):
    requirement = _SAMPLER_REQUIREMENTS[sampler]
    if requirement is not None and importlib.util.find_spec(requirement[0]) is None:
        with pytest.raises(SetupError, match=f"run `{requirement[1]}`"):
            run(tiny(f"s-{sampler}", sampler=sampler), sqlite_url)
        if os.environ.get("CI"):
            pytest.fail(f"{requirement[0]} is missing: scripts/setup.sh installs the test extras")
        pytest.skip(f"needs {requirement[0]}")
    spec = tiny(f"s-{sampler}", sampler=sampler, grid=GRID if sampler == "grid" else {})
    outcome, lines, study = run(spec, sqlite_url)
    assert outcome.n_finished == 3 and outcome.best_value is not None
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials)
    assert len({json.dumps(t.params, sort_keys=True) for t in study.trials}) == 3  # three proposals


def test_grid_tries_each_point_once_and_reports_a_grid_larger_than_the_budget(sqlite_url):
    outcome, lines, study = run(tiny("g", sampler="grid", grid=GRID, n_trials=10), sqlite_url)
    assert "note: the grid has 4 points; the budget is 4 trials, not 10" in lines
    assert outcome.n_finished == 4
    points = {(t.params["units_0"], t.params["learning_rate"]) for t in study.trials}
    assert points == {(16, 1e-3), (16, 1e-2), (32, 1e-3), (32, 1e-2)}
    assert {t.params["activation"] for t in study.trials} == {"relu"}  # the objective's defaults
    _, lines, _ = run(tiny("g2", sampler="grid", grid=GRID, n_trials=2), sqlite_url)
    assert ("note: the grid has 4 points and the budget is 2 trials: 2 points will not be tried "
            "(--n-trials 4 covers the grid)") in lines


def test_a_grid_with_a_gap_stops_before_any_training(sqlite_url):
    spec = tiny("gap", sampler="grid", grid={"n_layers": [1, 2]})
    with pytest.raises(SetupError, match=r"grid point \{'n_layers': 2\} has no value for 'units_1'"):
        run(spec, sqlite_url)
    assert "gap" not in optuna.get_all_study_names(sqlite_url)


def test_the_built_in_study_script_states_a_grid_that_runs(sqlite_url):
    from hpo.study._script import load_study_script

    spec = load_study_script(REPO / "studies" / "digits_mlp.py")
    assert spec.grid
    from hpo.objectives import mlp
    from hpo.search._grid import check_grid

    check_grid(spec.grid, mlp.DEFAULT_PARAMS, mlp.suggest)


@pytest.mark.parametrize("pruner", PRUNER_NAMES)
def test_every_pruner_runs_a_study(pruner, sqlite_url):
    spec = tiny(f"p-{pruner}", pruner=pruner, n_trials=3, max_epochs=4, enqueue=(GOOD,))
    outcome, lines, study = run(spec, sqlite_url)
    assert outcome.n_finished == 3
    assert study.trials[0].state.name == "COMPLETE" and len(study.trials[0].intermediate_values) >= 2


# threshold: after its 2 warm-up epochs; learning-curve: from min_epochs (2), here by the pace
# bound, since the hopeless trial's accuracy does not move from chance level
@pytest.mark.parametrize("pruner, first_epoch_allowed", [("threshold", 3), ("learning-curve", 2)])
def test_threshold_and_learning_curve_pruners_stop_a_hopeless_trial(pruner, first_epoch_allowed, sqlite_url):
    spec = tiny(f"h-{pruner}", pruner=pruner, n_trials=2, max_epochs=12, patience=12,
                enqueue=(GOOD, HOPELESS))
    _, _, study = run(spec, sqlite_url)
    good, hopeless = study.trials
    assert good.state.name == "COMPLETE"
    assert hopeless.state.name == "PRUNED"
    assert first_epoch_allowed <= hopeless.last_step < 12


def test_multi_objective_study_keeps_a_pareto_front_and_picks_by_the_stated_rule(sqlite_url, capsys):
    spec = tiny("mo", also_minimize="n_params", n_trials=4, max_epochs=2, sampler="nsga2",
                pick_within=5000)
    outcome, lines, study = run(spec, sqlite_url)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert outcome.pareto_size == len(study.best_trials) >= 1
    assert all(t.values[1] == t.user_attrs["n_params"] for t in study.trials if t.values)
    assert "no pruning" in lines[0]
    from hpo._selection import chosen_in_study

    picked = chosen_in_study(study, 5000)
    small = [t for t in study.best_trials if t.values[1] <= 5000]
    if small:
        assert picked.values[0] == max(t.values[0] for t in small)
        assert outcome.best_number == picked.number
    else:
        assert picked is None and outcome.best_value is None
    unrestricted = chosen_in_study(study)
    assert unrestricted.values[0] == max(t.values[0] for t in study.best_trials)
    shown = subprocess.run(hpo_command("show", "mo", "--storage", sqlite_url), capture_output=True,
                           text=True, cwd=REPO, check=True).stdout
    assert f"Pareto front ({len(study.best_trials)} trials; val_accuracy, n_params):" in shown


def test_best_retrains_the_pareto_fronts_pick(sqlite_url):
    from hpo._selection import chosen_in_study
    from hpo.driver._best import train_best

    spec = tiny("mo-best", also_minimize="n_params", n_trials=3, max_epochs=2)
    _, _, study = run(spec, sqlite_url)
    result = train_best("mo-best", storage_url=sqlite_url)
    assert result.trial_number == chosen_in_study(study).number
    assert result.validation_value == chosen_in_study(study).values[0]


def test_the_cnn_objective_trains_on_the_digits_images(sqlite_url):
    spec = tiny("cnn", objective="cnn", metric="val_loss", n_trials=2, max_epochs=2,
                pruner="learning-curve", enqueue_defaults=True)
    outcome, _, study = run(spec, sqlite_url)
    assert outcome.n_finished == 2
    defaults = study.trials[0]
    assert defaults.params["batch_norm"] is True and defaults.params["filters_1"] == 128
    assert defaults.user_attrs["n_params"] > 100_000 and defaults.value < 2.3


def test_a_study_minimising_inference_time(sqlite_url):
    spec = tiny("fast", also_minimize="inference_ms", n_trials=2, max_epochs=1)
    _, _, study = run(spec, sqlite_url)
    for trial in study.trials:
        assert 0 < trial.values[1] == trial.user_attrs["inference_ms"] < 50


def test_warm_start_enqueues_the_best_trials_of_an_earlier_study(sqlite_url):
    _, _, earlier = run(tiny("first", n_trials=4, max_epochs=2), sqlite_url)
    best_two = sorted(earlier.trials, key=lambda t: -t.value)[:2]
    _, lines, later = run(tiny("second", n_trials=2, max_epochs=2, warm_start="first",
                               warm_start_trials=2, seed=5), sqlite_url)
    assert [t.params for t in later.trials] == [t.params for t in best_two]
    with pytest.raises(SetupError, match="warm_start: no study named 'nope'"):
        run(tiny("third", warm_start="nope"), sqlite_url)


def test_the_same_seed_twice_gives_the_same_parameters_and_values(tmp_path):
    script = write_study_script(tmp_path, "repro", n_trials=4, max_epochs=3, patience=3, seed=7,
                                deterministic=True, recycle_after=0, pruner="none")
    # Both runs at once (one per core): separate processes, so neither sees the other.
    urls = {attempt: f"sqlite:///{tmp_path / attempt}.db" for attempt in ("a", "b")}
    processes = {
        attempt: subprocess.Popen(hpo_command("run", str(script), "--storage", url), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, cwd=REPO,
                                  env={**os.environ, "HPO_HOME": str(tmp_path / attempt)})
        for attempt, url in urls.items()
    }
    runs = []
    for attempt, process in processes.items():
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        trials = optuna.load_study(study_name="repro", storage=urls[attempt]).trials
        runs.append([(t.params, t.value, t.intermediate_values) for t in trials])
    assert [params for params, _, _ in runs[0]] == [params for params, _, _ in runs[1]]
    assert [value for _, value, _ in runs[0]] == [value for _, value, _ in runs[1]]
    assert [curve for _, _, curve in runs[0]] == [curve for _, _, curve in runs[1]]


def test_the_diabetes_study_tunes_a_users_model_on_a_users_data_and_best_scores_its_test_split(sqlite_url, tmp_path):
    from hpo.driver._best import train_best
    from hpo.study._script import load_study_script

    spec = load_study_script(REPO / "studies" / "diabetes_regression.py").with_overrides(
        n_trials=2, max_epochs=3, recycle_after=0)
    outcome, lines, study = run(spec, sqlite_url)
    assert study.direction.name == "MINIMIZE" and outcome.n_finished == 2  # val_mae: minimised unasked
    assert "regression, target (1,)" in " ".join(lines)
    assert 0 < outcome.best_value < 400  # MAE of a disease-progression score (25-346)
    result = train_best("diabetes_regression", storage_url=sqlite_url)
    assert set(result.test_metrics) == {"test_loss", "test_mae"}
    from hpo.report._writer import write_report

    report = write_report("diabetes_regression", sqlite_url, tmp_path / "report")
    assert report.n_trials == 2 and "val_mae" in report.path.read_text()


def test_a_users_data_and_model_modules_run_in_worker_processes(tmp_path):
    script = REPO / "studies" / "diabetes_regression.py"
    url = f"sqlite:///{tmp_path / 'w.db'}"
    result = subprocess.run(hpo_command("run", str(script), "--storage", url, "--workers", "2", "--n-trials", "2",
                                        "--max-epochs", "1"),
                            capture_output=True, text=True, cwd=REPO, timeout=300,
                            env={**os.environ, "HPO_HOME": str(tmp_path / "home")})
    assert result.returncode == 0, result.stderr
    trials = optuna.load_study(study_name="diabetes_regression", storage=url).trials
    assert sum(t.state.name == "COMPLETE" for t in trials) == 2
    assert "w1 " in result.stdout and "w2 " in result.stdout


def test_the_breast_cancer_study_maximises_a_named_auc_with_balanced_class_weights(sqlite_url):
    from hpo.study._script import load_study_script

    spec = load_study_script(REPO / "studies" / "breast_cancer_auc.py").with_overrides(
        n_trials=2, max_epochs=3, recycle_after=0)
    outcome, _, study = run(spec, sqlite_url)
    assert study.direction.name == "MAXIMIZE" and outcome.n_finished == 2
    assert 0.5 < outcome.best_value <= 1.0
    assert study.user_attrs["hpo_data"]["class_counts"] == [170, 285]  # train + validation


_STREAM_MODEL = '''
import keras

def suggest(trial):
    return {"units": trial.suggest_int("units", 4, 16)}

def build(params, info):
    model = keras.Sequential([keras.Input(info.input_shape), keras.layers.Dense(params["units"], activation="relu"),
                              keras.layers.Dense(info.n_classes, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''


def _streams(batch=16):
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    make = lambda rows: tf.data.Dataset.from_tensor_slices((x[rows], y[rows])).batch(batch)  # noqa: E731
    return make(slice(0, 80)), make(slice(80, 100)), make(slice(100, 120))


def test_a_batched_tf_data_study_uses_the_streams_batches_and_refuses_a_suggested_batch_size(tmp_path, sqlite_url):
    import hpo

    (tmp_path / "stream_model.py").write_text(_STREAM_MODEL)
    train, validation, test = _streams()
    data = hpo.Data(train, validation=validation, test=test)
    spec = tiny("streamed", objective=str(tmp_path / "stream_model.py"), dataset="ignored", n_trials=2)
    outcome = hpo.run(spec, data=data, storage=sqlite_url)
    study = hpo.load_study("streamed", storage=sqlite_url)
    assert outcome.n_finished == 2 and study.user_attrs["hpo_data"]["batched"] is True
    assert sum(study.user_attrs["hpo_data"]["class_counts"]) == 80  # counted from the stream
    from hpo.driver._best import train_best

    result = train_best("streamed", storage_url=sqlite_url, model_path=tmp_path / "best.keras", in_memory=data)
    assert set(result.test_metrics) == {"test_loss", "test_accuracy"}

    (tmp_path / "batch_model.py").write_text(_STREAM_MODEL.replace(
        '{"units": trial.suggest_int("units", 4, 16)}',
        '{"units": 8, "batch_size": trial.suggest_categorical("batch_size", [8, 32])}'))
    with pytest.raises(SetupError, match="suggests batch_size, but .* already batched"):
        hpo.run(tiny("rebatched", objective=str(tmp_path / "batch_model.py")), data=data, storage=sqlite_url)
    assert "rebatched" not in [s.study_name for s in optuna.get_all_study_summaries(sqlite_url)]


_TWO_HEADED_MODEL = '''
import keras

def suggest(trial):
    return {"units": trial.suggest_int("units", 4, 16), "batch_size": 16}

def build(params, info):
    image = keras.Input(info.input_shape["image"], name="image")
    meta = keras.Input(info.input_shape["meta"], name="meta")
    hidden = keras.layers.Dense(params["units"], activation="relu")(
        keras.layers.Concatenate()([keras.layers.Flatten()(image), meta]))
    price = keras.layers.Dense(info.output_shape["price"][0], name="price")(hidden)
    kind = keras.layers.Dense(info.n_classes["kind"], activation="softmax", name="kind")(hidden)
    model = keras.Model({"image": image, "meta": meta}, {"price": price, "kind": kind})
    model.compile("adam", loss={"price": "mse", "kind": "sparse_categorical_crossentropy"},
                  metrics={"price": ["mae"], "kind": ["accuracy"]})
    return model
'''


def test_a_model_with_two_inputs_and_two_outputs_monitors_one_outputs_metric(tmp_path, sqlite_url):
    import numpy as np

    import hpo

    rng = np.random.default_rng(0)
    x = {"image": rng.normal(size=(90, 4, 4, 1)), "meta": rng.normal(size=(90, 2))}
    y = {"price": x["meta"][:, 0] * 3.0, "kind": np.where(x["meta"][:, 1] > 0, "up", "down")}
    (tmp_path / "two_headed.py").write_text(_TWO_HEADED_MODEL)
    spec = tiny("two_headed", objective=str(tmp_path / "two_headed.py"), metric="val_price_mae",
                n_trials=2, also_minimize="inference_ms")
    outcome = hpo.run(spec, data=hpo.Data((x, y), validation=0.2), storage=sqlite_url)
    study = hpo.load_study("two_headed", storage=sqlite_url)
    assert outcome.n_finished == 2 and [d.name for d in study.directions] == ["MINIMIZE", "MINIMIZE"]
    assert study.user_attrs["hpo_data"]["task"] == {"price": "regression", "kind": "classification"}
    assert all(t.user_attrs["inference_ms"] > 0 for t in study.trials)
    from hpo.report._writer import write_report

    page = write_report("two_headed", sqlite_url, tmp_path / "report").path.read_text()
    assert "val_price_mae" in page and "Pareto front" in page and "Learning curves" in page
    with pytest.raises(SetupError, match="built-in objectives have one output"):
        hpo.run(tiny("builtin_two", metric="val_price_mae"), data=hpo.Data((x["meta"], y), validation=0.2),
                storage=sqlite_url)


def test_the_image_folder_study_reads_class_folders_of_pngs(tmp_path, sqlite_url, monkeypatch):
    from hpo._plugins import load_module
    from hpo.driver._best import train_best
    from hpo.study._script import load_study_script

    monkeypatch.setenv("HPO_IMAGE_FOLDER", str(tmp_path / "images"))
    load_module(str(REPO / "studies" / "data" / "image_folder.py"), what="data").write_demo_folder(
        tmp_path / "images", per_class=10)
    assert sorted(p.name for p in (tmp_path / "images" / "train").iterdir())[:2] == ["digit_0", "digit_1"]
    spec = load_study_script(REPO / "studies" / "image_folder.py").with_overrides(
        n_trials=2, max_epochs=2, recycle_after=0)
    outcome, lines, study = run(spec, sqlite_url)
    counts = study.user_attrs["hpo_data"]["class_counts"]  # of the training images
    assert outcome.n_finished == 2 and len(counts) == 10 and min(counts) > 0
    assert sum(counts) == study.user_attrs["hpo_data"]["examples"]
    assert "input (16, 16, 1), 10 classes" in " ".join(lines)
    result = train_best("image_folder", storage_url=sqlite_url, model_path=tmp_path / "best.keras")
    assert 0.0 <= result.test_metrics["test_accuracy"] <= 1.0
