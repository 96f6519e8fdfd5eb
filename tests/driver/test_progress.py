"""The start line, the progress line and its clock."""

import datetime

import optuna
from optuna.trial import TrialState, create_trial

from hpo._environment import RUN_CLOCK_ENV
from hpo.driver import _progress as progress
from tests.conftest import quick_spec


def test_the_start_line_names_the_study_its_strategies_and_backend():
    spec = quick_spec(name="s", n_trials=8, workers=2, backend="torch")
    line = progress.start_line(spec, "sqlite:///x.db", 3, is_new=False, keras=True)
    assert line == ("resumed study 's' in sqlite:///x.db: 3/8 finished, sampler random, pruner learning-curve, "
                    "loss (minimize), 2 workers, Keras on torch")
    two = quick_spec(name="s", also_minimize="n_params")
    line = progress.start_line(two, "u", 0, is_new=True, keras=False)
    assert line.startswith("created study 's' in u: 0/5 finished, sampler random, loss (minimize) and n_params")
    assert "no pruning" in line and "Keras" not in line


def _trial(number, state, value=None, **attrs):
    trial = create_trial(state=state, value=value, params={}, distributions={}, user_attrs=attrs,
                         intermediate_values={1: 0.5, 2: 0.4} if state == TrialState.PRUNED else None)
    trial.number = number
    trial.datetime_start = datetime.datetime(2026, 1, 1)
    trial.datetime_complete = trial.datetime_start + datetime.timedelta(seconds=3.1)
    return trial


def test_lines_for_complete_pruned_and_failed_trials():
    printer = progress.ProgressPrinter(30, 14, print)
    printer.best, printer.finished = (0.9806, 14), 15
    complete = printer.format_line(_trial(14, TrialState.COMPLETE, 0.9806))
    assert complete.startswith("[trial   14] COMPLETE  value=0.9806")
    assert "best=0.9806 (#14)" in complete and "3.1s  15/30 done" in complete and "ETA " in complete
    assert "pruned at epoch 2" in printer.format_line(_trial(15, TrialState.PRUNED))
    assert "ValueError: x" in printer.format_line(_trial(16, TrialState.FAIL, fail_reason="ValueError: x"))
    assert " on " not in complete  # the CPU goes without saying
    on_gpu = progress.ProgressPrinter(30, 14, print, device="GPU 1").format_line(_trial(14, TrialState.COMPLETE, 0.5))
    assert on_gpu.endswith("  on GPU 1")


def test_a_worker_started_by_hpo_run_counts_elapsed_time_from_the_runs_start(monkeypatch):
    monkeypatch.setenv(RUN_CLOCK_ENV, "0,3")  # a run that started at the epoch
    printer = progress.ProgressPrinter(10, 7, print)
    assert printer.finished_at_start == 3
    assert "elapsed 0:00" not in printer.format_line(_trial(8, TrialState.COMPLETE, 1.0))
    monkeypatch.setenv(RUN_CLOCK_ENV, progress.run_clock_value(2))
    fresh = progress.ProgressPrinter(10, 2, print)
    assert "elapsed 0:00" in fresh.format_line(_trial(3, TrialState.COMPLETE, 1.0))


def test_the_printer_reads_counts_and_the_best_trial_from_storage():
    study = optuna.create_study(direction="maximize")
    lines = []
    printer = progress.ProgressPrinter(3, 0, lines.append)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2, callbacks=[printer])
    assert printer.finished == 2 and printer.best == (study.best_value, study.best_trial.number)
    assert "2/3 done" in lines[-1]


def test_a_paused_trial_says_where_it_paused_and_an_epoch_budget_shows_its_epochs():
    import datetime

    from optuna.trial import TrialState

    from hpo.driver._progress import ProgressPrinter
    from hpo.storage._queries import FinishedTrial

    printer = ProgressPrinter(10, 0, print, epoch_budget=40)
    printer.epochs = 12
    trial = FinishedTrial(3, TrialState.PRUNED, None, datetime.timedelta(seconds=1), 3, {"paused_at_epoch": 3})
    line = printer.format_line(trial)
    assert "PRUNED    paused at epoch 3 " in line and " 0/10 done  epochs 12/40  elapsed" in line


def test_a_population_study_counts_segments_and_names_the_member():
    import datetime

    from optuna.trial import TrialState

    from hpo.driver._progress import ProgressPrinter
    from hpo.driver._scheduling import scheduler_of
    from hpo.storage._queries import FinishedTrial

    spec = quick_spec(scheduler="pbt", pruner="none", n_trials=4, max_epochs=7, scheduler_options={"interval": 3})
    printer = ProgressPrinter.for_study(spec, 0, print, "CPU", scheduler=scheduler_of(spec))
    trial = FinishedTrial(5, TrialState.PRUNED, None, datetime.timedelta(seconds=1), 6,
                          {"paused_at_epoch": 6, "pbt_member": 2})
    line = printer.format_line(trial)
    assert "member 2 at epoch 6" in line and " 0/12 segments done  elapsed" in line  # 4 members x 3 segments
    assert ProgressPrinter.for_study(quick_spec(n_trials=9), 0, print, "CPU").budget == 9


def test_a_mean_over_folds_shows_its_standard_error_and_a_recheck_says_what_it_rechecks():
    import datetime

    from optuna.trial import TrialState

    from hpo.driver._progress import ProgressPrinter
    from hpo.storage._queries import FinishedTrial

    printer = ProgressPrinter(10, 0, print, rechecks=True)
    trial = FinishedTrial(11, TrialState.COMPLETE, [0.9512], datetime.timedelta(seconds=1), 4,
                          {"value_se": 0.0041, "confirms": 3}, finished_in_study=11)
    line = printer.format_line(trial)
    assert "value=0.9512 ± 0.0041" in line and "re-check of #3" in line and "11/10" not in line


def test_in_a_notebook_the_bar_replaces_the_lines_and_a_notebook_runs_workers_print_none(monkeypatch):
    from hpo._environment import PROGRESS_ENV

    class Bar:
        def __init__(self):
            self.updates = []

        def update(self, **shown):
            self.updates.append(shown)

    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.9, params={}, distributions={}))
    lines, bar = [], Bar()
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    printer = progress.ProgressPrinter(4, 0, lines.append, bar=bar)
    printer(study, study.trials[0])
    assert lines == [] and len(bar.updates) == 1
    shown = bar.updates[0]
    assert (shown["done"], shown["budget"], shown["best"]) == (1, 4, "best=0.9000 (#0)")
    assert shown["last"].startswith("[trial    0] COMPLETE  value=0.9000")
    printer.refresh(study)  # nothing new: no update
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.95, params={}, distributions={}))
    printer.refresh(study)  # a worker process finished one
    assert len(bar.updates) == 2 and bar.updates[-1]["done"] == 2 and bar.updates[-1]["best"] == "best=0.9500 (#1)"
    monkeypatch.setenv(PROGRESS_ENV, "bar")
    progress.ProgressPrinter(4, 0, lines.append)(study, study.trials[1])
    assert lines == []
