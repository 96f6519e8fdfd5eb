from hpo.schedulers._chains import chains, epochs_charged, superseded
from tests.schedulers.trials import paused, trial


def test_a_configurations_pauses_continuations_and_retries_form_one_chain():
    trials = [
        paused(0, [0.1, 0.2, 0.3]),
        trial(1, "C", [0.5]),
        trial(2, "F", [0.1, 0.2, 0.3, 0.4], continues=0, resumed_from_epoch=4),  # died
        trial(3, "R", [0.1, 0.2, 0.3, 0.4, 0.5], continues=0, retry_of=2),  # its retry
    ]
    found = chains(trials)
    assert [(c.root, [t.number for t in c.trials]) for c in found] == [(0, [0, 2, 3]), (1, [1])]
    chain = found[0]
    assert chain.head.number == 3 and chain.active and chain.paused_at is None
    assert list(chain.curve) == [1, 2, 3, 4, 5]  # the longest of its trials' curves
    assert found[1].paused_at is None and not found[1].active


def test_a_chain_whose_head_is_paused_is_paused_at_that_epoch():
    chain = chains([trial(0, "P", [0.1, 0.2, 0.3], paused_at_epoch=3, promoted_to=1),
                    paused(1, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], continues=0)])[0]
    assert chain.paused_at == 9 and not chain.active


def test_the_sampler_is_shown_a_paused_trial_only_while_no_live_trial_continues_it():
    assert superseded([paused(0, [0.1]), trial(1, "R", [0.1, 0.2], continues=0)]) == {0}
    assert superseded([paused(0, [0.1]), trial(1, "F", [0.1, 0.2], continues=0)]) == set()


def test_each_trial_is_charged_the_epochs_it_trained_and_a_running_one_at_least_its_first():
    trials = [trial(0, "C", [0.1] * 5, epochs_run=5), trial(1, "R", [], epochs_run=0),
              trial(2, "R", [0.1, 0.1], epochs_run=3), trial(3, "W", []), trial(4, "P", [0.1], epochs_run=1)]
    assert epochs_charged(trials) == 5 + 1 + 3 + 0 + 1
