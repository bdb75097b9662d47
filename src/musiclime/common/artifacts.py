"""Reading and writing the workflow's stage artifacts (``.npz`` arrays with JSON metadata, YAML configs).

Every write is atomic, so an interrupted job never leaves a truncated artifact behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from .atomic_io import write_npz, write_text
from .errors import MusicLimeError


def save_arrays(path: str | os.PathLike, meta: dict, **arrays: np.ndarray) -> Path:
    """Write ``arrays`` and a JSON ``meta`` dict to one ``.npz`` (atomic)."""
    return write_npz(path, meta=np.array(json.dumps(meta, default=_plain)), **arrays)


def load_arrays(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """Read an artifact written by :func:`save_arrays`: ``(meta, arrays)``."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as exc:
        raise MusicLimeError(f"cannot read artifact {path}: {exc}; delete it and re-run the workflow") from exc
    meta = json.loads(str(arrays.pop("meta")))
    return meta, arrays


def write_config(path: str | os.PathLike, config: dict) -> Path:
    """Write a resolved config (slice) as YAML beside an artifact (atomic)."""
    return write_text(path, OmegaConf.to_yaml(OmegaConf.create(_plain_tree(config))))


def _plain_tree(value):
    if isinstance(value, dict):
        return {str(k): _plain_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_tree(v) for v in value]
    return _plain(value) if isinstance(value, (np.generic, Path)) else value


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
