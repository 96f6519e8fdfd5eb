"""The lineage and schedule views of a stored PBT study (written with create_trial, no training)."""

import dataclasses

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from hpo.report import _population_views as population_views
from hpo.report._display import DisplayCopy
from hpo.report._figures import FigureBuilder
from hpo.report._snapshot import take_snapshot
from tests.report.studies import make_study


def _population(url):
    """Two members, two segments each (interval 2): member 1 copied member 0 at epoch 2."""
    study = optuna.create_study(study_name="pbt", storage=url)
    study.set_user_attr("hpo_spec", {"metric": "val_loss", "sampler": "random", "pruner": "none",
                                     "scheduler": "pbt", "objective": "mlp", "dataset": "digits", "n_trials": 2})
    lr = {"learning_rate": FloatDistribution(1e-4, 1e-1, log=True)}

    def add(state, rate, curve, **attrs):
        study.add_trial(create_trial(state=state, params={"learning_rate": rate}, distributions=lr,
                                     value=min(curve) if state == TrialState.COMPLETE else None,
                                     intermediate_values=dict(enumerate(curve, start=1)), user_attrs=attrs))

    add(TrialState.PRUNED, 0.01, [0.9, 0.5], pbt_member=0, pbt_generation=0, paused_at_epoch=2)
    add(TrialState.PRUNED, 0.001, [1.2, 1.0], pbt_member=1, pbt_generation=0, paused_at_epoch=2)
    add(TrialState.COMPLETE, 0.01, [0.9, 0.5, 0.4, 0.3], pbt_member=0, pbt_generation=1, pbt_parent=0,
        resumed_from_epoch=3)
    add(TrialState.COMPLETE, 0.012, [0.9, 0.5, 0.45, 0.35], pbt_member=1, pbt_generation=1, pbt_parent=0,
        resumed_from_epoch=3)
    return take_snapshot(url, "pbt")


def test_the_lineage_draws_each_segment_from_where_it_started_and_marks_the_exploit(sqlite_url):
    snapshot = _population(sqlite_url)
    assert population_views.is_population(snapshot)
    section = population_views.lineage_section(snapshot, "val_loss")
    traces = section.figure.data
    assert len(traces) == 4
    exploit = [t for t in traces if t.line.dash == "dash"]
    assert len(exploit) == 1 and list(exploit[0].x) == [2, 3, 4] and list(exploit[0].y) == [0.5, 0.45, 0.35]
    assert "copied member 0 (trial 0)" in exploit[0].hovertext


def test_the_schedule_draws_the_parameters_that_changed_per_member(sqlite_url):
    section = population_views.schedule_section(_population(sqlite_url))
    assert [a.text for a in section.figure.layout.annotations] == ["learning_rate"]
    member_1 = [t for t in section.figure.data if t.name == "member 1"][0]
    assert list(member_1.x) == [1, 2, 3, 4] and list(member_1.y) == [0.001, 0.001, 0.012, 0.012]
    assert section.figure.layout.yaxis.type == "log"  # the learning rate is sampled on a log scale


def test_the_schedule_draws_only_the_mutable_parameters_of_an_hpo_study(sqlite_url):
    import copy

    snapshot = _population(sqlite_url)
    trials = copy.deepcopy(list(snapshot.trials))
    for trial in trials:  # member 1's second segment took member 0's width with its checkpoint
        trial.params = {**trial.params, "units_0": 64 if trial.number == 3 else 32}
    widened = dataclasses.replace(snapshot, trials=tuple(trials))
    titles = lambda s: [a.text for a in population_views.schedule_section(s).figure.layout.annotations]  # noqa: E731
    assert titles(widened) == ["learning_rate"]  # hpo's default mutable parameter
    with_units = dataclasses.replace(widened, settings={**widened.settings, "scheduler_options": {"mutable": ["units_0"]}})
    assert titles(with_units) == ["units_0"]
    assert titles(dataclasses.replace(widened, settings=None)) == ["learning_rate", "units_0"]  # not hpo's: all


def test_the_report_of_a_population_study_has_both_views_and_others_have_neither(sqlite_url):
    snapshot = _population(sqlite_url)
    keys = [s.key for s in FigureBuilder(snapshot, DisplayCopy(snapshot)).sections()]
    assert keys.index("lineage") == keys.index("curves") + 1 and "schedule" in keys
    make_study(sqlite_url)
    other = take_snapshot(sqlite_url, "mixed")
    assert not {"lineage", "schedule"} & {s.key for s in FigureBuilder(other, DisplayCopy(other)).sections()}
