"""Curve banks: stored, loaded, checked."""

import numpy as np
import pytest

from hpo.errors import SetupError
from hpo.simulation import load_bank
from tests.simulation.bank_factory import tiny_bank


def test_a_bank_round_trips_through_its_two_files(tmp_path):
    import dataclasses

    bank = dataclasses.replace(tiny_bank(), objective="mlp", sources=[f"tiny-p1:{i}" for i in range(40)])
    bank.save(tmp_path)
    loaded = load_bank("tiny", tmp_path)
    assert (loaded.metric, loaded.direction, loaded.n_configs, loaded.n_epochs) == ("val_accuracy", "maximize", 40, 6)
    assert loaded.objective == "mlp" and loaded.sources == bank.sources
    assert loaded.configs == bank.configs and loaded.distributions == bank.distributions
    for name in ("curves", "losses", "test_curves", "seconds", "n_params"):
        assert np.array_equal(getattr(loaded, name), getattr(bank, name))


def test_the_folder_comes_from_the_environment_and_a_missing_bank_is_one_line(tmp_path, monkeypatch):
    tiny_bank().save(tmp_path)
    monkeypatch.setenv("HPO_CURVE_BANK", str(tmp_path))
    assert load_bank("tiny").n_configs == 40
    with pytest.raises(SetupError, match=r"no curve bank for task 'digits_mlp' in .*: expected digits_mlp.json"):
        load_bank("digits_mlp")


def test_a_broken_bank_is_refused(tmp_path):
    bank = tiny_bank()
    bank.save(tmp_path)
    (tmp_path / "tiny.npz").write_bytes(b"not a zip")
    with pytest.raises(SetupError, match="curve bank 'tiny' in .* is unreadable"):
        load_bank("tiny", tmp_path)
    with pytest.raises(SetupError, match="seconds has shape"):
        type(bank)(**{**bank.__dict__, "seconds": bank.seconds[:, :3]})


def test_a_configuration_scores_its_best_epoch_so_far():
    bank = tiny_bank()
    curve = bank.curves[3]
    assert bank.final_best(3) == curve.max() and bank.final_best(3, 2) == curve[:2].max()


def test_a_bank_replays_on_its_validation_loss_by_name(tmp_path):
    bank = tiny_bank()
    bank.save(tmp_path)
    on_loss = load_bank("tiny:val_loss", tmp_path)
    assert (on_loss.task, on_loss.metric, on_loss.direction) == ("tiny:val_loss", "val_loss", "minimize")
    assert np.array_equal(on_loss.curves, bank.losses) and on_loss.on_metric("val_loss") is on_loss
    with pytest.raises(SetupError, match="records val_accuracy and val_loss, not 'val_auc'"):
        load_bank("tiny:val_auc", tmp_path)
