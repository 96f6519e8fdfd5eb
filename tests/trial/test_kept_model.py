"""The chosen trial's kept model: saved when the rule chooses the trial, dropped when superseded."""

import keras
import optuna

from hpo.storage._study_files import StudyFiles
from hpo.trial._kept_model import drop_superseded_models, keep_if_best
from hpo.trial._training import FitResult


def _result(value):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    return FitResult(value=value, best_epoch=1, epochs_trained=1, n_params=8, model=model)


def test_only_a_trial_the_rule_would_choose_keeps_its_model(sqlite_url):
    study = optuna.create_study(direction="maximize", storage=sqlite_url, study_name="k")
    study.add_trial(optuna.trial.create_trial(value=0.8))
    files = StudyFiles(sqlite_url, "k")
    worse, better = study.ask(), study.ask()
    assert not keep_if_best(worse, (0.7,), _result(0.7), files)
    assert not files.model_path(worse.number).exists()
    assert keep_if_best(better, (0.9,), _result(0.9), files)
    assert files.model_path(better.number).is_file()
    assert better.user_attrs["weight_histograms"]["n_tensors"] == 2


def test_superseded_models_are_dropped_but_a_running_trials_stays(sqlite_url):
    study = optuna.create_study(direction="maximize", storage=sqlite_url, study_name="k")
    files = StudyFiles(sqlite_url, "k")
    for value in (0.5, 0.9, 0.7):
        study.add_trial(optuna.trial.create_trial(value=value))
    running = study.ask()
    files.models.mkdir(parents=True)
    for number in (0, 1, 2, running.number):
        files.model_path(number).write_bytes(b"model")
    drop_superseded_models(study, files)
    assert sorted(files.kept_models()) == [1, running.number]
