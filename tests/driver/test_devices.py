"""Which worker trains on which GPU (no GPU needed: the list is given or faked)."""

import stat

import pytest

from hpo.driver import _devices as devices
from hpo.errors import SetupError


@pytest.mark.slow
def test_gpus_are_named_found_or_refused(monkeypatch, tmp_path):
    assert devices.parse_gpus("none") == [] and devices.parse_gpus("0, 2") == ["0", "2"]
    with pytest.raises(SetupError, match="--gpus takes auto, none or GPU indices"):
        devices.parse_gpus("first")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi: the CPU, silently
    assert devices.parse_gpus("auto") == [] and devices.parse_gpus(None) == []
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\nprintf '0\\n1\\n'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    assert devices.parse_gpus("auto") == ["0", "1"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")  # a scheduler narrowed it already
    assert devices.detect_gpus() == ["3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert devices.detect_gpus() == []


def test_workers_take_gpus_round_robin_and_the_run_says_so():
    assert devices.assign(["0", "1"], 3) == ["0", "1", "0"] and devices.assign([], 2) == [None, None]
    assert devices.describe([], 4) is None
    assert devices.describe(["0", "1"], 2) == "one worker per GPU: 0, 1"
    assert devices.describe(["0", "1"], 3) == "3 workers share 2 GPU(s) (0, 1) round-robin"


def test_a_worker_names_its_device(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert devices.worker_device() == "GPU 1"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert devices.worker_device() == "CPU"
