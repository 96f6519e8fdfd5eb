"""The budget: counts by state in the database, slots claimed by several processes."""

import math
import os
import subprocess
import sys
import time
from collections import Counter

import optuna
import pytest

from hpo.driver import _budget as budget
from hpo.storage._study_files import StudyFiles
from tests.conftest import REPO, quadratic, quick_spec, run_quick


def test_counting_by_state_in_the_database_agrees_with_optuna(sqlite_url):
    run_quick(quick_spec(n_trials=4), sqlite_url, objective=lambda t: math.nan if t.number == 1 else quadratic(t))
    study = optuna.load_study(study_name="q", storage=sqlite_url)
    study.enqueue_trial({"x": 0.1})
    counts = budget.count_by_state(study)
    assert counts == Counter(t.state for t in study.trials)
    assert counts[optuna.trial.TrialState.WAITING] == 1
    assert budget.count_finished(study) == 4
    assert budget.count_started(study) == 5  # 4 finished and the failed one; not the waiting one


def test_counting_an_in_memory_study_uses_optunas_own_list():
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert budget.count_finished(study) == 2 and budget.count_started(study) == 2


def test_configurations_count_a_configurations_first_trial_not_its_continuations_or_segments():
    study = optuna.create_study()
    attrs = [{}, {"continues": 0}, {}, {"pbt_parent": 2}, {"continues": 1}]
    for user_attrs in attrs:
        trial = study.ask()
        for key, value in user_attrs.items():
            trial.set_user_attr(key, value)
        study.tell(trial, 1.0)
    failed = study.ask()
    study.tell(failed, state=optuna.trial.TrialState.FAIL)
    assert budget.count_configurations(study) == 2 and budget.count_finished(study) == 5
    assert [budget.queued_by_scheduler(t.user_attrs) for t in study.trials[:5]] == [False, True, False, True, True]


def test_a_slot_is_held_until_released_and_refused_once_the_budget_is_met(sqlite_url):
    spec = quick_spec(n_trials=2)
    run_quick(spec.with_overrides(n_trials=1), sqlite_url)
    study = optuna.load_study(study_name="q", storage=sqlite_url)
    files = StudyFiles(sqlite_url, "q")
    slot = files.slot_lock()
    assert budget.claim_slot(study, spec, files, slot, print)
    assert slot._handle is not None  # held until the trial is RUNNING
    slot.release()
    run_quick(spec, sqlite_url)
    assert not budget.claim_slot(study, spec, files, slot, print)
    assert slot._handle is None


_CONCURRENT_WORKER = """
import sys, time
from hpo.driver import _optimize as driver
from hpo.study._spec import StudySpec

time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # start together
def objective(trial):
    x = trial.suggest_float("x", -1.0, 1.0)
    time.sleep(0.05)
    return x * x
spec = StudySpec(name="together", metric="loss", n_trials=20, sampler="random")
outcome = driver.run(spec, storage_url=sys.argv[1], objective=objective, out=lambda line: None)
print(outcome.trials_run)
"""


