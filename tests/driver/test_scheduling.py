"""A promotion in storage: the continuation queued, the paused trial linked, checkpoints kept."""

import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from hpo.driver import _scheduling as scheduling
from hpo.schedulers import NextTrial
from hpo.schedulers._chains import chains
from hpo.schedulers._promotion import PromotionScheduler
from hpo.storage._database import open_storage
from hpo.storage._study_files import StudyFiles
from tests.conftest import quick_spec


def _promotion(study):
    """The continuation ASHA would queue for the study's first chain."""
    head = chains(study.trials)[0].head
    return NextTrial(source=head, params=dict(head.params), promoted=True,
                     attrs={"continues": head.number, "bracket": head.user_attrs.get("bracket", 0)})


def _paused(study, epochs, **attrs):
    study.add_trial(create_trial(
        state=TrialState.PRUNED, params={"x": 0.25}, distributions={"x": FloatDistribution(0, 1)},
        intermediate_values={step: 0.1 * step for step in range(1, epochs + 1)},
        user_attrs={"paused_at_epoch": epochs, **attrs}))
    return study.trials[-1]


def test_a_promotion_queues_a_continuation_and_links_the_finished_paused_trial_to_it(sqlite_url):
    study = optuna.create_study(study_name="q", storage=open_storage(sqlite_url))
    paused = _paused(study, 3, seed=11, bracket=1)
    number = scheduling.promote(study, quick_spec(seed=4), _promotion(study))

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
    scheduling.promote(study, quick_spec(), _promotion(study))
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


def test_asha_asks_for_the_continuation_of_its_promoted_chain(sqlite_url):
    study = optuna.create_study(study_name="q", storage=open_storage(sqlite_url), direction="maximize")
    for _ in range(3):
        _paused(study, 1, bracket=0)
    asha = PromotionScheduler(reduction_factor=3, min_epochs=1, max_epochs=3, direction="maximize")
    chosen = asha.next_trial(study.trials)
    assert chosen == _promotion(study)  # all tie at 0.1: the first root


def test_a_population_segment_is_queued_with_its_parameters_and_old_segments_released(sqlite_url):
    study = optuna.create_study(study_name="q", storage=open_storage(sqlite_url))
    files = StudyFiles(sqlite_url, "q")
    spec = quick_spec(scheduler="pbt", pruner="none", n_trials=2, max_epochs=4,
                      scheduler_options={"interval": 2, "mutable": ["x"]})
    scheduler = scheduling.scheduler_of(spec)
    for member in range(2):
        _paused(study, 2, pbt_member=member, pbt_generation=0, seed=20 + member)
        files.checkpoint(member).save(epochs_done=2, curve=[0.1, 0.2], best_epoch=1, wait=1, model_weights=[],
                                      optimizer_variables=[], best_weights=None)
    chosen = scheduler.next_trial(study.trials)
    number = scheduling.promote(study, spec, chosen)
    queued = study.trials[number]
    assert queued.state == TrialState.WAITING
    assert queued.user_attrs == {**chosen.attrs, "seed": chosen.source.user_attrs["seed"]}
    assert "promoted_to" not in study.trials[chosen.source.number].user_attrs
    scheduling.release_copied(study, scheduler, files)
    assert files.checkpoint(0).exists() and files.checkpoint(1).exists()  # member 1 still decides at 2
