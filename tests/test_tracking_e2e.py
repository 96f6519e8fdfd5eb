"""`hpo run --tensorboard DIR --mlflow URL` on real servers, with worker processes and on every
Keras backend: what TensorBoard's HTTP API and the MLflow server hold afterwards."""

import json
import os
import subprocess
import urllib.request

import optuna
import pytest

from tests.conftest import REPO, hpo_command, write_study_script
from tests.tracking.test_tensorboard import _session_groups, _until

pytestmark = pytest.mark.slow

# The built-in MLP, with a callback that records whether TensorFlow is imported in the process
# that trains (torch and JAX workers must not import it, tracking included).
WATCHED_MLP = '''import os
import sys

import keras

from hpo.objectives.mlp import DEFAULT_PARAMS, build, param_count, suggest  # noqa: F401


class Watch(keras.callbacks.Callback):
    def on_train_end(self, logs=None):
        with open(os.environ["HPO_TEST_MODULES"], "a") as out:
            out.write(f"{'tensorflow' in sys.modules}\\n")


def callbacks(params):
    return [Watch()]
'''


def _run(tmp_path, script, *args):
    env = {**os.environ, "HPO_HOME": str(tmp_path / "home"), "HPO_STORAGE": "", "HPO_TEST_MODULES": str(tmp_path / "tf")}
    done = subprocess.run(hpo_command("run", str(script), *args), cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=400)
    assert done.returncode == 0, done.stderr
    return done.stdout, optuna.load_study(study_name=script.stem, storage=f"sqlite:///{tmp_path / 'home' / 'hpo.db'}")


def _mlflow_runs(url, name):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url)
    experiment = client.get_experiment_by_name(name)
    runs = client.search_runs([experiment.experiment_id])
    [parent] = [run for run in runs if "hpo.study_uid" in run.data.tags]
    return client, parent, {run.data.tags["hpo.trial"]: run for run in runs if run is not parent}


def test_two_workers_track_every_trial_to_tensorboard_and_mlflow(tmp_path, mlflow_server, tensorboard_server):
    url, logdir = tensorboard_server
    script = write_study_script(tmp_path, name="tracked", n_trials=3, max_epochs=2, patience=2, pruner="none", workers=2)
    stdout, study = _run(tmp_path, script, "--tensorboard", str(logdir), "--mlflow", mlflow_server)
    assert stdout.count("tracking: MLflow run http://127.0.0.1:") == 1
    assert stdout.count(f"tracking: TensorBoard runs in {logdir / 'tracked'}") == 1
    assert "View run" not in stdout  # MLflow's own lines per run stay out of the progress

    client, parent, trials = _mlflow_runs(mlflow_server, "tracked")
    assert parent.info.status == "FINISHED" and set(trials) == {"0", "1", "2"}
    for trial in study.trials:
        run = trials[str(trial.number)]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags["hpo.state"] == trial.state.name == "COMPLETE"
        assert run.data.params == {key: str(value) for key, value in trial.params.items()}
        history = client.get_metric_history(run.info.run_id, "val_accuracy")
        assert {m.step: m.value for m in history} == pytest.approx(trial.intermediate_values)
        assert run.data.metrics["trial_value"] == pytest.approx(trial.value)
        assert {"loss", "accuracy", "val_loss", "learning_rate"} <= set(run.data.metrics)
    best = max(study.trials, key=lambda t: t.value)
    assert parent.data.tags["hpo.best_trial"] == str(best.number)
    assert parent.data.tags["hpo.best_model_uri"] == f"runs:/{trials[str(best.number)].info.run_id}/model"

    groups = _until(lambda: _session_groups(url), lambda found: {f"tracked/trial-{n}" for n in range(3)} <= set(found))
    for trial in study.trials:
        group = groups[f"tracked/trial-{trial.number}"]
        assert group["sessions"][0]["name"] == f"tracked/trial-{trial.number}"
        assert group["sessions"][0]["status"] == "STATUS_SUCCESS"
        assert set(group["hparams"]) == set(trial.params)
        values = {(m["name"]["group"], m["name"]["tag"]): m["value"] for m in group["metricValues"]}
        assert values[("", "trial_value")] == pytest.approx(trial.value)
        assert values[("validation", "epoch_accuracy")] == pytest.approx(trial.intermediate_values[2])


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_torch_and_jax_track_without_importing_tensorflow(tmp_path, backend, mlflow_server, tensorboard_server):
    url, logdir = tensorboard_server
    (tmp_path / "watched_mlp.py").write_text(WATCHED_MLP)
    name = f"tracked_{backend}"
    script = write_study_script(tmp_path, name=name, objective=str(tmp_path / "watched_mlp.py"), n_trials=2,
                                max_epochs=2, patience=2, pruner="none", backend=backend, recycle_after=0)
    _, study = _run(tmp_path, script, "--tensorboard", str(logdir), "--mlflow", mlflow_server)
    assert (tmp_path / "tf").read_text().split() == ["False", "False"]  # one line per trial
    _, parent, trials = _mlflow_runs(mlflow_server, name)
    assert set(trials) == {"0", "1"} and "hpo.best_model_uri" in parent.data.tags
    scalars = _until(lambda: json.load(urllib.request.urlopen(
        f"{url}/data/plugin/scalars/scalars?run={name}%2Ftrial-0%2Fvalidation&tag=epoch_loss", timeout=10)),
        lambda points: len(points) == 2)
    assert [step for _, step, _ in scalars] == [1, 2]
    assert len(study.trials) == 2
