import pytest

from hpo.errors import StudyScriptError
from hpo.study._script import load_study_script
from tests.conftest import REPO, write_study_script


def test_shipped_study_scripts_load():
    assert load_study_script(REPO / "studies" / "digits_mlp.py").name == "digits_mlp"
    assert load_study_script(REPO / "studies" / "mnist_mlp.py").dataset == "mnist"


def test_a_valid_script_gives_its_spec(tmp_path):
    spec = load_study_script(write_study_script(tmp_path, n_trials=4))
    assert spec.name == "tiny" and spec.n_trials == 4


@pytest.mark.parametrize(
    "source, message",
    [
        ("STUDY = (", "has a syntax error at line 1"),
        ("import nonexistent_module_xyz", "failed at line 1: ModuleNotFoundError"),
        ("x = 1", "must define STUDY = hpo.StudySpec"),
        ("from hpo import StudySpec\nSTUDY = StudySpec(name='a', sampler='nope')", "unknown sampler 'nope'"),
        ("from hpo import StudySpec\nSTUDY = StudySpec(name='a', metric='val_score')",
         "metric 'val_score' is not one hpo knows the direction of; state it: direction="),
    ],
)
def test_broken_scripts_are_one_clear_line(tmp_path, source, message):
    path = tmp_path / "broken.py"
    path.write_text(source)
    with pytest.raises(StudyScriptError, match=message) as caught:
        load_study_script(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_missing_script_is_named(tmp_path):
    with pytest.raises(StudyScriptError, match="does not exist"):
        load_study_script(tmp_path / "nope.py")


def test_an_objective_file_is_stored_absolute_so_resume_finds_it(tmp_path):
    (tmp_path / "my_objective.py").write_text("def suggest(trial): return {}\ndef build(p, s, n): return None\n")
    spec = load_study_script(write_study_script(tmp_path, objective="my_objective.py"))
    assert spec.objective == str(tmp_path / "my_objective.py")


def test_files_named_for_data_sampler_and_pruner_are_stored_absolute_too(tmp_path):
    spec = load_study_script(write_study_script(
        tmp_path, dataset="loader.py:load", sampler="mypkg.samplers:Mine", pruner="extras.py:Patient"))
    assert spec.dataset == f"{tmp_path.resolve()}/loader.py:load"
    assert spec.pruner == f"{tmp_path.resolve()}/extras.py:Patient"
    assert spec.sampler == "mypkg.samplers:Mine"  # a module path is found on sys.path, as it is


def test_the_pbt_example_script_loads_with_its_population():
    from hpo.schedulers import check_scheduler

    spec = load_study_script(REPO / "studies" / "digits_pbt.py")
    assert spec.scheduler == "pbt" and spec.pruner == "none"
    options = check_scheduler(spec.scheduler, spec.scheduler_options, pruner=spec.pruner,
                              max_epochs=spec.max_epochs, n_trials=spec.n_trials)
    assert options["population"] == 8 and options["interval"] == 3


def test_a_scheduler_its_explore_function_and_trackers_of_ones_own_are_stored_absolute(tmp_path):
    spec = load_study_script(write_study_script(
        tmp_path, pruner="none", scheduler="extras.py:Mine", tracking={"extras.py:Lines": "out", "tensorboard": "tb"}))
    assert spec.scheduler == f"{tmp_path.resolve()}/extras.py:Mine"
    assert spec.tracking == {f"{tmp_path.resolve()}/extras.py:Lines": "out", "tensorboard": "tb"}
    pbt = load_study_script(write_study_script(
        tmp_path, pruner="none", scheduler="pbt", n_trials=4, scheduler_options={"explore": "extras.py:wider"}))
    assert pbt.scheduler_options == {"explore": f"{tmp_path.resolve()}/extras.py:wider"}
