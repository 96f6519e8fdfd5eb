"""What must outlive a host, in Optuna's artifact store: epoch checkpoints and kept models.

Without an artifact store a trial's checkpoint is a directory of the host that trains it, so a
retry on another host starts from epoch 1. With one (``--artifacts URI``, ``HPO_ARTIFACTS`` or
``artifacts=`` in the study script: a directory, e.g. on a shared filesystem, for Optuna's
``FileSystemArtifactStore``, or ``s3://bucket/prefix`` for its ``Boto3ArtifactStore``, the
endpoint and keys from the usual AWS variables), every epoch's checkpoint is also uploaded as
an artifact of its trial, and a retry on any host downloads the newest one that is whole.
The best trial's ``.keras`` model is uploaded too, so optuna-dashboard lists it under its trial.

The local directory stays the working copy (reading it back costs nothing); the artifact is
one zip of it per epoch. The previous epoch's artifact is removed once the new one is written,
so each running trial keeps one (two while uploading). Optuna writes an artifact's metadata
before its bytes, so a process killed mid-upload leaves metadata pointing at a missing or
partial file: :meth:`CheckpointMirror.fetch` then takes the newest earlier one that loads.
Optuna's ``Backoff`` wrapper is not used: in Optuna 5.0 its ``remove`` retries after a
successful delete and then raises.

A store that cannot be reached (a directory gone read-only, an S3 endpoint down) costs uploads,
not training: the local checkpoint goes on, one warning says so, the newest whole upload stays
the one a retry elsewhere takes, and the store is tried again after 5 s, doubling to 60 s.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, TypeVar

from hpo._environment import ARTIFACTS_ENV
from hpo.errors import CheckpointError, HpoError, SetupError
from hpo.storage._checkpoints import TrialCheckpoint

if TYPE_CHECKING:
    import optuna

    from hpo.storage._optuna_private import ArtifactStore

CHECKPOINT_PREFIX = "checkpoint-epoch-"
# Seconds between tries of an unreachable store: the first wait, doubled up to the last.
UPLOAD_RETRY_S = (5.0, 60.0)
T = TypeVar("T")


@dataclass(frozen=True)
class _Outage:
    since: float  # time.monotonic() of the first failure
    next_try: float
    wait: float


def open_mirror(uri: str | None, storage: "optuna.storages.BaseStorage", study_name: str,
                warn: Callable[[str], None] = print) -> "CheckpointMirror | None":
    """The mirror of study ``study_name``'s checkpoints in the store ``uri`` names; None without
    one. ``warn`` hears when the store becomes unreachable and when it is back."""
    return None if uri is None else CheckpointMirror(open_store(uri), storage, study_name, warn)


def resolve_uri(cli_uri: str | None, script_uri: str | None) -> str | None:
    """One precedence rule, as for storage: ``--artifacts`` > ``HPO_ARTIFACTS`` > the study's."""
    for candidate in (cli_uri, os.environ.get(ARTIFACTS_ENV), script_uri):
        if candidate:
            return candidate
    return None


class _Prefixed:
    """An S3 store whose keys live under ``prefix/`` (Optuna's store writes at the bucket's root)."""

    def __init__(self, store: "ArtifactStore", prefix: str) -> None:
        self.store, self.prefix = store, prefix.strip("/") + "/"

    def open_reader(self, artifact_id: str) -> BinaryIO:
        return self.store.open_reader(self.prefix + artifact_id)

    def write(self, artifact_id: str, content_body: BinaryIO) -> None:
        self.store.write(self.prefix + artifact_id, content_body)

    def remove(self, artifact_id: str) -> None:
        self.store.remove(self.prefix + artifact_id)


def open_store(uri: str) -> "ArtifactStore":
    """The artifact store ``uri`` names; a one-line setup error when it cannot be used."""
    if uri.startswith("s3://"):
        bucket, _, prefix = uri[len("s3://"):].partition("/")
        if not bucket:
            raise SetupError(f"artifacts {uri!r}: name a bucket, s3://bucket/prefix")
        try:
            import boto3
            from botocore.config import Config
            from optuna.artifacts import Boto3ArtifactStore

            # An endpoint that stops answering would hold each upload (so the epoch) for
            # botocore's default 60 s connect timeout times its retries; uploads are retried
            # by hpo anyway (CheckpointMirror), so one call gives up sooner.
            client = boto3.client("s3", config=Config(connect_timeout=5, retries={"max_attempts": 3}))
            store: Any = Boto3ArtifactStore(bucket, client=client)
            store.client.head_bucket(Bucket=bucket)
        except ImportError:
            raise SetupError("artifacts on S3 need boto3 (pip install boto3)") from None
        except Exception as error:  # noqa: BLE001 - botocore's errors: no credentials, no bucket, no network
            raise SetupError(f"artifacts {uri!r} unreachable: {type(error).__name__}: "
                             f"{str(error).splitlines()[0] if str(error) else ''}") from None
        return _Prefixed(store, prefix) if prefix else store
    from optuna.artifacts import FileSystemArtifactStore

    path = Path(uri[len("file://"):] if uri.startswith("file://") else uri).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SetupError(f"artifacts directory {path} cannot be created: {error.strerror}") from None
    return FileSystemArtifactStore(path)


