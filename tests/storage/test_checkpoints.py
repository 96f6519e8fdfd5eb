"""Epoch checkpoints on disk, without Keras."""

import json
from pathlib import Path

import numpy as np
import pytest

from hpo.errors import CheckpointError
from hpo.storage._checkpoints import TrialCheckpoint


def _save(checkpoint, epochs_done, *, best_epoch, best_weights=None, wait=0):
    checkpoint.save(
        epochs_done=epochs_done,
        curve=[0.1 * e for e in range(1, epochs_done + 1)],
        best_epoch=best_epoch,
        wait=wait,
        model_weights=[np.full((2, 3), epochs_done, dtype="float32"), np.zeros(3, dtype="float32")],
        optimizer_variables=[np.array(epochs_done * 10, dtype="int64")],
        best_weights=best_weights,
    )


def test_the_last_epoch_round_trips_with_curve_best_weights_and_patience(tmp_path):
    checkpoint = TrialCheckpoint(tmp_path / "trial-3")
    assert checkpoint.load() is None and checkpoint.epochs_done() == 0
    best = [np.ones((2, 3), dtype="float32"), np.ones(3, dtype="float32")]
    _save(checkpoint, 1, best_epoch=1, best_weights=best)
    _save(checkpoint, 2, best_epoch=1, best_weights=None, wait=1)  # no improvement: best kept
    state = checkpoint.load()
    assert state.epochs_done == 2 and checkpoint.epochs_done() == 2
    assert state.curve == pytest.approx([0.1, 0.2]) and state.best_epoch == 1 and state.wait == 1
    assert np.all(state.model_weights[0] == 2) and int(state.optimizer_variables[0]) == 20
    assert np.all(state.best_weights[0] == 1)
    # Only the files the state names are left: disk use does not grow with epochs.
    assert sorted(p.name for p in checkpoint.directory.iterdir()) == ["best-0001.npz", "epoch-0002.npz", "state.json"]


def test_a_new_best_replaces_the_old_best_file(tmp_path):
    checkpoint = TrialCheckpoint(tmp_path / "c")
    _save(checkpoint, 1, best_epoch=1, best_weights=[np.zeros(1)])
    _save(checkpoint, 2, best_epoch=2, best_weights=[np.full(1, 2.0)])
    assert sorted(p.name for p in checkpoint.directory.glob("best-*")) == ["best-0002.npz"]
    assert checkpoint.load().best_weights[0][0] == 2.0


def test_a_write_killed_before_its_commit_leaves_the_previous_checkpoint(tmp_path):
    checkpoint = TrialCheckpoint(tmp_path / "c")
    _save(checkpoint, 4, best_epoch=4, best_weights=[np.zeros(1)])
    # What a process killed while writing epoch 5 leaves: a partial array file, no new state.
    (checkpoint.directory / "epoch-0005.npz.tmp").write_bytes(b"PK\x03\x04 partial")
    state = checkpoint.load()
    assert state.epochs_done == 4 and np.all(state.model_weights[0] == 4)


@pytest.mark.parametrize("damage", ["state", "arrays", "curve"])
def test_a_damaged_checkpoint_is_an_error_not_a_crash(tmp_path, damage):
    checkpoint = TrialCheckpoint(tmp_path / "c")
    _save(checkpoint, 2, best_epoch=2, best_weights=[np.zeros(1)])
    state_path = checkpoint.directory / "state.json"
    if damage == "state":
        state_path.write_text("{not json")
    elif damage == "arrays":
        (checkpoint.directory / "epoch-0002.npz").write_bytes(b"garbage")
    else:
        state = json.loads(state_path.read_text())
        state["curve"] = [0.5]
        state_path.write_text(json.dumps(state))
    with pytest.raises(CheckpointError):
        checkpoint.load()
    assert checkpoint.epochs_done() in (0, 2)  # never raises


def test_a_retry_takes_over_the_checkpoint_of_the_trial_it_retries(tmp_path):
    dead, retry = TrialCheckpoint(tmp_path / "trial-3"), TrialCheckpoint(tmp_path / "trial-9")
    _save(dead, 3, best_epoch=3, best_weights=[np.zeros(1)])
    assert dead.move_to(retry)
    assert not dead.directory.exists() and retry.load().epochs_done == 3
    assert not dead.move_to(retry)  # nothing left to hand over
    retry.remove()
    assert not retry.directory.exists()


def test_a_copy_is_whole_and_leaves_the_source(tmp_path):
    source, target = TrialCheckpoint(tmp_path / "trial-2"), TrialCheckpoint(tmp_path / "trial-7")
    assert not source.copy_to(target)  # nothing to copy
    _save(source, 2, best_epoch=1, best_weights=[np.ones(2)])
    _save(target, 1, best_epoch=1)  # a half-done segment's own: replaced
    assert source.copy_to(target)
    assert source.load().epochs_done == 2 and target.load().epochs_done == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".copying")] == []


def test_a_directory_taken_by_a_retry_is_not_written_again_but_one_removed_by_its_owner_is(tmp_path):
    from hpo.errors import TrialTakenOver

    checkpoint = TrialCheckpoint(tmp_path / "trial-3")
    _save(checkpoint, 1, best_epoch=1)
    assert TrialCheckpoint(checkpoint.directory).move_to(TrialCheckpoint(tmp_path / "trial-9"))  # the retry's
    with pytest.raises(TrialTakenOver, match="taken over by a retry"):
        _save(checkpoint, 2, best_epoch=1)
    assert not checkpoint.directory.exists() and TrialCheckpoint(tmp_path / "trial-9").epochs_done() == 1
    own = TrialCheckpoint(tmp_path / "fold")
    _save(own, 1, best_epoch=1)
    own.remove()  # a fold that ended: the next one starts a checkpoint of its own
    _save(own, 1, best_epoch=1)
    assert own.epochs_done() == 1


@pytest.mark.parametrize("failing", ["epoch", "best", "state.json"])
def test_a_full_disk_mid_save_leaves_the_previous_checkpoint_whole_and_no_stray_file(tmp_path, monkeypatch, failing):
    import errno
    import os

    import hpo.storage._checkpoints as checkpoints

    checkpoint = TrialCheckpoint(tmp_path / "c")
    _save(checkpoint, 1, best_epoch=1, best_weights=[np.zeros(1)])
    real_arrays, real_replace = checkpoints._write_arrays, os.replace

    def no_space(path):
        path.with_name(path.name + ".tmp").write_bytes(b"half")  # what a write cut short leaves
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoints, "_write_arrays",
                        lambda path, arrays: no_space(path) if path.name.startswith(failing) else real_arrays(path, arrays))
    monkeypatch.setattr(checkpoints.os, "replace",
                        lambda source, target: no_space(Path(target)) if Path(target).name == failing
                        else real_replace(source, target))
    with pytest.raises(OSError, match="No space left"):
        _save(checkpoint, 2, best_epoch=2, best_weights=[np.ones(1)])
    monkeypatch.undo()
    state = checkpoint.load()
    assert state.epochs_done == 1 and state.best_weights[0][0] == 0.0
    assert sorted(p.name for p in checkpoint.directory.iterdir()) == ["best-0001.npz", "epoch-0001.npz", "state.json"]
