"""Every key hpo stores on a study or a trial, and typed accessors to read them back.

Storage is the one thing every worker, ``hpo show``, the report and optuna-dashboard share, so
what a key means is written down here once. Writers use the constants; readers use the
accessors, which return ``None`` for a missing or malformed value (a study made by an older
hpo, or by Optuna directly, may lack any of them).

Study user attributes:

* ``hpo_spec`` - the :class:`hpo.study._spec.StudySpec` as a dict, so ``hpo resume`` needs no script;
* ``hpo_test_evaluation`` - what ``hpo best`` measured on the test split (once);
* ``hpo_checkpoint_peak_bytes`` - with a scheduler: the most disk a host's epoch checkpoints
  (the paused trials' and the running ones') took at once;
* ``hpo_data`` - the data's fingerprint (source, task, shapes, sizes, class counts): a resume
  on other data is refused.

Trial user attributes:

* ``fail_reason`` / ``fail_traceback`` - why a trial failed (one line / the traceback's tail);
* ``retry_of`` / ``retry_attempt`` / ``seed`` - on a retry: the trial it retries, how many
  retries deep it is, and the Keras seed it took over;
* ``resumed_from_epoch`` - the first epoch a retry or a continuation trained itself (the
  earlier ones came from a checkpoint);
* ``paused_at_epoch`` - a trial a scheduler paused (:mod:`hpo.schedulers`): it ended PRUNED
  after this epoch, its checkpoint kept, and may be continued;
* ``continues`` - on a continuation: the number of the paused trial it continues, with the
  same parameters, seed and curve (a retry of a continuation carries it too);
* ``promoted_to`` - on a paused trial: the number of its continuation;
* ``host`` - the host that ran a trial of a scheduled study (``HPO_HOST`` or the host name);
* ``bracket`` - the Hyperband bracket of a configuration (0 for ASHA);
* ``pbt_member`` / ``pbt_generation`` / ``pbt_parent`` - with ``scheduler="pbt"``, one trial
  per segment of a member's training: the member (the number of its first trial), the
  segment's index (0 for the first), and the trial whose checkpoint the segment started from
  (the member's own previous segment, or a better member's when it exploited one; absent in
  generation 0);
* ``epochs_run`` - epochs the trial trained itself (not the ones it took over from a
  checkpoint), charged to the study's ``epoch_budget``;
* ``n_params``, ``best_epoch``, ``epochs_trained`` - the trained model's size and curve;
* ``fold_values`` / ``fold_best_epochs`` / ``fold_epochs`` - with ``cv`` or ``repeats``
  (:mod:`hpo.trial._evaluations`): each finished evaluation's (fold's, seed's) best-epoch
  value, best epoch and epochs trained, in plan order (a retry carries them and goes on with
  the next); the trial's value is their mean, ``value_se`` its standard error;
* ``confirms`` - on a trial that re-checks a leading configuration after the budget
  (``confirm_top``): the trial it re-checks; its ``fold_values`` hold both trials'
  evaluations, and its value their mean;
* ``inference_ms`` - milliseconds per sample (studies with ``also_minimize="inference_ms"``);
* ``weight_histograms`` - per-layer weight histograms of a model that became the best.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Study attributes
SPEC = "hpo_spec"
TEST_EVALUATION = "hpo_test_evaluation"
DATA = "hpo_data"
CHECKPOINT_PEAK = "hpo_checkpoint_peak_bytes"
TRACKING_ID = "hpo_tracking_id"  # the study in MLflow (hpo.tracking._mlflow_runs)

# Trial attributes
FAIL_REASON = "fail_reason"
FAIL_TRACEBACK = "fail_traceback"
RETRY_OF = "retry_of"
RETRY_ATTEMPT = "retry_attempt"
SEED = "seed"
RESUMED_FROM_EPOCH = "resumed_from_epoch"
N_PARAMS = "n_params"
BEST_EPOCH = "best_epoch"
EPOCHS_TRAINED = "epochs_trained"
PAUSED_AT_EPOCH = "paused_at_epoch"
CONTINUES = "continues"
PROMOTED_TO = "promoted_to"
BRACKET = "bracket"
HOST = "host"
EPOCHS_RUN = "epochs_run"
PBT_MEMBER = "pbt_member"
PBT_GENERATION = "pbt_generation"
PBT_PARENT = "pbt_parent"
FOLD_VALUES = "fold_values"
FOLD_BEST_EPOCHS = "fold_best_epochs"
FOLD_EPOCHS = "fold_epochs"
VALUE_SE = "value_se"
CONFIRMS = "confirms"
# What a retry carries over from the trial it retries, besides its parameters and seed.
CARRIED_BY_RETRY = (CONTINUES, BRACKET, PBT_MEMBER, PBT_GENERATION, PBT_PARENT, CONFIRMS)
CARRIED_LISTS_BY_RETRY = (FOLD_VALUES, FOLD_BEST_EPOCHS, FOLD_EPOCHS)
INFERENCE_MS = "inference_ms"
WEIGHT_HISTOGRAMS = "weight_histograms"

# Kept for the report's own views, hidden from `hpo show` and from table cells.
BULKY = frozenset({FAIL_TRACEBACK, WEIGHT_HISTOGRAMS})
# What `hpo show` prints under the best trial, in this order.
SHOWN_WITH_BEST = (N_PARAMS, BEST_EPOCH, EPOCHS_TRAINED, RETRY_OF, CONTINUES, RESUMED_FROM_EPOCH,
                   PBT_MEMBER, PBT_GENERATION, PBT_PARENT, CONFIRMS, FOLD_VALUES, FOLD_BEST_EPOCHS)
NO_REASON = "no reason recorded"

Attrs = Mapping[str, Any]


def _int(attrs: Attrs, key: str) -> int | None:
    value = attrs.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# Study ---------------------------------------------------------------------------------------
def spec_dict(study_attrs: Attrs) -> dict[str, Any] | None:
    """The stored study settings, or None for a study hpo did not create."""
    value = study_attrs.get(SPEC)
    return value if isinstance(value, dict) else None


def pick_within(settings: Attrs | None) -> float | None:
    """The Pareto pick rule (see :mod:`hpo._selection`) of stored settings, None when there is none."""
    value = (settings or {}).get("pick_within")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def checkpoint_peak(study_attrs: Attrs) -> int:
    return _int(study_attrs, CHECKPOINT_PEAK) or 0


# Trial ---------------------------------------------------------------------------------------
def fail_reason(attrs: Attrs) -> str:
    value = attrs.get(FAIL_REASON)
    return value if isinstance(value, str) and value else NO_REASON


def retry_of(attrs: Attrs) -> int | None:
    return _int(attrs, RETRY_OF)


def retry_attempt(attrs: Attrs) -> int:
    """0 for an original trial, 1 for its first retry, 2 for the retry's retry."""
    return _int(attrs, RETRY_ATTEMPT) or 0


