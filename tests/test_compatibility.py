"""A study stored by hpo 0.1.0 (before the subpackages) resumes, shows, reports and retrains.

The database is ``tests/fixtures/release_0_1_0.sql``, the SQL dump of the SQLite file that
release wrote (``make_release_study.py`` there), kept as text so git holds no database:
its stored spec names the objective, sampler and pruner by the paths of that release
(``hpo.objectives.mlp``, ``hpo.pruners:LearningCurvePruner``), which must keep working.
"""

import contextlib
import json
import os
import sqlite3
import subprocess

import optuna
import pytest

from tests.conftest import REPO, hpo_command

FIXTURE = REPO / "tests" / "fixtures" / "release_0_1_0.sql"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def release_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("release") / "hpo-runs"
    home.mkdir()
    with contextlib.closing(sqlite3.connect(home / "hpo.db")) as database:  # the release's file, rebuilt
        database.executescript(FIXTURE.read_text())
    return home


def _hpo(home, *args):
    result = subprocess.run(hpo_command(*args), capture_output=True, text=True, timeout=300, cwd=REPO,
                            env={**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _finished(home, name):
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{home / 'hpo.db'}")
    return sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials)


def test_the_release_study_shows_and_reports(release_home):
    info = json.loads(_hpo(release_home, "show", "release_paths", "--json"))
    assert info["settings"]["objective"] == "hpo.objectives.mlp"
    assert info["settings"]["pruner"] == "hpo.pruners:LearningCurvePruner"
    assert "units_0" in info["best"]["params"]
    assert "best trial" in _hpo(release_home, "show", "release_builtin")
    out = release_home / "report"
    _hpo(release_home, "report", "release_paths", "--out", str(out))
    assert "release_paths" in (out / "report.html").read_text()


@pytest.mark.parametrize("name", ["release_builtin", "release_paths"])
def test_the_release_study_resumes_with_its_stored_paths(release_home, name):
    assert _finished(release_home, name) == 2
    output = _hpo(release_home, "resume", name, "--n-trials", "3")
    assert f"resumed study '{name}'" in output
    assert _finished(release_home, name) == 3


def test_the_release_study_retrains_its_best_model(release_home):
    output = _hpo(release_home, "best", "release_builtin")
    assert "test accuracy:" in output
    assert (release_home / "models" / "release_builtin" / "best.keras").is_file()
