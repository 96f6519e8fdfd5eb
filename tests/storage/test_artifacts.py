"""Checkpoints and kept models in Optuna's artifact store (a directory here; S3 in the PostgreSQL
two-host test's sibling below), without training."""

import os
import zipfile

import numpy as np
import optuna
import pytest

from hpo.errors import SetupError
from hpo.storage.artifacts import CheckpointMirror, MirroredCheckpoint, open_store, resolve_uri
from hpo.storage.checkpoints import TrialCheckpoint
from hpo.storage.database import open_storage
from hpo.storage.study_files import StudyFiles


def _save(checkpoint, epochs):
    checkpoint.save(epochs_done=epochs, curve=[0.1 * e for e in range(1, epochs + 1)], best_epoch=epochs, wait=0,
                    model_weights=[np.full((2, 2), epochs, dtype="float32")],
                    optimizer_variables=[np.array(epochs, dtype="int64")],
                    best_weights=[np.full((2, 2), epochs, dtype="float32")])


@pytest.fixture
def mirrored(tmp_path, sqlite_url):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(sqlite_url)
    study = optuna.create_study(study_name="a", storage=storage)
    study.ask()  # trial 0
    store = open_store(str(tmp_path / "store"))
    return study, CheckpointMirror(store, storage, "a"), tmp_path / "store"


def test_each_epochs_checkpoint_is_uploaded_linked_to_its_trial_and_the_previous_one_removed(mirrored, tmp_path,
                                                                                             sqlite_url):
    study, mirror, folder = mirrored
    checkpoint = MirroredCheckpoint(tmp_path / "host-a" / "trial-0", mirror, 0)
    for epochs in (1, 2, 3):
        _save(checkpoint, epochs)
    metas = optuna.artifacts.get_all_artifact_meta(study.trials[0], storage=study._storage)
    assert sorted(m.filename for m in metas) == [f"checkpoint-epoch-000{e}.zip" for e in (1, 2, 3)]
    assert len(os.listdir(folder)) == 1  # bounded: only the newest epoch's bytes stay

    # Another host (another local directory) continues from the upload.
    elsewhere = TrialCheckpoint(tmp_path / "host-b" / "trial-0")
    assert CheckpointMirror(mirror.store, open_storage(sqlite_url), "a").fetch(0, elsewhere) == 3
    state = elsewhere.load()
    assert state.epochs_done == 3 and state.curve == pytest.approx([0.1, 0.2, 0.3])
    assert (state.model_weights[0] == 3).all()

    checkpoint.remove()
    assert os.listdir(folder) == [] and not checkpoint.directory.exists()


def test_a_half_written_newest_upload_falls_back_to_the_one_before(mirrored, tmp_path):
    study, mirror, folder = mirrored
    _save(MirroredCheckpoint(tmp_path / "a" / "trial-0", mirror, 0), 1)
    # A process killed mid-upload of epoch 2: Optuna wrote the metadata, the bytes are cut short.
    partial = tmp_path / "checkpoint-epoch-0002.zip"
    partial.write_bytes(b"PK\x03\x04 cut")
    mirror._upload(0, partial)
    into = TrialCheckpoint(tmp_path / "b" / "trial-0")
    assert mirror.fetch(0, into) == 1 and into.load().epochs_done == 1


def test_a_retry_takes_over_the_dead_trials_upload_on_another_host(mirrored, tmp_path, monkeypatch):
    study, mirror, folder = mirrored
    study.ask()  # trial 1: the retry
    monkeypatch.setenv("HPO_HOME", str(tmp_path / "host-a"))
    host_a = StudyFiles("sqlite:///x.db", "a", mirror=mirror)
    _save(host_a.checkpoint(0), 4)
    monkeypatch.setenv("HPO_HOME", str(tmp_path / "host-b"))
    host_b = StudyFiles("sqlite:///x.db", "a", mirror=CheckpointMirror(mirror.store, mirror.storage, "a"))
    assert host_b.checkpoint(0).epochs_done() == 4  # from the upload's name, nothing downloaded
    retry = host_b.checkpoint(1)
    host_b.take_over(0, retry)
    assert retry.load().epochs_done == 4
    metas = {t.number: optuna.artifacts.get_all_artifact_meta(t, storage=study._storage) for t in study.trials}
    assert [m.filename for m in metas[1]] == ["checkpoint-epoch-0004.zip"]
    assert len(os.listdir(folder)) == 1  # the dead trial's upload is gone, the retry's is there
    with zipfile.ZipFile(folder / os.listdir(folder)[0]) as archive:
        assert "state.json" in archive.namelist()


