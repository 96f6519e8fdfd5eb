"""The ``hpo`` command, end to end, through subprocesses (real training on tiny data)."""

import json
import os
import subprocess
import sys
import threading
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

import optuna
import pytest

from tests.conftest import REPO, hpo_command, write_study_script


def run_hpo(*args, env=None, cwd=None, timeout=300):
    return subprocess.run(
        hpo_command(*args), capture_output=True, text=True, timeout=timeout, cwd=cwd or REPO,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
def test_help_is_fast_and_imports_neither_tensorflow_nor_keras():
    code = (
        "import sys, time; t = time.perf_counter(); from hpo.cli import build_parser; "
        "build_parser().format_help(); print(time.perf_counter() - t); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'optuna', 'sqlalchemy', 'plotly') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, modules = result.stdout.splitlines()
    assert modules == "[]"
    assert float(seconds) < 0.5
    help_text = run_hpo("--help").stdout
    for command in ("run", "resume", "ls", "show", "best"):
        assert command in help_text


@pytest.fixture(scope="module")
def trained_study(tmp_path_factory):
    """One tiny study, trained once by `hpo run`, shared by the read-only tests below."""
    directory = tmp_path_factory.mktemp("cli")
    script = write_study_script(directory, n_trials=3, max_epochs=4)
    env = {"HPO_HOME": str(directory / "hpo-runs"), "HPO_STORAGE": ""}
    result = run_hpo("run", str(script), env=env)
    assert result.returncode == 0, result.stderr
    return {"script": script, "env": env, "dir": directory, "output": result.stdout,
            "url": f"sqlite:///{directory / 'hpo-runs' / 'hpo.db'}"}


@pytest.mark.slow
def test_run_prints_a_line_per_trial_and_the_best_result(trained_study):
    output = trained_study["output"]
    assert output.count("[trial ") == 3
    assert "best val_accuracy:" in output and "best params:" in output
    assert f"stored in {trained_study['url']} as study 'tiny'" in output
    study = optuna.load_study(study_name="tiny", storage=trained_study["url"])
    first = study.trials[0]
    assert first.params["units_0"] == 128 and first.params["learning_rate"] == 1e-3  # seed defaults first
    assert first.user_attrs["n_params"] == (64 + 1) * 128 + (128 + 1) * 10
    assert sorted(first.intermediate_values) == list(range(1, len(first.intermediate_values) + 1))


@pytest.mark.slow
def test_rerun_of_a_finished_study_adds_no_trial(trained_study):
    result = run_hpo("run", str(trained_study["script"]), env=trained_study["env"])
    assert result.returncode == 0 and "nothing to run" in result.stdout
    assert len(optuna.load_study(study_name="tiny", storage=trained_study["url"]).trials) == 3


@pytest.mark.slow
def test_ls_and_show_in_text_and_json(trained_study):
    env = trained_study["env"]
    rows = json.loads(run_hpo("ls", "--json", env=env).stdout)
    assert [row["name"] for row in rows] == ["tiny"]
    assert rows[0]["states"]["COMPLETE"] + rows[0]["states"]["PRUNED"] == 3
    assert "tiny" in run_hpo("ls", env=env).stdout
    info = json.loads(run_hpo("show", "tiny", "--json", env=env).stdout)
    assert info["settings"]["n_trials"] == 3 and "units_0" in info["best"]["params"]
    assert "best trial" in run_hpo("show", "tiny", env=env).stdout


@pytest.mark.slow
def test_stored_study_is_readable_by_optuna_cli_and_dashboard(trained_study):
    optuna_cli = os.path.join(os.path.dirname(sys.executable), "optuna")
    listed = subprocess.run([optuna_cli, "studies", "--storage", trained_study["url"], "-f", "json"],
                            capture_output=True, text=True, check=True)
    assert json.loads(listed.stdout)[0]["name"] == "tiny"
    trials = subprocess.run([optuna_cli, "trials", "--storage", trained_study["url"], "--study-name", "tiny",
                             "-f", "json"], capture_output=True, text=True, check=True)
    assert len(json.loads(trials.stdout)) == 3

    import optuna_dashboard

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, optuna_dashboard.wsgi(trained_study["url"]), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        studies = json.load(urllib.request.urlopen(f"{base}/api/studies", timeout=30))["study_summaries"]
        study_id = studies[0]["study_id"]
        detail = json.load(urllib.request.urlopen(f"{base}/api/studies/{study_id}?after=0", timeout=30))
        curves = [trial["intermediate_values"] for trial in detail["trials"]]
        assert all(len(curve) >= 1 for curve in curves)
        assert curves[0][0]["step"] == 1
    finally:
        server.shutdown()


@pytest.mark.slow
def test_resume_and_direct_script_run_top_up_and_best_uses_the_test_set_once(trained_study):
    env = trained_study["env"]
    resumed = run_hpo("resume", "tiny", "--n-trials", "4", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed study 'tiny'" in resumed.stdout and "n_trials 3 -> 4" in resumed.stdout
    direct = subprocess.run([sys.executable, str(trained_study["script"]), "--n-trials", "5"],
                            capture_output=True, text=True, env={**os.environ, **env}, cwd=REPO, timeout=300)
    assert direct.returncode == 0, direct.stderr
    assert "5/5" in direct.stdout
    study = optuna.load_study(study_name="tiny", storage=trained_study["url"])
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials) == 5

    best = run_hpo("best", "tiny", env=env)
    assert best.returncode == 0, best.stderr
    assert "test accuracy:" in best.stdout
    model_path = trained_study["dir"] / "hpo-runs" / "models" / "tiny" / "best.keras"
    assert model_path.is_file()
    evaluation = optuna.load_study(study_name="tiny", storage=trained_study["url"]).user_attrs["hpo_test_evaluation"]
    assert 0.5 < evaluation["test_accuracy"] <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda d: ["run", str(_broken(d))], "has a syntax error at line 1"),
        (lambda d: ["run", str(write_study_script(d)), "--sampler", "anneal"], "unknown sampler 'anneal'"),
        (lambda d: ["run", str(write_study_script(d)), "--pruner", "never"], "unknown pruner 'never'"),
        (lambda d: ["run", str(write_study_script(d)), "--storage", f"sqlite:///{_corrupt(d)}"], "corrupt or non-SQLite"),
        (lambda d: ["run", str(write_study_script(d)), "--storage", "postgresql://u:hunter2@127.0.0.1:1/x"],
         "cannot open storage postgresql://u:***@127.0.0.1:1/x"),
        (lambda d: ["run", str(write_study_script(d)), "--mlflow", "http://127.0.0.1:1"],
         "MLflow tracking server http://127.0.0.1:1 is unreachable"),
        (lambda d: ["show", "missing", "--storage", f"sqlite:///{d / 'none.db'}"], "no study storage at"),
        (lambda d: ["resume", "missing", "--storage", f"sqlite:///{_empty_study_db(d)}"], "no study named 'missing'"),
    ],
)
def test_setup_errors_are_one_line_with_exit_code_2(tmp_path, make_args, message):
    args = make_args(tmp_path)
    result = run_hpo(*args, env={"HPO_HOME": str(tmp_path / "runs")})
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpo: error: ") and message in lines[0]
    assert "hunter2" not in result.stdout + result.stderr
    if "--mlflow" in args:  # stopped before anything was stored
        assert not (tmp_path / "runs" / "hpo.db").exists()


