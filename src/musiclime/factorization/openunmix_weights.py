"""Loading Open-Unmix separators: pretrained names (downloaded once) or local weights folders.

A local weights folder is in Open-Unmix's own format: ``separator.json`` (``sample_rate``,
``nfft``, ``nhop``, ``nb_channels``, optionally ``targets``), and per target ``<target>.json``
(``{"args": {"nfft", "nb_channels", "hidden_size"}}``) and ``<target>*.pth`` (a state_dict).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ..common.atomic_io import atomic_path, write_json
from ..common.errors import WeightsUnavailableError

log = logging.getLogger(__name__)

PRETRAINED_MODELS = ("umxl", "umxhq", "umx", "umxse")
OPENUNMIX_TARGETS = ("vocals", "drums", "bass", "other")


def load_openunmix_separator(model: str | os.PathLike = "umxl", device: str = "cpu", niter: int = 1,
                             wiener_win_len: int | None = 300):
    """Return an eval-mode ``openunmix.model.Separator`` for a pretrained name or a weights folder.

    Raises:
        WeightsUnavailableError: a pretrained name whose weights cannot be downloaded (offline),
            an unknown name, or an incomplete weights folder; the message says how to get weights.
    """
    import openunmix  # noqa: F401  (heavy import, deferred)
    from openunmix.utils import load_separator

    path = Path(model).expanduser()
    if path.exists():
        targets = weights_folder_targets(path)
        separator = load_separator(str(path), targets=targets, niter=niter, wiener_win_len=wiener_win_len,
                                   device=device, pretrained=True)
    else:
        name = str(model)
        if name not in PRETRAINED_MODELS:
            raise WeightsUnavailableError(
                f"Open-Unmix model {name!r} is neither a pretrained name ({', '.join(PRETRAINED_MODELS)}) "
                f"nor an existing weights folder"
            )
        try:
            separator = load_separator(name, niter=niter, wiener_win_len=wiener_win_len, device=device,
                                       pretrained=True)
        except Exception as exc:  # URLError, HTTPError, OSError, RuntimeError from torch.hub
            raise WeightsUnavailableError(
                f"cannot load pretrained Open-Unmix weights {name!r}: {type(exc).__name__}: {exc}. "
                f"This machine looks offline. Either run `python -c \"import openunmix; openunmix.{name}()\"` "
                f"on a machine with internet and copy the torch hub cache "
                f"(~/.cache/torch/hub/checkpoints, or $TORCH_HOME/hub/checkpoints) here, or pass "
                f"model=<folder> holding separator.json, <target>.json and <target>*.pth "
                f"(separation.model=<folder> in the workflow); the 'time_only' or 'stems' backends need no weights"
            ) from exc
    separator.freeze()
    return separator


def weights_folder_targets(folder: Path) -> list[str]:
    """Targets of a local weights folder, in ``separator.json`` order or Open-Unmix order."""
    separator_json = folder / "separator.json"
    if not separator_json.is_file():
        raise WeightsUnavailableError(f"Open-Unmix weights folder {folder} lacks separator.json")
    config = json.loads(separator_json.read_text())
    missing = [k for k in ("sample_rate", "nfft", "nhop", "nb_channels") if k not in config]
    if missing:
        raise WeightsUnavailableError(f"{separator_json} lacks keys {missing}")
    found = sorted(p.stem for p in folder.glob("*.json") if p.name != "separator.json")
    targets = list(config.get("targets") or
                   [t for t in OPENUNMIX_TARGETS if t in found] + [t for t in found if t not in OPENUNMIX_TARGETS])
    for target in targets:
        if not (folder / f"{target}.json").is_file() or not list(folder.glob(f"{target}*.pth")):
            raise WeightsUnavailableError(f"Open-Unmix weights folder {folder} lacks {target}.json or {target}*.pth")
    if not targets:
        raise WeightsUnavailableError(f"Open-Unmix weights folder {folder} holds no <target>.json")
    return targets


def save_weights_folder(target_models: dict, folder: str | os.PathLike, sample_rate: int = 44100,
                        nfft: int = 4096, nhop: int = 1024, nb_channels: int = 2) -> Path:
    """Write ``{target: openunmix.model.OpenUnmix}`` as a weights folder that the loader reads."""
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for target, module in target_models.items():
        with atomic_path(folder / f"{target}.pth") as tmp:
            torch.save(module.state_dict(), tmp)
        hidden_size = int(module.fc1.out_features)
        write_json(folder / f"{target}.json",
                   {"args": {"nfft": nfft, "nb_channels": nb_channels, "hidden_size": hidden_size}})
    write_json(folder / "separator.json", {"sample_rate": sample_rate, "nfft": nfft, "nhop": nhop,
                                           "nb_channels": nb_channels, "targets": list(target_models)})
    return folder


def init_untrained_weights_folder(folder: str | os.PathLike, targets=OPENUNMIX_TARGETS, hidden_size: int = 32,
                                  sample_rate: int = 44100, nfft: int = 2048, nhop: int = 512, seed: int = 0) -> Path:
    """Write freshly initialised (untrained) Open-Unmix models as a weights folder.

    For offline tests and benchmarks: the separation is meaningless but runs the real code path.
    """
    import torch
    from openunmix.model import OpenUnmix

    torch.manual_seed(seed)
    nb_bins = nfft // 2 + 1
    models = {t: OpenUnmix(nb_bins=nb_bins, nb_channels=2, hidden_size=hidden_size, max_bin=nb_bins) for t in targets}
    return save_weights_folder(models, folder, sample_rate=sample_rate, nfft=nfft, nhop=nhop)