class CheckpointMirror:
    """A study's epoch checkpoints and kept models in the artifact store, linked to their trials."""

    def __init__(self, store: "ArtifactStore", storage: "optuna.storages.BaseStorage", study_name: str,
                 warn: Callable[[str], None] = print) -> None:
        self.store, self.storage, self.study_name, self.warn = store, storage, study_name, warn
        self._study_id: int | None = None  # looked up at first use: the study may not exist yet
        self._latest: dict[int, str] = {}  # trial number -> its newest checkpoint artifact (this process)
        self._outage: _Outage | None = None  # since the store last failed here

    def _reaching_store(self, call: Callable[[], T], what: str) -> T | None:
        """``call()`` of the store, or None while it is unreachable (say so once, and try it
        again after a backoff: an S3 client's own retries take seconds per call)."""
        from optuna.exceptions import OptunaError

        now = time.monotonic()
        if self._outage is not None and now < self._outage.next_try:
            return None
        try:
            result = call()
        except (OptunaError, HpoError):
            raise  # the database's answer (the trial finished elsewhere, storage gone), not the store's
        except Exception as error:  # noqa: BLE001 - any store's: OSError, botocore's, ...
            if self._outage is None:
                self.warn(f"warning: artifact store unreachable ({type(error).__name__}: "
                          f"{(str(error).splitlines() or [''])[0]}); {what} stay on this host until "
                          f"it is back (tried again every {UPLOAD_RETRY_S[0]:.0f}-{UPLOAD_RETRY_S[1]:.0f} s)")
                self._outage = _Outage(now, now + UPLOAD_RETRY_S[0], UPLOAD_RETRY_S[0])
            else:
                wait = min(self._outage.wait * 2, UPLOAD_RETRY_S[1])
                self._outage = _Outage(self._outage.since, now + wait, wait)
            return None
        if self._outage is not None:
            self.warn(f"artifact store reachable again after {now - self._outage.since:.0f} s; uploads go on")
            self._outage = None
        return result

    def _trial_id(self, number: int) -> int:
        if self._study_id is None:
            self._study_id = self.storage.get_study_id_from_name(self.study_name)
        return self.storage.get_trial_id_from_study_id_trial_number(self._study_id, number)

    def _upload(self, number: int, path: Path) -> str:
        from optuna.artifacts import upload_artifact

        trial = self.storage.get_trial(self._trial_id(number))
        return upload_artifact(artifact_store=self.store, file_path=str(path), study_or_trial=trial,
                               storage=self.storage)

    def upload(self, number: int, checkpoint: TrialCheckpoint) -> None:
        """Upload the checkpoint trial ``number`` just saved; remove its previous upload."""
        epochs = checkpoint.epochs_done()
        with tempfile.TemporaryDirectory() as scratch:
            bundle = Path(scratch) / f"{CHECKPOINT_PREFIX}{epochs:04d}.zip"
            with zipfile.ZipFile(bundle, "w", zipfile.ZIP_STORED) as archive:
                for path in sorted(checkpoint.directory.iterdir()):
                    if path.name == "state.json" or path.suffix == ".npz":
                        archive.write(path, path.name)
            artifact_id = self._reaching_store(lambda: self._upload(number, bundle), "checkpoints")
        if artifact_id is None:  # the last upload stays the newest: a retry elsewhere takes it
            return
        previous, self._latest[number] = self._latest.get(number), artifact_id
        if previous is not None:
            self._remove(previous)

    def fetch(self, number: int, into: TrialCheckpoint) -> int:
        """Download trial ``number``'s newest whole checkpoint into ``into``; its epochs (0: none)."""
        from optuna.artifacts import download_artifact
        from optuna.artifacts.exceptions import ArtifactNotFound

        for artifact_id, _ in self._checkpoints(number):
            TrialCheckpoint.remove(into)  # the local directory only
            with tempfile.TemporaryDirectory() as scratch:
                bundle = Path(scratch) / "checkpoint.zip"
                try:
                    download_artifact(artifact_store=self.store, file_path=str(bundle), artifact_id=artifact_id)
                    into.directory.mkdir(parents=True, exist_ok=True)
                    with zipfile.ZipFile(bundle) as archive:
                        archive.extractall(into.directory)
                    if TrialCheckpoint(into.directory).load() is not None:
                        return TrialCheckpoint(into.directory).epochs_done()
                except (ArtifactNotFound, CheckpointError, zipfile.BadZipFile, OSError, EOFError):
                    continue  # removed, or half-written by a process that died: an earlier one
                except Exception:  # noqa: BLE001 - an S3 store unreachable (botocore's errors)
                    continue
        TrialCheckpoint.remove(into)
        return 0

    def remove_checkpoints(self, number: int) -> None:
        """Remove every checkpoint artifact of trial ``number`` (it ended, or was taken over)."""
        self._latest.pop(number, None)
        for artifact_id, _ in self._checkpoints(number):
            self._remove(artifact_id)

    def upload_model(self, number: int, path: Path) -> None:
        """The kept ``.keras`` model of trial ``number``, listed under it by optuna-dashboard
        (while the store is unreachable, on this host only)."""
        self._reaching_store(lambda: self._upload(number, path), "kept models")

    def remove_model(self, number: int) -> None:
        """Remove trial ``number``'s uploaded model (it is no longer the chosen trial's). Its
        metadata stays with the trial: Optuna cannot delete a system attribute."""
        for meta in self._metas(number):
            if meta.filename.endswith(".keras"):
                self._remove(meta.artifact_id)

    def _metas(self, number: int) -> list[Any]:
        from optuna.artifacts import get_all_artifact_meta

        try:
            trial = self.storage.get_trial(self._trial_id(number))
        except KeyError:
            return []
        return get_all_artifact_meta(trial, storage=self.storage)

    def _checkpoints(self, number: int) -> list[tuple[str, int]]:
        """``(artifact id, epochs)`` of trial ``number``'s checkpoint artifacts, newest first."""
        found = []
        for meta in self._metas(number):
            stem = meta.filename[len(CHECKPOINT_PREFIX):].split(".")[0]
            if meta.filename.startswith(CHECKPOINT_PREFIX) and stem.isdigit():
                found.append((meta.artifact_id, int(stem)))
        return sorted(found, key=lambda item: item[1], reverse=True)

    def _remove(self, artifact_id: str) -> None:
        from optuna.artifacts.exceptions import ArtifactNotFound

        def remove() -> None:
            with contextlib.suppress(ArtifactNotFound):
                self.store.remove(artifact_id)

        # Unreachable: the artifact stays behind, unused (its trial ended or moved on).
        self._reaching_store(remove, "checkpoints")


