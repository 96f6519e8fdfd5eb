"""A study as one MLflow run, each trial as a run nested in it, logged as the trials train.

The experiment is named after the study. Its parent run carries the tag ``hpo.study_uid``, the
study's own identifier (:data:`hpo.records.TRACKING_ID`, stored with the study), so a resume
and every worker on every host log under the same parent, and a new study of the same name gets
a new one. The process that starts a run creates the parent (:meth:`MlflowTracker.open` with
``prepare``); two hosts that create one at once keep the older and delete the other.
(optuna-integration's ``MLflowCallback`` with ``nested=True`` never creates the parent,
optuna/optuna#5148, and logs finished trials only.)

A trial's run (``trial-<number>``): its parameters, every epoch's logs as metric history
(step = epoch), the tags ``hpo.trial``, ``hpo.state``, ``hpo.fail_reason``,
``hpo.pruned_epoch``/``hpo.paused_at_epoch``, and the trial it goes on from (``hpo.retry_of``,
``hpo.continues``, ``hpo.pbt_parent``, with that trial's run id in ``hpo.<link>_run``). A retry
also ends the dead trial's run as FAILED with its reason. When a trial's model is kept as the
study's best, it is logged to the trial's run as an MLflow model (``model``), and the parent's
``hpo.best_trial`` and ``hpo.best_model_uri`` point at it.

The client is MLflow's own ``MlflowClient`` against any tracking URI (an HTTP server shared
by hosts, a local ``sqlite:`` or ``file:`` one), never the fluent API's process-global run.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any, Callable

import hpo.records as records
from hpo._keras_runtime import tensorflow_left_unimported
from hpo.errors import SetupError
from hpo.tracking._events import Tracker

if TYPE_CHECKING:
    import optuna
    from mlflow.tracking import MlflowClient

    from hpo.study import StudySpec
    from hpo.tracking._events import TrialEnd, TrialStart

STUDY_TAG = "hpo.study_uid"
TRIAL_TAG = "hpo.trial"
MODEL_PATH = "model"
# MLflow retries a failed request 7 times with backoff (about 2 minutes); a tracking server that
# went away would stall each epoch that long. hpo's tracking is a view (hpo.tracking.Trackers):
# 2 retries, 10 s each, unless the user set MLflow's own variables.
# MLflow also writes two lines ("View run ... at") to stdout each time a run ends; hpo says once
# where the study's parent run is (MlflowTracker.where).
_CLIENT_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
                    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}


def check_reachable(uri: str) -> None:
    """An HTTP tracking server answers its health check within 5 s (one line otherwise)."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=5) as response:
            response.read()
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise SetupError(f"MLflow tracking server {uri} is unreachable: {reason}") from None


def study_uid(study: "optuna.Study", *, create: bool) -> str | None:
    """The study's tracking identifier; ``create`` stores a new one when it has none."""
    uid = study.user_attrs.get(records.TRACKING_ID)
    if uid is None and create:
        import uuid

        uid = uuid.uuid4().hex
        study.set_user_attr(records.TRACKING_ID, uid)
    return uid


