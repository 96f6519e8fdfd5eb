"""The stored-record schema: keys and typed accessors."""

from hpo import records


def test_accessors_read_what_writers_store_and_tolerate_what_they_did_not():
    attrs = {records.N_PARAMS: 1234, records.BEST_EPOCH: 3, records.RETRY_OF: 2, records.RETRY_ATTEMPT: 1,
             records.SEED: 9, records.FAIL_REASON: "ValueError: x"}
    assert records.n_params(attrs) == 1234 and records.best_epoch(attrs) == 3
    assert records.retry_of(attrs) == 2 and records.retry_attempt(attrs) == 1
    assert records.fail_reason(attrs) == "ValueError: x"
    # A study made by Optuna directly, or an attribute of the wrong type: None, never a crash.
    odd = {records.N_PARAMS: "many", records.BEST_EPOCH: True, records.RETRY_OF: None}
    assert records.n_params(odd) is None and records.best_epoch(odd) is None and records.retry_of(odd) is None
    assert records.retry_attempt({}) == 0 and records.fail_reason({}) == records.NO_REASON


def test_a_retry_keeps_the_original_trials_seed():
    first = records.retry_attrs(retry_of=4, attempt=1, seed=records.trial_seed(10, 4, {}))
    assert first == {"retry_of": 4, "retry_attempt": 1, "seed": 14}
    assert records.trial_seed(10, 7, first) == 14  # the retry (trial 7) trains with trial 4's seed


def test_study_settings_and_the_pick_rule():
    assert records.spec_dict({records.SPEC: {"pick_within": 5000}}) == {"pick_within": 5000}
    assert records.spec_dict({records.SPEC: "garbage"}) is None and records.spec_dict({}) is None
    assert records.pick_within({"pick_within": 5000}) == 5000.0
    assert records.pick_within({"pick_within": None}) is None and records.pick_within(None) is None


def test_bulky_attributes_are_left_out_of_compact_views():
    attrs = {records.WEIGHT_HISTOGRAMS: {"tensors": [1]}, records.FAIL_TRACEBACK: "Traceback...",
             records.N_PARAMS: 3}
    assert records.compact(attrs) == {records.N_PARAMS: 3}
    assert records.weight_histograms(attrs) == {"tensors": [1]}
    assert records.weight_histograms({records.WEIGHT_HISTOGRAMS: {"tensors": []}}) is None