def test_the_kept_model_is_uploaded_under_its_trial(mirrored, tmp_path):
    study, mirror, folder = mirrored
    model = tmp_path / "trial-0.keras"
    model.write_bytes(b"model bytes")
    mirror.upload_model(0, model)
    [meta] = optuna.artifacts.get_all_artifact_meta(study.trials[0], storage=study._storage)
    assert meta.filename == "trial-0.keras" and (folder / meta.artifact_id).read_bytes() == b"model bytes"
    mirror.remove_model(0)  # another trial became the best
    assert os.listdir(folder) == []


def test_where_the_store_is_comes_from_the_flag_then_the_environment_then_the_study(monkeypatch, tmp_path):
    monkeypatch.delenv("HPO_ARTIFACTS", raising=False)
    assert resolve_uri(None, None) is None and resolve_uri(None, "/s") == "/s"
    monkeypatch.setenv("HPO_ARTIFACTS", "/env")
    assert resolve_uri(None, "/s") == "/env" and resolve_uri("/flag", "/s") == "/flag"
    (tmp_path / "file").write_text("")
    with pytest.raises(SetupError, match="artifacts directory .* cannot be created"):
        open_store(str(tmp_path / "file" / "store"))
    with pytest.raises(SetupError, match="name a bucket"):
        open_store("s3://")


@pytest.fixture
def s3_endpoint(tmp_path, monkeypatch):
    """A local S3-compatible server (moto) with a bucket, and the AWS variables pointing at it."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    import boto3

    client = boto3.client("s3")
    deadline = time.monotonic() + 30
    while True:
        try:
            client.create_bucket(Bucket="hpo-test")
            break
        except Exception:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.2)
    yield client
    server.kill()
    server.wait()


@pytest.mark.slow
def test_checkpoints_on_s3_under_a_prefix(s3_endpoint, sqlite_url, tmp_path):
    storage = open_storage(sqlite_url)
    optuna.create_study(study_name="s3", storage=storage).ask()
    mirror = CheckpointMirror(open_store("s3://hpo-test/runs/one"), storage, "s3")
    checkpoint = MirroredCheckpoint(tmp_path / "a" / "trial-0", mirror, 0)
    _save(checkpoint, 1)
    _save(checkpoint, 2)
    keys = [item["Key"] for item in s3_endpoint.list_objects_v2(Bucket="hpo-test").get("Contents", [])]
    assert len(keys) == 1 and keys[0].startswith("runs/one/")  # the previous epoch's upload is gone
    into = TrialCheckpoint(tmp_path / "b" / "trial-0")
    assert mirror.fetch(0, into) == 2 and (into.load().model_weights[0] == 2).all()
    checkpoint.remove()
    assert s3_endpoint.list_objects_v2(Bucket="hpo-test").get("KeyCount") == 0
    with pytest.raises(SetupError, match="artifacts 's3://no-such-bucket' unreachable"):
        open_store("s3://no-such-bucket")


def test_a_population_segment_copies_another_hosts_upload_and_the_source_stays(mirrored, tmp_path, monkeypatch):
    study, mirror, folder = mirrored
    study.ask()  # trial 1: the segment
    monkeypatch.setenv("HPO_HOME", str(tmp_path / "host-a"))
    _save(StudyFiles("sqlite:///x.db", "a", mirror=mirror).checkpoint(0), 2)
    monkeypatch.setenv("HPO_HOME", str(tmp_path / "host-b"))
    host_b = StudyFiles("sqlite:///x.db", "a", mirror=CheckpointMirror(mirror.store, mirror.storage, "a"))
    segment = host_b.checkpoint(1)
    host_b.copy_checkpoint(0, segment)
    assert segment.load().epochs_done == 2
    metas = {t.number: optuna.artifacts.get_all_artifact_meta(t, storage=study._storage) for t in study.trials}
    assert [m.filename for m in metas[0]] == ["checkpoint-epoch-0002.zip"]  # still there for others
    assert [m.filename for m in metas[1]] == ["checkpoint-epoch-0002.zip"]  # the segment's own
