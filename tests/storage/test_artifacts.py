"""Checkpoints and kept models in Optuna's artifact store (a directory here; S3 in the PostgreSQL
two-host test's sibling below), without training."""

import os
import zipfile

import numpy as np
import optuna
import pytest

from hpo.errors import SetupError
from hpo.storage._artifacts import CheckpointMirror, MirroredCheckpoint, open_store, resolve_uri
from hpo.storage._checkpoints import TrialCheckpoint
from hpo.storage._database import open_storage
from hpo.storage._study_files import StudyFiles


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


def test_an_unreachable_store_keeps_the_last_upload_warns_once_and_is_tried_again_after_a_backoff(
        mirrored, tmp_path, monkeypatch):
    import hpo.storage._artifacts as artifacts

    study, mirror, folder = mirrored
    said, clock = [], [1000.0]
    mirror.warn = said.append
    monkeypatch.setattr(artifacts.time, "monotonic", lambda: clock[0])
    checkpoint = MirroredCheckpoint(tmp_path / "a" / "trial-0", mirror, 0)
    _save(checkpoint, 1)
    writes, real_write = [], mirror.store.write

    def refused(artifact_id, body):
        writes.append(artifact_id)
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(mirror.store, "write", refused)
    for epochs in (2, 3, 4):  # within the first wait: one try, one warning
        _save(checkpoint, epochs)
        clock[0] += 1
    assert len(writes) == 1 and checkpoint.load().epochs_done == 4  # training goes on locally
    assert said == ["warning: artifact store unreachable (OSError: [Errno 30] Read-only file system); checkpoints "
                    "stay on this host until it is back (tried again every 5-60 s)"]
    clock[0] += 5
    _save(checkpoint, 5)  # tried again, refused again: no second warning, a longer wait
    assert len(writes) == 2 and len(said) == 1
    into = TrialCheckpoint(tmp_path / "b" / "trial-0")
    assert mirror.fetch(0, into) == 1  # another host takes the last upload
    monkeypatch.setattr(mirror.store, "write", real_write)  # the store is back
    clock[0] += 9
    _save(checkpoint, 6)
    assert len(said) == 1 and mirror.fetch(0, into) == 1  # still within the doubled wait: not tried
    clock[0] += 1
    _save(checkpoint, 7)
    assert said[1] == "artifact store reachable again after 18 s; uploads go on"
    assert mirror.fetch(0, into) == 7 and len(os.listdir(folder)) == 1


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


class MotoServer:
    """A local S3-compatible server (moto) on a port of its own, which a test can stop and
    start again (empty, as a restarted moto is, with the bucket made again)."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server = None

    def start(self) -> None:
        import subprocess
        import sys
        import time

        import boto3

        self.server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = boto3.client("s3")
        deadline = time.monotonic() + 30
        while True:
            try:
                self.client.create_bucket(Bucket="hpo-test")
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self.server is not None:
            self.server.kill()
            self.server.wait()
            self.server = None

    def keys(self) -> list[str]:
        return [item["Key"] for item in self.client.list_objects_v2(Bucket="hpo-test").get("Contents", [])]


@pytest.fixture
def s3_endpoint(monkeypatch):
    """A :class:`MotoServer` with a bucket, and the AWS variables pointing at it."""
    server = MotoServer()
    for name, value in {"AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": "test",
                        "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
def test_checkpoints_on_s3_under_a_prefix(s3_endpoint, sqlite_url, tmp_path):
    storage = open_storage(sqlite_url)
    optuna.create_study(study_name="s3", storage=storage).ask()
    mirror = CheckpointMirror(open_store("s3://hpo-test/runs/one"), storage, "s3")
    checkpoint = MirroredCheckpoint(tmp_path / "a" / "trial-0", mirror, 0)
    _save(checkpoint, 1)
    _save(checkpoint, 2)
    keys = s3_endpoint.keys()
    assert len(keys) == 1 and keys[0].startswith("runs/one/")  # the previous epoch's upload is gone
    into = TrialCheckpoint(tmp_path / "b" / "trial-0")
    assert mirror.fetch(0, into) == 2 and (into.load().model_weights[0] == 2).all()
    checkpoint.remove()
    assert s3_endpoint.keys() == []
    with pytest.raises(SetupError, match="artifacts 's3://no-such-bucket' unreachable"):
        open_store("s3://no-such-bucket")


@pytest.mark.slow
def test_an_s3_store_stopped_mid_trial_costs_one_warning_and_is_uploaded_to_again_once_back(
        s3_endpoint, sqlite_url, tmp_path, monkeypatch):
    import time

    import hpo.storage._artifacts as artifacts

    storage = open_storage(sqlite_url)
    optuna.create_study(study_name="s3", storage=storage).ask()
    said = []
    mirror = CheckpointMirror(open_store("s3://hpo-test/runs"), storage, "s3", warn=said.append)
    checkpoint = MirroredCheckpoint(tmp_path / "a" / "trial-0", mirror, 0)
    _save(checkpoint, 1)
    s3_endpoint.stop()
    started = time.monotonic()
    _save(checkpoint, 2)
    _save(checkpoint, 3)  # within the wait before the next try: not tried
    assert time.monotonic() - started < 5  # a refused connection fails fast; the epoch goes on
    assert checkpoint.load().epochs_done == 3  # training goes on with its local checkpoint
    assert len(said) == 1 and said[0].startswith("warning: artifact store unreachable (EndpointConnectionError: ")
    s3_endpoint.start()  # a new, empty moto
    later = time.monotonic() + 6
    monkeypatch.setattr(artifacts.time, "monotonic", lambda: later)
    _save(checkpoint, 4)
    assert said[1].startswith("artifact store reachable again after ") and len(said) == 2
    [key] = s3_endpoint.keys()
    assert key.startswith("runs/")
    assert mirror.fetch(0, TrialCheckpoint(tmp_path / "b" / "trial-0")) == 4


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
