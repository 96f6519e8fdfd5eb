"""Real Optuna samplers and pruners replayed on a tiny bank, in simulated time."""

import optuna
import pytest

from hpo.simulation import nearest_config, simulate
from tests.simulation.bank_factory import tiny_bank


def test_a_proposal_maps_to_the_nearest_recorded_configuration():
    bank = tiny_bank()
    assert bank.configs[nearest_config(bank, {"x": 0.5, "kind": "a"})]["kind"] == "a"
    index = nearest_config(bank, {"x": 0.05, "kind": "b"})
    assert bank.configs[index] == {"x": 0.05, "kind": "b"}
    assert nearest_config(bank, {"x": 2.0, "kind": "a"}) == 39  # clipped to the range's end


def test_one_worker_replays_whole_curves_and_charges_their_seconds():
    bank = tiny_bank()
    result = simulate(bank, optuna.samplers.RandomSampler(seed=1), optuna.pruners.NopPruner(), n_trials=5)
    assert len(result.trials) == 5 and result.epochs == 5 * 6
    assert result.seconds == pytest.approx(5 * 6 * 0.5)
    assert [t.ended for t in result.trials] == pytest.approx([3.0, 6.0, 9.0, 12.0, 15.0])
    for trial in result.trials:
        assert trial.value == bank.final_best(trial.index) and not trial.pruned
    best = max(t.value for t in result.trials)
    assert result.best_within(epochs=30) == best and result.best_within(epochs=5) is None
    assert result.test_of_pick() == pytest.approx(bank.test_curves[
        max(result.trials, key=lambda t: t.value).index].max(), abs=0.01)


def test_workers_overlap_in_simulated_time():
    bank = tiny_bank()
    result = simulate(bank, optuna.samplers.RandomSampler(seed=1), optuna.pruners.NopPruner(), n_trials=8, workers=4)
    assert result.epochs == 8 * 6 and result.seconds == pytest.approx(2 * 6 * 0.5)  # two rounds of four
    assert sorted({t.worker for t in result.trials}) == [0, 1, 2, 3]
    assert result.best_within(seconds=3.0) is not None and result.best_within(seconds=2.9) is None


def test_a_real_pruner_stops_poor_trials_and_saves_epochs():
    bank = tiny_bank()
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    result = simulate(bank, optuna.samplers.RandomSampler(seed=2), pruner, n_trials=20)
    pruned = [t for t in result.trials if t.pruned]
    assert pruned and result.epochs < 20 * 6
    assert all(t.epochs < 6 for t in pruned)


def test_tpe_with_constant_liar_sees_running_trials_and_learns_the_bank():
    bank = tiny_bank()
    sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=5, constant_liar=True)
    result = simulate(bank, sampler, optuna.pruners.NopPruner(), n_trials=30, workers=4)
    assert len(result.trials) == 30
    late = sorted(result.trials, key=lambda t: t.number)[-10:]
    assert sum(t.value for t in late) / 10 > 0.6  # TPE moves towards high x (random averages 0.5)


def test_trials_stop_at_max_epochs_or_when_early_stopping_runs_out_of_patience():
    import dataclasses

    import numpy as np

    bank = tiny_bank()
    peaked = np.tile(np.array([0.1, 0.5, 0.4, 0.45, 0.3, 0.2]), (bank.n_configs, 1))  # best at epoch 2
    bank = dataclasses.replace(bank, curves=peaked)
    nop, sampler = optuna.pruners.NopPruner(), optuna.samplers.RandomSampler(seed=0)
    assert [t.epochs for t in simulate(bank, sampler, nop, n_trials=2, max_epochs=4).trials] == [4, 4]
    stopped = simulate(bank, sampler, nop, n_trials=2, patience=2).trials
    assert [t.epochs for t in stopped] == [4, 4]  # epochs 3 and 4 not better than epoch 2
    assert all(t.value == 0.5 and not t.pruned for t in stopped)
    assert [t.epochs for t in simulate(bank, sampler, nop, n_trials=1, patience=3).trials] == [5]
