"""GPUs: which worker trains on which, decided before TensorFlow is imported.

``--gpus auto`` (the default) finds the machine's NVIDIA GPUs with ``nvidia-smi`` (no
TensorFlow import in the parent), ``--gpus none`` trains on the CPU, ``--gpus 0,1`` names them.
With GPUs, a run or a joining host starts one worker per GPU unless ``--workers`` says
otherwise; more workers than GPUs share them round-robin (and hpo says so). Each worker is
started with its own ``CUDA_VISIBLE_DEVICES``, so its TensorFlow sees one GPU, and
:mod:`hpo._keras_runtime` turns memory growth on, so workers sharing a GPU do not each take
all of its memory. Without a GPU, ``auto`` is the CPU, silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from hpo.errors import SetupError

CUDA_ENV = "CUDA_VISIBLE_DEVICES"


def detect_gpus() -> list[str]:
    """Indices of this machine's NVIDIA GPUs (empty without a driver or a GPU)."""
    visible = os.environ.get(CUDA_ENV)
    if visible is not None:  # already narrowed (a scheduler such as Slurm sets it)
        return [device for device in visible.split(",") if device.strip() and device.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listed = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    if listed.returncode != 0:
        return []
    return [line.strip() for line in listed.stdout.splitlines() if line.strip().isdigit()]


def parse_gpus(setting: str | None) -> list[str]:
    """The GPUs ``--gpus`` names: ``auto`` (or nothing), ``none``, or ``0,1,...``."""
    if setting is None or setting == "auto":
        return detect_gpus()
    if setting == "none":
        return []
    devices = [device.strip() for device in setting.split(",")]
    if not devices or not all(device.isdigit() for device in devices):
        raise SetupError(f"--gpus takes auto, none or GPU indices such as 0,1; got {setting!r}")
    return devices


def assign(gpus: list[str], workers: int) -> list[str | None]:
    """The GPU of each of ``workers`` workers (round-robin); None each without GPUs."""
    if not gpus:
        return [None] * workers
    return [gpus[index % len(gpus)] for index in range(workers)]


def describe(gpus: list[str], workers: int) -> str | None:
    """The line a run prints about its devices (None on the CPU: nothing to say)."""
    if not gpus:
        return None
    if workers > len(gpus):
        return f"{workers} workers share {len(gpus)} GPU(s) ({', '.join(gpus)}) round-robin"
    return f"one worker per GPU: {', '.join(gpus[:workers])}"


def worker_device() -> str:
    """This process's device, for its progress lines: ``GPU n`` or ``CPU``."""
    visible = os.environ.get(CUDA_ENV, "")
    return f"GPU {visible}" if visible and visible != "-1" else "CPU"
