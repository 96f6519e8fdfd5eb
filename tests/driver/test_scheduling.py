"""A promotion in storage: the continuation queued, the paused trial linked, checkpoints kept."""

import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from hpo.driver import scheduling
from hpo.schedulers.chains import chains
from hpo.storage.database import open_storage
from hpo.storage.study_files import StudyFiles
from tests.conftest import quick_spec


def _paused(study, epochs, **attrs):
    study.add_trial(create_trial(
        state=TrialState.PRUNED, params={"x": 0.25}, distributions={"x": FloatDistribution(0, 1)},
        intermediate_values={step: 0.1 * step for step in range(1, epochs + 1)},
        user_attrs={"paused_at_epoch": epochs, **attrs}))
    return study.trials[-1]


def test_a_promotion_queues_a_continuation_and_links_the_finished_paused_trial_to_it(sqlite_url):
    study = optuna.create_study(study_name="q", storage=open_storage(sqlite_url))
    paused = _paused(study, 3, seed=11, bracket=1)
    number = scheduling.promote(study, quick_spec(seed=4), chains(study.trials)[0])

    waiting = study.trials[number]
    assert waiting.state == TrialState.WAITING and waiting.system_attrs["fixed_params"] == {"x": 0.25}
    assert waiting.user_attrs == {"continues": paused.number, "seed": 11, "bracket": 1}
    # Any Optuna tool reading the study afresh sees the link on the finished trial.
    fresh = optuna.load_study(study_name="q", storage=sqlite_url)
    assert fresh.trials[paused.number].user_attrs["promoted_to"] == number
    assert fresh.trials[paused.number].state == TrialState.PRUNED


def test_paused_checkpoints_are_kept_until_the_study_ends_then_released(sqlite_url):
    study = optuna.create_study(study_name="q", storage=open_storage(sqlite_url))
    files = StudyFiles(sqlite_url, "q")
    first, second = _paused(study, 1), _paused(study, 1)
    for trial in (first, second):
        files.checkpoint(trial.number).save(epochs_done=1, curve=[0.1], best_epoch=1, wait=0, model_weights=[],
                                            optimizer_variables=[], best_weights=None)
    assert scheduling.paused_checkpoints(study) == [0, 1]
    assert scheduling.resumable(files, 0) and not scheduling.resumable(files, 5)
    scheduling.promote(study, quick_spec(), chains(study.trials)[0])
    assert scheduling.paused_checkpoints(study) == [1]  # 0 is being continued: its continuation's now
    assert scheduling.release_paused(study, files) == 1
    assert not files.checkpoint(1).exists() and files.checkpoint(0).exists()


def test_the_scheduler_of_a_spec():
    assert scheduling.scheduler_of(quick_spec()) is None
    scheduler = scheduling.scheduler_of(quick_spec(scheduler="asha", pruner="none", max_epochs=9,
                                                   scheduler_options={"min_epochs": 1}))
    assert scheduler is not None and scheduler.rungs() == (1, 3) and scheduler.direction == "minimize"


def test_the_checkpoint_peak_only_rises(sqlite_url):
    study = optuna.create_study(study_name="q", storage=open_storage(sqlite_url))
    files = StudyFiles(sqlite_url, "q")
    files.checkpoint(0).save(epochs_done=1, curve=[0.1], best_epoch=1, wait=0, model_weights=[np.zeros(1000)],
                             optimizer_variables=[], best_weights=None)
    scheduling.note_checkpoint_peak(study, files)
    peak = study.user_attrs["hpo_checkpoint_peak_bytes"]
    assert peak == files.checkpoint_bytes() > 8000
    files.checkpoint(0).remove()
    scheduling.note_checkpoint_peak(study, files)
    assert study.user_attrs["hpo_checkpoint_peak_bytes"] == peak
