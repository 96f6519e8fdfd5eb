"""A study as an MLflow parent run and its trials as nested runs, against a real MLflow server."""

import numpy as np
import optuna
import pytest

import hpo.records as records
from hpo.errors import SetupError
from hpo.tracking._events import TrialEnd, TrialStart
from hpo.tracking._mlflow_runs import STUDY_TAG, MlflowTracker, Sender, _parent_run, check_reachable, study_uid
from tests.conftest import quick_spec


def test_an_unreachable_tracking_server_is_one_line():
    with pytest.raises(SetupError, match=r"^MLflow tracking server http://127.0.0.1:1 is unreachable: .*refused"):
        check_reachable("http://127.0.0.1:1")
    check_reachable("sqlite:///nothing-to-reach.db")  # a local store has nothing to reach


def test_a_study_gets_one_tracking_identifier():
    study = optuna.create_study()
    assert study_uid(study, create=False) is None
    uid = study_uid(study, create=True)
    assert uid and study_uid(study, create=True) == uid == study.user_attrs[records.TRACKING_ID]


def test_the_sender_keeps_order_batches_epochs_and_hands_a_failure_to_the_next_call():
    sent = []

    class Client:
        def log_batch(self, run, metrics):
            sent.append((run, list(metrics)))

    sender = Sender(Client(), flush_s=60)
    sender.metrics("r1", [1, 2])
    sender.metrics("r1", [3])
    sender.metrics("r2", [4])
    sender.send(lambda: sent.append("end of r1"))  # after r1's metrics, all in one call
    sender.drain()
    assert sent == [("r1", [1, 2, 3]), ("r2", [4]), "end of r1"]
    sender.send(lambda: 1 / 0)
    sender.send(lambda: sent.append("skipped: an earlier call failed"))
    with pytest.raises(ZeroDivisionError):
        sender.drain()
    sender.send(lambda: sent.append("goes on"))
    sender.drain()
    assert sent[-1] == "goes on" and "skipped: an earlier call failed" not in sent


def _client(url):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=url)


@pytest.mark.slow
def test_the_parent_run_is_found_again_by_every_process_and_a_duplicate_loses(mlflow_server):
    study, spec = optuna.create_study(), quick_spec(name="mlflow_parent")
    first = MlflowTracker.open(mlflow_server, study, spec, prepare=True)
    again = MlflowTracker.open(mlflow_server, study, spec, prepare=False)  # a worker, a resume, another host
    assert again.parent_id == first.parent_id and again.experiment_id == first.experiment_id
    client = _client(mlflow_server)
    parent = client.get_run(first.parent_id)
    assert parent.info.run_name == "mlflow_parent" and parent.info.status == "RUNNING"
    assert parent.data.tags[STUDY_TAG] == study.user_attrs[records.TRACKING_ID]
    # A host that created its own parent at the same moment keeps the older one, deletes its own.
    uid = study.user_attrs[records.TRACKING_ID]
    assert _parent_run(client, first.experiment_id, "mlflow_parent", uid) == first.parent_id
    first.study_ended(budget_met=True, chosen=None)
    assert client.get_run(first.parent_id).info.status == "FINISHED"
    MlflowTracker.open(mlflow_server, study, spec, prepare=True)  # a resume runs it again
    assert client.get_run(first.parent_id).info.status == "RUNNING"
    other = MlflowTracker.open(mlflow_server, optuna.create_study(), spec, prepare=True)
    assert other.parent_id != first.parent_id  # a new study of the same name: a new parent


@pytest.mark.slow
def test_trials_are_nested_runs_with_params_epoch_history_state_tags_and_retry_links(mlflow_server):
    study, spec = optuna.create_study(), quick_spec(name="mlflow_trials")
    tracker = MlflowTracker.open(mlflow_server, study, spec, prepare=True)
    worker = MlflowTracker.open(mlflow_server, study, spec, prepare=False)
    tracker.trial_started(TrialStart(0, {"units": 64, "activation": "relu"}, "trial-0", {}))
    for epoch in (1, 2, 3):
        tracker.epoch_ended(0, epoch, {"loss": 1.0 / epoch, "val_loss": 2.0 / epoch, "learning_rate": 0.01})
    tracker.trial_finished(TrialEnd(0, "COMPLETE", 2.0 / 3, 3, "trial-0"))
    tracker.trial_started(TrialStart(1, {"units": 8, "activation": "relu"}, "trial-1", {}))
    tracker.epoch_ended(1, 1, {"loss": 1.0, "val_loss": 2.0})  # then its worker dies
    worker.trial_started(TrialStart(2, {"units": 8, "activation": "relu"}, "trial-1", {"retry_of": 1},
                                    replaced_reason="its worker died while running this trial"))
    worker.epoch_ended(2, 2, {"loss": 0.9, "val_loss": 1.9})
    worker.trial_finished(TrialEnd(2, "PRUNED", None, 2, "trial-1"))
    worker.trial_started(TrialStart(3, {"units": 4, "activation": "tanh"}, "trial-3", {}))
    worker.trial_finished(TrialEnd(3, "FAIL", None, None, "trial-3", "ValueError: bad"))
    tracker.close(), worker.close()  # what their threads had queued is sent

    client = _client(mlflow_server)
    runs = {run.info.run_name: run for run in client.search_runs(
        [tracker.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{tracker.parent_id}'")}
    assert set(runs) == {"trial-0", "trial-1", "trial-2", "trial-3"}
    done = runs["trial-0"]
    assert done.info.status == "FINISHED" and done.data.tags["hpo.state"] == "COMPLETE"
    assert done.data.params == {"units": "64", "activation": "relu"}
    assert done.data.metrics["trial_value"] == pytest.approx(2.0 / 3)
    history = client.get_metric_history(done.info.run_id, "val_loss")
    assert [(m.step, m.value) for m in history] == [(1, 2.0), (2, 1.0), (3, pytest.approx(2.0 / 3))]
    dead, retry = runs["trial-1"], runs["trial-2"]
    assert dead.info.status == "FAILED" and dead.data.tags["hpo.state"] == "FAIL"
    assert dead.data.tags["hpo.fail_reason"] == "its worker died while running this trial"
    assert dead.data.tags["hpo.retried_by"] == "2"
    assert retry.data.tags["hpo.retry_of"] == "1" and retry.data.tags["hpo.retry_of_run"] == dead.info.run_id
    assert retry.data.tags["hpo.state"] == "PRUNED" and retry.data.tags["hpo.pruned_epoch"] == "2"
    failed = runs["trial-3"]
    assert failed.info.status == "FAILED" and failed.data.tags["hpo.fail_reason"] == "ValueError: bad"


@pytest.mark.slow
def test_a_kept_model_is_an_mlflow_model_the_parent_points_at(mlflow_server, tmp_path):
    import keras
    import mlflow.artifacts
    import mlflow.keras

    study, spec = optuna.create_study(), quick_spec(name="mlflow_model")
    tracker = MlflowTracker.open(mlflow_server, study, spec, prepare=True)
    tracker.trial_started(TrialStart(0, {"units": 4}, "trial-0", {}))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    tracker.model_kept(0, model)
    tracker.close()
    uri = _client(mlflow_server).get_run(tracker.parent_id).data.tags["hpo.best_model_uri"]
    assert uri == f"runs:/{tracker._runs[0]}/model"
    local = mlflow.artifacts.download_artifacts(artifact_uri=uri, tracking_uri=mlflow_server,
                                                dst_path=str(tmp_path))
    loaded = mlflow.keras.load_model(local)
    x = np.ones((1, 3), dtype="float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
