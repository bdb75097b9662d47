"""Torch device names from configs: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when present).

torch is imported only when a device is resolved, so importing this module stays light.
"""

from __future__ import annotations

import logging

from .errors import ConfigError

log = logging.getLogger(__name__)


def check_device_name(device: str, key: str) -> None:
    """Raise :class:`ConfigError` naming ``key`` unless ``device`` is auto, cpu, cuda or cuda:N."""
    device = str(device)
    ok = device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit())
    if not ok:
        raise ConfigError(f"config key {key}: expected auto, cpu, cuda or cuda:N, got {device!r}")


def resolve_device(device: str, purpose: str, key: str = "compute.device") -> str:
    """The torch device to run ``purpose`` (e.g. ``"Open-Unmix separation"``) on.

    ``auto`` gives ``cuda`` when CUDA is available and otherwise ``cpu``, with a log line saying
    so; ``cuda``/``cuda:N`` without CUDA raises a :class:`ConfigError` naming ``key``.
    """
    check_device_name(device, key)
    device = str(device)
    if device == "cpu":
        return device
    import torch

    available = torch.cuda.is_available()
    if device == "auto":
        if available:
            return "cuda"
        log.info("%s: %s=auto and CUDA is not available: running on the CPU", purpose, key)
        return "cpu"
    if not available:
        raise ConfigError(f"config key {key}: {purpose} asks for {device!r} but CUDA is not available here "
                          f"(torch {torch.__version__}); use auto or cpu")
    index = int(device.split(":", 1)[1]) if ":" in device else 0
    if index >= torch.cuda.device_count():
        raise ConfigError(f"config key {key}: {device!r} but only {torch.cuda.device_count()} CUDA device(s)")
    return device