class Sender:
    """MLflow calls made from a thread of their own, in order, and epoch metrics sent at most
    once per ``flush_s`` (one ``log_batch`` per run with every epoch since), so training neither
    waits for the server nor costs it a request per epoch. Measured with a digits MLP (epochs
    of about 80 ms) and an MLflow server on the same 2 cores (benchmarks/tracking_cost.py):
    a ``log_batch`` per epoch on the training thread took 17 ms of each epoch; on this thread,
    one per epoch still added 28 ms per epoch to the study (the server's and the client's CPU);
    batched once a second, 9 ms (median of 5 rounds, with a noise of about 10 ms).
    (MLflow's own ``synchronous=False`` queue takes 2.4 s to flush when a run ends.)
    :meth:`drain` sends everything pending; an error of the thread is raised by the next call,
    where :class:`hpo.tracking.Trackers` warns."""

    def __init__(self, client: "MlflowClient", flush_s: float = 1.0) -> None:
        self.client, self.flush_s = client, flush_s
        self._queue: "queue.Queue[Callable[[], object]]" = queue.Queue()
        self._pending: dict[str, list[Any]] = {}  # run id -> metrics not sent yet
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        threading.Thread(target=self._work, name="hpo-mlflow", daemon=True).start()

    def _work(self) -> None:
        while True:
            try:
                call: "Callable[[], object] | None" = self._queue.get(timeout=self.flush_s)
            except queue.Empty:
                call = None
            try:
                if self._error is None:
                    self._flush()  # a run's metrics before any call that ends it
                    if call is not None:
                        call()
            except Exception as error:  # noqa: BLE001 - handed to the training thread (see the class)
                self._error = error
            finally:
                if call is not None:
                    self._queue.task_done()

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for run, metrics in pending.items():
            for first in range(0, len(metrics), 1000):  # MLflow takes at most 1000 metrics a call
                self.client.log_batch(run, metrics=metrics[first:first + 1000])

    def _raise(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def metrics(self, run: str, metrics: list[Any]) -> None:
        self._raise()
        with self._lock:
            self._pending.setdefault(run, []).extend(metrics)

    def send(self, call: "Callable[[], object]") -> None:
        self._raise()
        self._queue.put(call)

    def drain(self) -> None:
        self._queue.put(lambda: None)  # flushes the pending metrics too
        self._queue.join()
        self._raise()


class MlflowTracker(Tracker):
    name = "MLflow"

    def __init__(self, client: "MlflowClient", experiment_id: str, parent_id: str) -> None:
        self.client, self.experiment_id, self.parent_id = client, experiment_id, parent_id
        self._runs: dict[int, str] = {}  # trial number -> run id, of trials started here
        self._sender = Sender(client)

    def where(self) -> str:
        uri = str(self.client.tracking_uri)
        if uri.startswith(("http://", "https://")):
            return f"MLflow run {uri.rstrip('/')}/#/experiments/{self.experiment_id}/runs/{self.parent_id}"
        return f"MLflow run {self.parent_id} in {uri}"

    @classmethod
    def open(cls, uri: str, study: "optuna.Study", spec: "StudySpec", *, prepare: bool) -> "MlflowTracker":
        for key, value in _CLIENT_DEFAULTS.items():
            os.environ.setdefault(key, value)
        from mlflow.tracking import MlflowClient

        # MLflow's INFO lines (database migrations) and its warning that a logged model has no
        # signature would interleave with the progress lines of every worker. (After the import:
        # importing mlflow configures its loggers.)
        logging.getLogger("mlflow").setLevel(logging.ERROR)
        client = MlflowClient(tracking_uri=uri)
        uid = study_uid(study, create=prepare)
        if uid is None:  # a worker of a study whose starting process did not track
            uid = study_uid(study, create=True)
        assert uid is not None
        experiment_id = _experiment(client, spec.name)
        parent_id = _parent_run(client, experiment_id, spec.name, uid)
        if prepare:
            client.update_run(parent_id, status="RUNNING")
        return cls(client, experiment_id, parent_id)

    def _trial_run(self, number: int) -> str | None:
        """The run of trial ``number`` under this study's parent, whoever logged it."""
        if number in self._runs:
            return self._runs[number]
        found = self.client.search_runs(
            [self.experiment_id], max_results=1, order_by=["attributes.start_time DESC"],
            filter_string=f"tags.`mlflow.parentRunId` = '{self.parent_id}' and tags.`{TRIAL_TAG}` = '{number}'")
        return found[0].info.run_id if found else None

    def trial_started(self, start: "TrialStart") -> None:
        """The trial's run is created here (its id is needed at once); the rest on the thread."""
        tags = {"mlflow.parentRunId": self.parent_id, TRIAL_TAG: str(start.number), "hpo.state": "RUNNING",
                "hpo.run": start.run, **{f"hpo.{link}": str(number) for link, number in start.links.items()}}
        run = self.client.create_run(self.experiment_id, tags=tags, run_name=f"trial-{start.number}").info.run_id
        self._runs[start.number] = run
        self._sender.send(functools.partial(self._started, run, start))

    def _started(self, run: str, start: "TrialStart") -> None:
        """Parameters, the run ids of the trials this one goes on from, and a retried trial's
        run ended as FAILED with why it died."""
        from mlflow.entities import Param, RunTag

        params = [Param(key, str(value)) for key, value in start.params.items()]
        links = [RunTag(f"hpo.{link}_run", linked) for link, number in start.links.items()
                 if (linked := self._trial_run(number)) is not None]
        for first in range(0, max(len(params), 1), 100):  # MLflow takes at most 100 parameters a call
            self.client.log_batch(run, params=params[first:first + 100], tags=links if first == 0 else ())
        retried = start.links.get("retry_of")
        dead = self._trial_run(retried) if retried is not None else None
        if dead is not None and self.client.get_run(dead).info.status == "RUNNING":
            reason = start.replaced_reason or records.NO_REASON
            self.client.log_batch(dead, tags=[RunTag("hpo.state", "FAIL"), RunTag("hpo.fail_reason", reason[:5000]),
                                              RunTag("hpo.retried_by", str(start.number))])
            self.client.set_terminated(dead, status="FAILED")

    def epoch_ended(self, number: int, epoch: int, logs: dict[str, float]) -> None:
        from mlflow.entities import Metric

        run = self._runs.get(number)
        if run is None:
            return
        metrics = [Metric(key, value, int(time.time() * 1000), epoch) for key, value in logs.items()]
        self._sender.metrics(run, metrics)

    def trial_finished(self, end: "TrialEnd") -> None:
        from mlflow.entities import Metric, RunTag

        run = self._runs.pop(end.number, None)
        if run is None:
            return
        tags = [RunTag("hpo.state", end.state)]
        if end.fail_reason:
            tags.append(RunTag("hpo.fail_reason", end.fail_reason[:5000]))
        if end.paused_at is not None:
            tags.append(RunTag("hpo.paused_at_epoch", str(end.paused_at)))
        elif end.state == "PRUNED" and end.last_step is not None:
            tags.append(RunTag("hpo.pruned_epoch", str(end.last_step)))
        metrics = []
        if end.value is not None:
            metrics.append(Metric("trial_value", end.value, int(time.time() * 1000), end.last_step or 0))
        self._sender.send(functools.partial(self.client.log_batch, run, metrics=metrics, tags=tags))
        self._sender.send(functools.partial(self.client.set_terminated, run,
                                            status="FAILED" if end.state == "FAIL" else "FINISHED"))

    def model_kept(self, number: int, model: Any) -> None:
        """The study's best model so far, as an MLflow Keras model in the trial's run."""
        import mlflow.keras
        from mlflow.entities import RunTag

        run = self._runs.get(number)
        if run is None:
            return
        directory = tempfile.mkdtemp(prefix="hpo-mlflow-")
        path = os.path.join(directory, MODEL_PATH)
        with tensorflow_left_unimported():  # the model as it is now, here; its upload on the thread
            mlflow.keras.save_model(model, path, pip_requirements=_requirements())
        tags = [RunTag("hpo.best_trial", str(number)), RunTag("hpo.best_model_uri", f"runs:/{run}/{MODEL_PATH}")]

        def upload() -> None:
            try:
                self.client.log_artifacts(run, path, MODEL_PATH)
                self.client.log_batch(self.parent_id, tags=tags)
            finally:
                shutil.rmtree(directory, ignore_errors=True)

        self._sender.send(upload)

    def study_ended(self, budget_met: bool, chosen: int | None) -> None:
        """The parent points at the chosen trial's model (workers that kept models one after
        another may have written their tags in another order), and ends FINISHED when the
        study's budget is met (a resume sets it running again)."""
        from mlflow.entities import RunTag

        self._sender.drain()
        run = self._trial_run(chosen) if chosen is not None else None
        if run is not None and self.client.list_artifacts(run, MODEL_PATH):
            self.client.log_batch(self.parent_id, tags=[RunTag("hpo.best_trial", str(chosen)),
                                                        RunTag("hpo.best_model_uri", f"runs:/{run}/{MODEL_PATH}")])
        if budget_met:
            self.client.set_terminated(self.parent_id, status="FINISHED")

    def close(self) -> None:
        self._sender.drain()


def _requirements() -> list[str]:
    """The model's pip requirements: Keras and its backend, pinned as installed. Without them
    MLflow infers them by loading the model in a new Python process: about 6.5 s per kept model
    here (benchmarks/tracking_cost.py, before this), against 80 ms with them."""
    from importlib.metadata import PackageNotFoundError, version

    import keras

    found = []
    for package in ("keras", keras.backend.backend()):
        try:
            found.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            found.append(package)
    return found


def _experiment(client: "MlflowClient", name: str) -> str:
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            raise SetupError(f"MLflow experiment {name!r} is deleted; restore it or delete it for good "
                             f"(mlflow gc) before tracking study {name!r} there")
        return str(experiment.experiment_id)
    try:
        return str(client.create_experiment(name))
    except MlflowException:  # another host created it first
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return str(experiment.experiment_id)


def _parents(client: "MlflowClient", experiment_id: str, uid: str) -> list[Any]:
    return list(client.search_runs([experiment_id], filter_string=f"tags.`{STUDY_TAG}` = '{uid}'",
                                   order_by=["attributes.start_time ASC"]))


def _parent_run(client: "MlflowClient", experiment_id: str, name: str, uid: str) -> str:
    """The study's parent run: found by its tag, created when there is none. Of two created at
    once (two hosts starting together) the older stays and the other is deleted."""
    found = _parents(client, experiment_id, uid)
    if found:
        return str(found[0].info.run_id)
    mine = client.create_run(experiment_id, tags={STUDY_TAG: uid, "hpo.study": name}, run_name=name).info.run_id
    oldest = _parents(client, experiment_id, uid)[0].info
    if oldest.run_id != mine:
        client.delete_run(mine)
    return str(oldest.run_id)