class MirroredCheckpoint(TrialCheckpoint):
    """A trial's local checkpoint whose every save is uploaded, and whose removal removes the
    uploads: what :meth:`hpo.storage._study_files.StudyFiles.checkpoint` gives with an artifact store."""

    def __init__(self, directory: Path, mirror: CheckpointMirror, number: int) -> None:
        super().__init__(directory)
        self.mirror, self.number = mirror, number

    def save(self, **state: Any) -> None:
        super().save(**state)
        self.mirror.upload(self.number, self)

    def remove(self) -> None:
        super().remove()
        self.mirror.remove_checkpoints(self.number)

    def epochs_done(self) -> int:
        local = super().epochs_done()
        if local:
            return local
        uploads = self.mirror._checkpoints(self.number)
        return uploads[0][1] if uploads else 0

    def copy_from(self, source: "TrialCheckpoint") -> None:
        """Start from a copy of ``source``'s checkpoint: this host's directory when it has it,
        else the newest whole upload of it (any host's); uploaded as this trial's own."""
        copied = TrialCheckpoint(source.directory).copy_to(self)
        number = getattr(source, "number", None)
        if not copied and number is not None:
            self.mirror.fetch(number, self)
        if super().epochs_done():
            self.mirror.upload(self.number, self)

    def take_over(self, dead: "TrialCheckpoint") -> None:
        """Continue from ``dead``'s checkpoint: this host's directory when it has it, else the
        newest whole upload of the dead trial (any host's); then it is this trial's."""
        moved = TrialCheckpoint(dead.directory).move_to(self)
        number = getattr(dead, "number", None)
        if not moved and number is not None:
            self.mirror.fetch(number, self)
        if super().epochs_done():
            self.mirror.upload(self.number, self)
        if number is not None:
            self.mirror.remove_checkpoints(number)