@pytest.mark.slow
def test_four_processes_starting_on_a_new_sqlite_file_share_the_budget_exactly(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    start_at = str(time.time() + 3.0)
    processes = [
        subprocess.Popen([sys.executable, "-c", _CONCURRENT_WORKER, url, start_at], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, [err for _, err in results]
    assert all("locked" not in err for _, err in results)
    assert sum(int(out) for out, _ in results) == 20
    study = optuna.load_study(study_name="together", storage=url)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 20


@pytest.mark.slow
@pytest.mark.parametrize("server", ["postgres_url", "mariadb_url"])
def test_on_a_database_server_workers_of_three_hosts_starting_at_once_end_with_exactly_the_budget(
        tmp_path, server, request):
    # Separate HPO_HOMEs and HPO_HOSTs: no file lock is shared, only the database's (PostgreSQL's
    # advisory lock, MariaDB's GET_LOCK). All six create the tables and the study on a new
    # database at the same moment, then share the budget.
    server_url = request.getfixturevalue(server)
    start_at = str(time.time() + 4.0)
    processes = [
        subprocess.Popen([sys.executable, "-c", _CONCURRENT_WORKER, server_url, start_at], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "HPO_HOST": f"host-{index // 2}",
                              "HPO_HOME": str(tmp_path / f"host-{index // 2}")})
        for index in range(6)
    ]
    results = [process.communicate(timeout=180) for process in processes]
    assert [process.returncode for process in processes] == [0] * 6, [err for _, err in results]
    assert sum(int(out) for out, _ in results) == 20
    study = optuna.load_study(study_name="together", storage=server_url)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 20  # none beyond the budget


@pytest.mark.slow
@pytest.mark.parametrize("server", ["postgres_url", "mariadb_url"])
def test_the_database_lock_excludes_a_second_holder_until_released(server, request):
    import threading

    server_url = request.getfixturevalue(server)
    study = optuna.create_study(study_name="locked", storage=server_url)
    first = budget.slot_lock(study, StudyFiles(server_url, "locked"))
    second = budget.slot_lock(study, StudyFiles(server_url, "locked"))
    assert isinstance(first, budget.DatabaseLock)
    first.acquire()
    first.acquire()  # held already: a no-op
    taken = threading.Event()
    waiter = threading.Thread(target=lambda: (second.acquire(), taken.set()))
    waiter.start()
    assert not taken.wait(0.5)  # blocked while the first holds it
    first.release()
    first.release()  # idempotent
    assert taken.wait(10)
    second.release()
    waiter.join()


def test_the_epoch_ledger_grants_exactly_the_budget_to_trials_asking_in_turn(sqlite_url):
    study = optuna.create_study(study_name="q", storage=sqlite_url)
    files = StudyFiles(sqlite_url, "q")
    ledger = budget.EpochLedger(study, 7, budget.slot_lock(study, files))
    first, second = study.ask(), study.ask()
    grants = [ledger.grants(first), ledger.grants(second)]
    granted = [grant() for _ in range(6) for grant in grants]
    assert sum(granted) == 7 and granted[:4] == [True] * 4 and not any(granted[7:])
    assert sorted(t.user_attrs["epochs_run"] for t in study.trials) == [3, 4]
    spec = quick_spec(epoch_budget=7, n_trials=100)
    assert budget.budget_state(study, spec) == budget.BudgetState(False, False, 2)  # they may still end
    study.tell(first, 1.0)
    study.tell(second, 2.0)
    assert budget.budget_state(study, spec).done


def test_a_started_trial_holds_its_first_epoch_so_the_last_one_is_never_given_twice(sqlite_url):
    study = optuna.create_study(study_name="q", storage=sqlite_url)
    spec = quick_spec(epoch_budget=1, n_trials=100)
    assert budget.budget_state(study, spec).may_start
    study.ask()  # RUNNING, not granted anything yet
    assert not budget.budget_state(study, spec).may_start


def _add(study, number_state, curve, **attrs):
    from optuna.distributions import FloatDistribution
    from optuna.trial import create_trial

    study.add_trial(create_trial(
        state=number_state, params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)},
        value=curve[-1] if number_state.name == "COMPLETE" else None, user_attrs=attrs,
        intermediate_values=dict(enumerate(curve, start=1))))


def test_with_a_scheduler_n_trials_counts_configurations_and_paused_ones_are_promoted_first(sqlite_url):
    from optuna.trial import TrialState

    from hpo.driver._scheduling import scheduler_of

    study = optuna.create_study(study_name="q", storage=sqlite_url, direction="maximize")
    spec = quick_spec(metric="val_accuracy", n_trials=3, scheduler="asha", pruner="none", max_epochs=3)
    scheduler = scheduler_of(spec)
    for value in (0.2, 0.9, 0.5):
        _add(study, TrialState.PRUNED, [value], paused_at_epoch=1)
    state = budget.budget_state(study, spec, scheduler)
    assert state.may_start and state.promotion is not None and state.promotion.source.number == 1
    _add(study, TrialState.COMPLETE, [0.9, 0.95, 0.97], continues=1)  # its continuation, done
    state = budget.budget_state(study, spec, scheduler)
    assert not state.may_start and state.done  # 3 configurations, none left to promote
    assert budget.budget_state(study, spec.with_overrides(n_trials=4), scheduler).may_start  # a new one


def test_a_population_is_drawn_then_decided_segment_by_segment_then_done(sqlite_url):
    from optuna.trial import TrialState

    from hpo.driver._scheduling import promote, scheduler_of

    study = optuna.create_study(study_name="q", storage=sqlite_url)
    spec = quick_spec(n_trials=2, scheduler="pbt", pruner="none", max_epochs=4,
                      scheduler_options={"interval": 2, "mutable": ["x"]})
    scheduler = scheduler_of(spec)
    _add(study, TrialState.PRUNED, [0.5, 0.4], pbt_member=0, pbt_generation=0, paused_at_epoch=2)
    state = budget.budget_state(study, spec, scheduler)
    assert state.may_start and state.promotion is None  # the second member first
    _add(study, TrialState.PRUNED, [0.5, 0.3], pbt_member=1, pbt_generation=0, paused_at_epoch=2)
    state = budget.budget_state(study, spec, scheduler)
    assert state.promotion is not None and state.promotion.attrs["pbt_member"] == 0
    promote(study, spec, state.promotion)
    assert budget.budget_state(study, spec, scheduler).may_start  # the queued segment
    study.tell(study.ask(), 0.2)  # it ran to max_epochs (a stand-in: member 0's last segment)
    state = budget.budget_state(study, spec, scheduler)
    assert state.promotion is not None and state.promotion.attrs["pbt_member"] == 1
    _add(study, TrialState.COMPLETE, [0.5, 0.3, 0.2, 0.1], pbt_member=1, pbt_generation=1, pbt_parent=1)
    state = budget.budget_state(study, spec, scheduler)
    assert not state.may_start and state.done
