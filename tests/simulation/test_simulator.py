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


def test_without_repeats_a_proposal_maps_to_the_nearest_configuration_not_yet_replayed():
    bank = tiny_bank()  # 40 configurations
    sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=5)
    repeated = simulate(bank, sampler, optuna.pruners.NopPruner(), n_trials=30)
    assert len({t.index for t in repeated.trials}) < 30  # TPE returns to the configurations it likes
    sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=5)
    fresh = simulate(bank, sampler, optuna.pruners.NopPruner(), n_trials=30, repeats=False)
    assert len({t.index for t in fresh.trials}) == 30
    assert [t.index for t in fresh.trials][:5] == [t.index for t in repeated.trials][:5]  # the same start
    many = simulate(bank, optuna.samplers.RandomSampler(seed=0), optuna.pruners.NopPruner(), n_trials=45, repeats=False)
    assert len({t.index for t in many.trials}) == 40  # all used: repeats again, as there is nothing else


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


def test_an_objectives_suggest_asks_define_by_run_so_conditional_parameters_exist_only_where_they_matter():
    import dataclasses

    from hpo.simulation import bank_suggest

    def suggest(trial):
        kind = trial.suggest_categorical("kind", ["a", "b"])
        return {"kind": kind, **({"x": trial.suggest_float("x", 0.0, 1.0)} if kind == "a" else {})}

    bank = tiny_bank()
    result = simulate(bank, optuna.samplers.RandomSampler(seed=3), optuna.pruners.NopPruner(), n_trials=12,
                      suggest=suggest)
    kinds = [bank.configs[t.index]["kind"] for t in result.trials]
    assert set(kinds) == {"a", "b"}  # a "b" proposal has no x, and is matched on its kind alone
    assert bank_suggest(bank) is None
    mlp = bank_suggest(dataclasses.replace(bank, objective="mlp"))
    assert "units_4" not in mlp(optuna.trial.FixedTrial({"n_layers": 1, "units_0": 32, "activation": "relu",
                                                          "initializer": "he_normal", "dropout": 0.1,
                                                          "regularizer": "none", "optimizer": "adam",
                                                          "learning_rate": 1e-3, "lr_schedule": "constant",
                                                          "batch_size": 32}))


def test_an_epoch_budget_starts_no_trial_once_it_is_spent_and_lets_running_ones_finish():
    bank = tiny_bank()  # 6 epochs per curve
    nop = optuna.pruners.NopPruner()
    one = simulate(bank, optuna.samplers.RandomSampler(seed=3), nop, n_trials=None, epoch_budget=14)
    assert [t.epochs for t in one.trials] == [6, 6, 6] and one.epochs == 18  # the third began at 12 < 14
    four = simulate(bank, optuna.samplers.RandomSampler(seed=3), nop, n_trials=None, epoch_budget=24, workers=4)
    # Lockstep: the first three to finish see 21, 22, 23 epochs replayed and start another; the
    # fourth sees 24 and does not. Running trials finish: budgets are compared with best_within.
    assert len(four.trials) == 7 and four.epochs == 42
    capped = simulate(bank, optuna.samplers.RandomSampler(seed=3), nop, n_trials=2, epoch_budget=100)
    assert len(capped.trials) == 2  # the trial limit still holds
    with pytest.raises(ValueError, match="n_trials or epoch_budget"):
        simulate(bank, optuna.samplers.RandomSampler(seed=3), nop, n_trials=None)


def test_promotion_asha_pauses_trials_at_rungs_and_continues_the_best_on_the_same_curve():
    from hpo.schedulers._promotion import PromotionScheduler

    bank = tiny_bank(n=40, epochs=9)
    scheduler = PromotionScheduler(reduction_factor=3, min_epochs=1, max_epochs=9, direction="maximize")
    result = simulate(bank, optuna.samplers.RandomSampler(seed=0), optuna.pruners.NopPruner(), n_trials=18,
                      scheduler=scheduler)
    paused = [t for t in result.trials if t.paused]
    continued = [t for t in result.trials if t.first_epoch > 1]
    assert paused and continued and all(t.epochs in (1, 3) for t in paused)
    assert {t.first_epoch for t in continued} <= {2, 4}  # after rung 1 or rung 3
    assert sum(t.first_epoch == 1 for t in result.trials) == 18  # 18 configurations, however continued
    assert result.epochs == sum(t.trained for t in result.trials) < 18 * 9
    # A continuation replays the configuration of a trial paused where it starts.
    for trial in continued:
        assert any(p.index == trial.index and p.epochs == trial.first_epoch - 1 and p.ended <= trial.started
                   for p in paused)
    assert any(t.epochs == 9 and not t.pruned for t in continued)  # some went all the way


def test_a_population_cannot_be_replayed_from_recorded_curves():
    from hpo.schedulers import make_scheduler

    pbt = make_scheduler("pbt", {}, max_epochs=9, direction="maximize", n_trials=4)
    with pytest.raises(ValueError, match="replays promotion schedulers"):
        simulate(tiny_bank(n=10, epochs=9), optuna.samplers.RandomSampler(seed=0), optuna.pruners.NopPruner(),
                 n_trials=4, scheduler=pbt)


def test_optunas_hyperband_brackets_repeat_from_run_to_run():
    # Its brackets hash the study's name: the simulator names its study, so a seed repeats.
    bank = tiny_bank(n=30, epochs=9)

    def run():
        result = simulate(bank, optuna.samplers.RandomSampler(seed=1),
                          optuna.pruners.HyperbandPruner(min_resource=1, max_resource=9), n_trials=20)
        return [(t.index, t.epochs, t.value) for t in result.trials]

    assert run() == run()
