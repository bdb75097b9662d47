"""Device names from configs: validated, auto falls back to the CPU with a log line."""

import logging

import pytest
import torch

from musiclime.common.devices import check_device_name, resolve_device
from musiclime.common.errors import ConfigError


def test_names_are_checked_and_name_their_key():
    for ok in ("cpu", "cuda", "cuda:3", "auto"):
        check_device_name(ok, "compute.device")
    for bad in ("gpu", "cuda:", "cuda:x", "tpu"):
        with pytest.raises(ConfigError, match=r"compute\.device"):
            check_device_name(bad, "compute.device")
    assert resolve_device("cpu", "a test") == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without CUDA")
def test_without_cuda_auto_falls_back_with_a_log_line_and_cuda_fails_clearly(caplog):
    with caplog.at_level(logging.INFO, logger="musiclime.common.devices"):
        assert resolve_device("auto", "Open-Unmix separation", key="separation.device") == "cpu"
    assert "separation.device=auto" in caplog.text and "CPU" in caplog.text
    with pytest.raises(ConfigError, match=r"compute\.device.*CUDA is not available"):
        resolve_device("cuda", "the demo model")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_with_cuda_auto_picks_it():
    assert resolve_device("auto", "a test") == "cuda"
