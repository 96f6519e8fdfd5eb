"""`hpo simulate`'s replay of a study's own curves under other pruners (no training)."""

import json

import optuna
import pytest

from hpo.errors import SetupError
from hpo.simulation._replay import MIN_TRIALS, replay, usable_curves


def _curves(n=30, epochs=10):
    # Trial i climbs to i/n: the later a trial in the list, the better; 29 is the best.
    return [[(i / n) * (step / epochs) for step in range(1, epochs + 1)] for i in range(n)]


def test_no_pruning_saves_nothing_and_a_median_pruner_saves_epochs_on_clearly_poor_trials():
    results = replay(_curves(), "maximize", {
        "none": optuna.pruners.NopPruner,
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
    }, orders=10)
    by_name = {r.pruner: r for r in results}
    assert by_name["none"].epochs_saved == 0 and by_name["none"].best_pruned == 0
    assert 0.2 < by_name["median"].epochs_saved < 1 and by_name["median"].orders == 10
    assert 0 <= by_name["median"].best_pruned <= 1
    assert by_name["median"].to_dict()["pruner"] == "median"


def test_a_pruner_that_prunes_everything_prunes_the_best_in_every_order():
    results = replay(_curves(), "maximize", {"all": lambda: optuna.pruners.ThresholdPruner(lower=2.0)}, orders=5)
    assert results[0].best_pruned == 1.0 and results[0].epochs_saved == pytest.approx(0.9)


def test_minimised_metrics_pick_the_lowest_curve_as_the_best():
    curves = [[1 - v for v in c] for c in _curves()]
    results = replay(curves, "minimize", {"none": optuna.pruners.NopPruner}, orders=2)
    assert results[0].epochs_saved == 0


def test_too_few_or_pruned_only_trials_are_one_line():
    study = optuna.create_study()
    for _ in range(MIN_TRIALS + 2):
        trial = study.ask()
        trial.report(0.5, 1)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    with pytest.raises(SetupError, match="has 0 complete trials .* needs at least 20 .*22 pruned trials cannot"):
        usable_curves(study.trials, "s")
    for _ in range(MIN_TRIALS):
        trial = study.ask()
        trial.report(0.5, 1)
        study.tell(trial, 0.5)
    assert len(usable_curves(study.trials, "s")) == MIN_TRIALS


def _stored(url, n=25, name="curves"):
    study = optuna.create_study(study_name=name, storage=url, direction="maximize")
    for i in range(n):
        trial = study.ask()
        for step in range(1, 9):
            trial.report((i / n) * step / 8, step)
        study.tell(trial, i / n)
    return study


def test_a_stored_studys_curves_replay_under_pruners_named_as_in_a_study_script(sqlite_url):
    from hpo.simulation._replay import replay_study
    from hpo.storage._database import open_storage

    _stored(sqlite_url)
    results = replay_study(open_storage(sqlite_url), "curves", ["none", "median", "learning-curve"], orders=4)
    assert [r.pruner for r in results] == ["none", "median", "learning-curve"] and results[0].epochs_saved == 0
    assert results[1].epochs_saved > 0 and results[2].epochs_saved > 0  # hpo's default pruner, named
    with pytest.raises(SetupError, match="unknown pruner 'nope'"):
        replay_study(open_storage(sqlite_url), "curves", ["nope"])
    with pytest.raises(SetupError, match="no study named 'other'"):
        replay_study(open_storage(sqlite_url), "other")


def test_hpo_simulate_prints_a_table_and_json(sqlite_url, capsys):
    from hpo.cli import main

    _stored(sqlite_url)
    assert main(["simulate", "curves", "--storage", sqlite_url, "--pruners", "none,median", "--orders", "3"]) == 0
    printed = capsys.readouterr().out
    assert "replayed in 3 random orders" in printed and "median" in printed and "EPOCHS SAVED" in printed
    assert main(["simulate", "curves", "--storage", sqlite_url, "--pruners", "none", "--orders", "2", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == {"study": "curves", "pruners": [{"pruner": "none", "epochs_saved": 0.0, "best_pruned": 0.0,
                                                    "orders": 2}]}
    _stored(sqlite_url, n=5, name="short")
    assert main(["simulate", "short", "--storage", sqlite_url]) == 2
    assert "has 5 complete trials with learning curves; hpo simulate needs at least 20" in capsys.readouterr().err