def trial_seed(study_seed: int, number: int, attrs: Attrs) -> int:
    """A trial's Keras seed: the study's seed plus its number, or the original trial's for a retry."""
    seed = _int(attrs, SEED)
    return seed if seed is not None else study_seed + number


def retry_attrs(*, retry_of: int, attempt: int, seed: int, carried: Attrs | None = None) -> dict[str, Any]:
    """The user attributes a retry is enqueued with; ``carried`` (the retried trial's
    attributes) passes on its :data:`CARRIED_BY_RETRY` and :data:`CARRIED_LISTS_BY_RETRY` ones."""
    attrs: dict[str, Any] = {key: value for key in CARRIED_BY_RETRY if (value := _int(carried or {}, key)) is not None}
    attrs |= {key: list(numbers) for key in CARRIED_LISTS_BY_RETRY if (numbers := _numbers(carried or {}, key))}
    return {**attrs, RETRY_OF: retry_of, RETRY_ATTEMPT: attempt, SEED: seed}


def continuation_attrs(*, continues: int, seed: int, bracket: int) -> dict[str, int]:
    """The user attributes a continuation of paused trial ``continues`` is enqueued with."""
    return {CONTINUES: continues, SEED: seed, BRACKET: bracket}


def resumed_from_epoch(attrs: Attrs) -> int | None:
    return _int(attrs, RESUMED_FROM_EPOCH)


def paused_at_epoch(attrs: Attrs) -> int | None:
    return _int(attrs, PAUSED_AT_EPOCH)


def continues(attrs: Attrs) -> int | None:
    return _int(attrs, CONTINUES)


def bracket(attrs: Attrs) -> int:
    return _int(attrs, BRACKET) or 0


def pbt_member(attrs: Attrs) -> int | None:
    return _int(attrs, PBT_MEMBER)


def pbt_generation(attrs: Attrs) -> int:
    return _int(attrs, PBT_GENERATION) or 0


def pbt_parent(attrs: Attrs) -> int | None:
    return _int(attrs, PBT_PARENT)


def epochs_run(attrs: Attrs) -> int:
    return _int(attrs, EPOCHS_RUN) or 0


def n_params(attrs: Attrs) -> int | None:
    return _int(attrs, N_PARAMS)


def best_epoch(attrs: Attrs) -> int | None:
    return _int(attrs, BEST_EPOCH)


def _numbers(attrs: Attrs, key: str) -> list[float]:
    value = attrs.get(key)
    if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return []
    return value


def fold_values(attrs: Attrs) -> list[float]:
    """The finished evaluations' values (``cv``/``repeats``), in plan order; [] for a plain trial."""
    return [float(v) for v in _numbers(attrs, FOLD_VALUES)]


def fold_best_epochs(attrs: Attrs) -> list[int]:
    return [int(v) for v in _numbers(attrs, FOLD_BEST_EPOCHS)]


def fold_epochs(attrs: Attrs) -> list[int]:
    return [int(v) for v in _numbers(attrs, FOLD_EPOCHS)]


def value_se(attrs: Attrs) -> float | None:
    value = attrs.get(VALUE_SE)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def confirms(attrs: Attrs) -> int | None:
    return _int(attrs, CONFIRMS)


def weight_histograms(attrs: Attrs) -> dict[str, Any] | None:
    value = attrs.get(WEIGHT_HISTOGRAMS)
    return value if isinstance(value, dict) and value.get("tensors") else None


def compact(attrs: Attrs) -> dict[str, Any]:
    """The attributes without the bulky ones (histograms, tracebacks)."""
    return {key: value for key, value in attrs.items() if key not in BULKY}
