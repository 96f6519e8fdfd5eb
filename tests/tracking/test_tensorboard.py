"""Trials as TensorBoard runs, read back through a real TensorBoard server's HTTP data API."""

import json
import subprocess
import sys
import time
import urllib.request

import pytest

from hpo.tracking._events import TrialEnd, TrialStart
from hpo.tracking._tensorboard import TensorBoardTracker, split_logs


def test_keras_logs_are_grouped_as_keras_tensorboard_callback_names_them():
    assert split_logs({"loss": 1.0, "val_loss": 2.0, "accuracy": 0.5, "learning_rate": 0.01}) == {
        "train": {"epoch_loss": 1.0, "epoch_accuracy": 0.5, "epoch_learning_rate": 0.01},
        "validation": {"epoch_loss": 2.0},
    }


@pytest.mark.slow
def test_writing_runs_imports_no_tensorflow_so_torch_and_jax_workers_stay_without_it(tmp_path):
    code = (
        "import sys\n"
        "from hpo.tracking._tensorboard import TensorBoardTracker\n"
        "from hpo.tracking._events import TrialEnd, TrialStart\n"
        f"t = TensorBoardTracker({str(tmp_path)!r}, 's')\n"
        "t.trial_started(TrialStart(0, {'units': 8, 'act': 'relu'}, 'trial-0', {}))\n"
        "t.epoch_ended(0, 1, {'loss': 1.0, 'val_loss': 2.0, 'learning_rate': 0.1})\n"
        "t.trial_finished(TrialEnd(0, 'COMPLETE', 2.0, 1, 'trial-0'))\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "s" / "trial-0").rglob("events.out.tfevents.*"))) == 3


def _get(url, path):
    with urllib.request.urlopen(url + path, timeout=10) as response:
        return json.load(response)


def _session_groups(url):
    body = json.dumps({"experimentName": "", "startIndex": 0, "sliceSize": 100, "colParams": [],
                       "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]})
    request = urllib.request.Request(url + "/data/plugin/hparams/session_groups", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return {group["name"]: group for group in json.load(response)["sessionGroups"]}


def _until(read, ready, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if ready(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def _epochs(tracker, number, epochs):
    for epoch in epochs:
        tracker.epoch_ended(number, epoch, {"loss": 1.0 / epoch, "val_loss": 2.0 / epoch, "learning_rate": 0.01})


@pytest.mark.slow
def test_tensorboard_shows_curves_and_hparams_sessions_of_complete_retried_pruned_and_failed_trials(tensorboard_server):
    url, logdir = tensorboard_server
    tracker = TensorBoardTracker(logdir, "tb_study")
    tracker.trial_started(TrialStart(0, {"units": 64, "activation": "relu"}, "trial-0", {}))
    _epochs(tracker, 0, [1, 2, 3])
    tracker.trial_finished(TrialEnd(0, "COMPLETE", 0.5, 3, "trial-0"))
    # trial 1 dies after 2 epochs (nothing ends it); its retry, trial 2, goes on in trial 1's run
    tracker.trial_started(TrialStart(1, {"units": 32, "activation": "tanh"}, "trial-1", {}))
    _epochs(tracker, 1, [1, 2])
    other_host = TensorBoardTracker(logdir, "tb_study")
    other_host.trial_started(TrialStart(2, {"units": 32, "activation": "tanh"}, "trial-1", {"retry_of": 1}))
    _epochs(other_host, 2, [3, 4])
    other_host.trial_finished(TrialEnd(2, "COMPLETE", 0.4, 4, "trial-1"))
    tracker.trial_started(TrialStart(3, {"units": 16, "activation": "relu"}, "trial-3", {}))
    _epochs(tracker, 3, [1, 2])
    tracker.trial_finished(TrialEnd(3, "PRUNED", None, 2, "trial-3"))
    tracker.trial_started(TrialStart(4, {"units": 8, "activation": "relu"}, "trial-4", {}))
    tracker.trial_finished(TrialEnd(4, "FAIL", None, None, "trial-4", "loss became nan at epoch 1"))
    tracker.close()

    expected = {f"tb_study/trial-{number}" for number in (0, 1, 3, 4)}
    groups = _until(lambda: _session_groups(url), lambda found: expected <= set(found))
    assert expected <= set(groups)
    status = {name: group["sessions"][0]["status"] for name, group in groups.items()}
    assert status["tb_study/trial-0"] == status["tb_study/trial-1"] == status["tb_study/trial-3"] == "STATUS_SUCCESS"
    assert status["tb_study/trial-4"] == "STATUS_FAILURE"
    assert groups["tb_study/trial-1"]["hparams"] == {"units": 32.0, "activation": "tanh"}

    def metric(name, tag):
        return {m["name"]["tag"]: m["value"] for m in groups[f"tb_study/{name}"]["metricValues"]}.get(tag)

    assert metric("trial-0", "trial_value") == pytest.approx(0.5)
    assert metric("trial-1", "trial_value") == pytest.approx(0.4)
    assert metric("trial-3", "pruned_at_epoch") == 2 and metric("trial-3", "trial_value") is None

    def curve(run):
        return _get(url, f"/data/plugin/scalars/scalars?run=tb_study%2F{run}%2Fvalidation&tag=epoch_loss")

    points = curve("trial-1")
    assert [step for _, step, _ in points] == [1, 2, 3, 4]  # the retry's epochs go on the dead trial's curve
    assert [value for _, _, value in points] == pytest.approx([2.0, 1.0, 2.0 / 3, 0.5])
    tags = _get(url, "/data/plugin/scalars/tags")["tb_study/trial-0/train"]
    assert {"epoch_loss", "epoch_learning_rate"} <= set(tags)
