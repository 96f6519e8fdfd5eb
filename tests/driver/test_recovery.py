"""Dead workers' trials: failed with a reason, retried from their checkpoint; checkpoint sweep."""

import socket
import subprocess
import sys

import optuna
import pytest

from hpo.driver import _recovery as recovery
from hpo.storage._database import open_storage
from hpo.storage._study_files import StudyFiles
from tests.conftest import quick_spec, run_quick


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")  # ask() outside optimize
def test_trials_of_a_dead_process_on_this_host_are_failed_with_a_reason_and_retried(sqlite_url):
    spec = quick_spec(seed=7)
    run_quick(spec.with_overrides(n_trials=1), sqlite_url)
    study = optuna.load_study(study_name="q", storage=open_storage(sqlite_url))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = study.ask()
    orphan.suggest_float("x", -1, 1)
    alive = study.ask()
    # What a killed worker leaves behind: a marker naming its (now dead) process.
    files = StudyFiles(sqlite_url, "q")
    (files.root / "running").mkdir(parents=True, exist_ok=True)
    (files.root / "running" / str(orphan._trial_id)).write_text(f"{socket.gethostname()}:{int(dead.stdout)}")
    files.mark_running(alive._trial_id)  # this (live) process
    lines = []

    recovery.recover_dead_trials(study, spec, files, lines.append)

    trials = study.trials
    assert trials[orphan.number].state.name == "FAIL"
    assert "died while running this trial" in trials[orphan.number].user_attrs["fail_reason"]
    assert trials[alive.number].state.name == "RUNNING"  # its worker (this process) is alive
    retry = trials[-1]
    assert retry.state.name == "WAITING" and retry.system_attrs["fixed_params"] == orphan.params
    assert retry.user_attrs == {"retry_of": orphan.number, "retry_attempt": 1, "seed": 7 + orphan.number}
    assert sorted(files.running_workers()) == [alive._trial_id]  # the orphan's marker is gone
    assert lines == [f"[trial {orphan.number:>4}] FAIL      {trials[orphan.number].user_attrs['fail_reason']}; "
                     "retry queued from epoch 1 (no checkpoint)"]


def test_a_trial_is_retried_a_bounded_number_of_times(sqlite_url):
    study = optuna.create_study(storage=sqlite_url)
    files = StudyFiles(sqlite_url, "q")
    files.checkpoint(4).directory.mkdir(parents=True)
    message = recovery.queue_retry(study, number=4, params={"x": 0.5}, user_attrs={"retry_attempt": 2},
                                   study_seed=0, max_retries=2, files=files)
    assert message == "not retried: its trial was already retried 2 times"
    assert study.trials == [] and not files.checkpoint(4).directory.exists()
    recovery.queue_retry(study, number=4, params={"x": 0.5}, user_attrs={"retry_attempt": 1, "seed": 3},
                         study_seed=0, max_retries=2, files=files)
    assert study.trials[0].user_attrs == {"retry_of": 4, "retry_attempt": 2, "seed": 3}


def test_the_sweep_keeps_only_checkpoints_a_running_trial_or_a_queued_retry_needs(sqlite_url):
    study = optuna.create_study(storage=sqlite_url, study_name="q")
    files = StudyFiles(sqlite_url, "q")
    finished = study.ask()
    study.tell(finished, 1.0)
    running = study.ask()
    study.enqueue_trial({}, user_attrs={"retry_of": 7})
    for number in (finished.number, running.number, 7, 9):
        files.checkpoint(number).directory.mkdir(parents=True)

    recovery.sweep_checkpoints(study, files)

    assert files.checkpointed_trials() == sorted([running.number, 7])


def test_a_retry_carries_the_continuation_link_and_the_bracket(sqlite_url):
    study = optuna.create_study(storage=sqlite_url)
    files = StudyFiles(sqlite_url, "q")
    recovery.queue_retry(study, number=4, params={"x": 0.5}, user_attrs={"continues": 2, "bracket": 1, "seed": 3,
                                                                          "paused_at_epoch": 9},
                         study_seed=0, max_retries=2, files=files)
    assert study.trials[0].user_attrs == {"continues": 2, "bracket": 1, "retry_of": 4, "retry_attempt": 1, "seed": 3}


def test_a_dead_trial_is_charged_the_epochs_its_checkpoint_holds_less_those_it_took_over(sqlite_url):
    from optuna.trial import create_trial

    files = StudyFiles(sqlite_url, "q")
    files.checkpoint(0).save(epochs_done=7, curve=[0.1] * 7, best_epoch=1, wait=0, model_weights=[],
                             optimizer_variables=[], best_weights=None)
    dead = create_trial(state=optuna.trial.TrialState.FAIL, intermediate_values={s: 0.1 for s in range(1, 7)},
                        user_attrs={"resumed_from_epoch": 4})
    dead.number = 0
    assert recovery._epochs_finished(files, dead) == 4  # epochs 4..7
    files.checkpoint(0).remove()
    assert recovery._epochs_finished(files, dead) == 3  # no checkpoint here: what it reported


@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")  # ask() outside optimize
def test_a_trial_finished_elsewhere_while_its_worker_was_cut_off_is_dropped_with_one_line(sqlite_url):
    from optuna.trial import TrialState

    study = optuna.create_study(study_name="q", storage=open_storage(sqlite_url))
    trial = study.ask()
    lines = []
    assert not recovery.taken_over(study, trial._trial_id, lines.append)  # still this worker's
    study._storage.set_trial_user_attr(trial._trial_id, "fail_reason", "worker on another host stopped sending heartbeats")
    study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)  # by the worker that recovered it
    assert recovery.taken_over(study, trial._trial_id, lines.append)
    assert lines == ["[trial    0] DROPPED   finished by another worker while this one was cut off (worker on "
                     "another host stopped sending heartbeats); its retry goes on, what was trained here is dropped"]