def _broken(directory):
    path = directory / "broken.py"
    path.write_text("STUDY = (")
    return path


def _corrupt(directory):
    path = directory / "corrupt.db"
    path.write_bytes(b"garbage" * 1000)
    return path


def _empty_study_db(directory):
    path = directory / "other.db"
    optuna.create_study(study_name="other", storage=f"sqlite:///{path}")
    return path


def test_every_overridable_setting_has_one_flag_and_booleans_are_tri_state():
    from hpo.cli import _overrides, build_parser
    from hpo.study._spec import StudySpec, cli_settings

    parser = build_parser()
    args = parser.parse_args(["resume", "s", "--no-deterministic", "--n-trials", "9", "--sampler", "pkg.mod:Mine"])
    overrides = _overrides(args)
    assert set(overrides) == {name for name, _ in cli_settings()} | {"name"}
    assert overrides["deterministic"] is False and overrides["n_trials"] == 9
    assert overrides["sampler"] == "pkg.mod:Mine" and overrides["seed"] is None
    stored = StudySpec(name="s", deterministic=True)
    assert stored.with_overrides(**overrides).deterministic is False  # a stored True can be switched off
    assert _overrides(parser.parse_args(["resume", "s"]))["deterministic"] is None  # not given: as stored
    assert _overrides(parser.parse_args(["run", "x.py", "--deterministic", "--study-name", "t"])) == {
        **{name: None for name, _ in cli_settings()}, "deterministic": True, "name": "t"}


def test_tracking_flags_reach_this_process_and_its_workers_as_variables(monkeypatch):
    from hpo._environment import MLFLOW_ENV, TENSORBOARD_ENV
    from hpo.cli import _overrides, build_parser

    monkeypatch.setenv(MLFLOW_ENV, "http://from-variable:5000")
    monkeypatch.setenv(TENSORBOARD_ENV, "")  # (delenv of an unset variable would not undo what the flag sets)
    _overrides(build_parser().parse_args(["run", "x.py", "--tensorboard", "tb-dir"]))
    assert os.environ[TENSORBOARD_ENV] == "tb-dir" and os.environ[MLFLOW_ENV] == "http://from-variable:5000"
    _overrides(build_parser().parse_args(["resume", "s", "--mlflow", "http://from-flag:5000"]))
    assert os.environ[MLFLOW_ENV] == "http://from-flag:5000"
    assert build_parser().parse_args(["worker", "s", "--mlflow", "u", "--tensorboard", "d"]).mlflow == "u"
