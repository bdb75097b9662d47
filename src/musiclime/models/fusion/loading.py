"""Encoders from their settings (``model.audio``, ``model.lyrics``): a hub name, a local folder or a ``_target_``.

Settings are plain dicts (Hydra already resolved)::

    audio:  {encoder: NAME_OR_FOLDER, pooling: mean, layer: -1, chunk_seconds: null, batch_size: 8,
             trust_remote_code: false}
    lyrics: {encoder: NAME_OR_FOLDER, pooling: mean, layer: -1, max_tokens: null, long_lyrics: chunk,
             batch_size: 8, trust_remote_code: false}

or ``{_target_: pkg.factory, ...kwargs}``, built by ``hydra.utils.instantiate`` and checked to have the
encoder interface. Weights are read from disk only (``local_files_only=True``): a hub name must be in
the local Hugging Face cache, and a missing one raises :class:`EncoderUnavailableError` saying how to
get it. :func:`check_encoder_available` checks the same without loading anything (plan time).

Neither torch nor transformers is imported until an encoder is loaded.
"""

from __future__ import annotations

import inspect
import logging
import os
from pathlib import Path
from typing import Any

from .encoders import (AudioEncoder, EncoderError, EncoderUnavailableError, HFAudioEncoder, HFLyricsEncoder,
                       LyricsEncoder)

log = logging.getLogger(__name__)

__all__ = ["load_audio_encoder", "load_lyrics_encoder", "check_encoder_available", "EncoderError",
           "EncoderUnavailableError"]

AUDIO_DEFAULTS = dict(encoder=None, pooling="mean", layer=-1, chunk_seconds=None, batch_size=8,
                      trust_remote_code=False)
LYRICS_DEFAULTS = dict(encoder=None, pooling="mean", layer=-1, max_tokens=None, long_lyrics="chunk", batch_size=8,
                       trust_remote_code=False)
WEIGHT_NAMES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                "pytorch_model.bin.index.json")


def load_audio_encoder(settings: dict, device: str = "cpu", setting: str = "model.audio",
                       randomize_seed: int | None = None) -> AudioEncoder:
    """The audio encoder of ``settings`` on ``device`` ("cpu", "cuda", "cuda:N", "auto").

    ``randomize_seed`` not None: the same architecture with fresh weights drawn after
    ``torch.manual_seed(randomize_seed)`` (the model randomization check); the feature extractor as usual.
    """
    if "_target_" in settings:
        return _from_target(settings, device, setting, randomize_seed, audio=True)
    options = _options(settings, AUDIO_DEFAULTS, setting)
    from transformers import AutoFeatureExtractor

    name, device = _source(options, setting), _device(device, setting)
    extractor = _pretrained(AutoFeatureExtractor, name, setting, options["trust_remote_code"])
    model = _model(name, setting, options["trust_remote_code"], randomize_seed)
    encoder = HFAudioEncoder(model, extractor, pooling=options["pooling"], layer=options["layer"],
                             chunk_seconds=options["chunk_seconds"], batch_size=options["batch_size"], device=device,
                             weight_files=[] if randomize_seed is not None else encoder_files(name), setting=setting,
                             name=name)
    _log_loaded(encoder, setting, name, options, randomize_seed)
    return encoder


def load_lyrics_encoder(settings: dict, device: str = "cpu", setting: str = "model.lyrics",
                        randomize_seed: int | None = None) -> LyricsEncoder:
    """The lyrics encoder of ``settings`` on ``device``; ``randomize_seed`` as in :func:`load_audio_encoder`."""
    if "_target_" in settings:
        return _from_target(settings, device, setting, randomize_seed, audio=False)
    options = _options(settings, LYRICS_DEFAULTS, setting)
    from transformers import AutoTokenizer

    name, device = _source(options, setting), _device(device, setting)
    tokenizer = _pretrained(AutoTokenizer, name, setting, options["trust_remote_code"])
    model = _model(name, setting, options["trust_remote_code"], randomize_seed)
    encoder = HFLyricsEncoder(model, tokenizer, pooling=options["pooling"], layer=options["layer"],
                              max_tokens=options["max_tokens"], long_lyrics=options["long_lyrics"],
                              batch_size=options["batch_size"], device=device,
                              weight_files=[] if randomize_seed is not None else encoder_files(name), setting=setting,
                              name=name)
    _log_loaded(encoder, setting, name, options, randomize_seed)
    return encoder


def check_encoder_available(settings: dict, setting: str) -> None:
    """Raise :class:`EncoderUnavailableError` naming ``setting`` unless the encoder could be loaded offline.

    Cheap (no model is loaded): a ``_target_`` must import; a folder must exist and hold
    ``config.json``; a hub name must have its ``config.json`` in the local Hugging Face cache.
    """
    if "_target_" in settings:
        _factory(settings["_target_"], setting)
        return
    name = _source(_options(settings, AUDIO_DEFAULTS | LYRICS_DEFAULTS, setting), setting)
    if not _is_folder(name) and cached_snapshot(name) is None:
        raise EncoderUnavailableError(_advice(name, setting))


def _options(settings: dict, defaults: dict, setting: str) -> dict:
    """``settings`` over ``defaults``; :class:`EncoderError` naming an unknown key or a value of the wrong type."""
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise EncoderError(f"unknown settings {', '.join(f'{setting}.{key}' for key in unknown)}; "
                           f"known: {', '.join(sorted(defaults))} (or _target_)")
    options = {**defaults, **settings}

    def is_int(value):
        return isinstance(value, int) and not isinstance(value, bool)

    checks = {"batch_size": lambda v: is_int(v) and v >= 1, "layer": is_int,
              "chunk_seconds": lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)
                                                       and v > 0),
              "max_tokens": lambda v: v is None or (is_int(v) and v >= 1),
              "trust_remote_code": lambda v: isinstance(v, bool)}
    for key, ok in checks.items():
        if key in options and not ok(options[key]):
            raise EncoderError(f"{setting}.{key}={options[key]!r} is not valid (see the encoder settings docs)")
    return options


def _source(options: dict, setting: str) -> str:
    """The hub name or folder of ``options["encoder"]``; a missing folder raises :class:`EncoderUnavailableError`."""
    name = options.get("encoder")
    if not isinstance(name, (str, os.PathLike)) or not str(name):
        raise EncoderError(f"{setting}.encoder is not set: give a Hugging Face model name, a local folder "
                           f"(save_pretrained layout) or {setting}._target_")
    name = str(name)
    if names_folder(name):
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise EncoderUnavailableError(f"{setting}.encoder={name!r}: the folder {folder} does not exist")
        if not (folder / "config.json").is_file():
            raise EncoderUnavailableError(f"{setting}.encoder={name!r}: the folder {folder} holds no config.json "
                                          f"(expected a save_pretrained folder)")
        return str(folder)
    return name


def names_folder(name: str) -> bool:
    """Whether an encoder ``name`` means a local folder (a path, or a folder that exists) rather than a hub name."""
    return _looks_like_path(name) or _is_folder(name)


def _looks_like_path(name: str) -> bool:
    """A hub name is ``org/model`` or ``model``; anything else with a separator is meant as a folder."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name


def _is_folder(name: str) -> bool:
    return Path(name).expanduser().is_dir()


def cached_snapshot(name: str, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The local Hugging Face cache snapshot folder of hub model ``name`` (``snapshots/<commit>``, the revision
    ``refs/main`` names), or None when not cached. Offline: reads the cache only. ``cache_dir``: the hub cache
    (default: ``HF_HUB_CACHE``, ``~/.cache/huggingface/hub``)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(name, "config.json", cache_dir=cache_dir)
    except Exception:  # an invalid repository id is not cached either
        return None
    return Path(found).parent if isinstance(found, str) else None


def _advice(name: str, setting: str) -> str:
    return (f"{setting}.encoder={name!r}: the weights are not on this machine and musiclime does not download "
            f"them. On a machine with internet, either run `hf download {name}` and copy the Hugging Face cache "
            f"(HF_HOME, ~/.cache/huggingface) here, or save a folder with AutoModel.from_pretrained({name!r})"
            f".save_pretrained(DIR) and AutoFeatureExtractor (audio) / AutoTokenizer (lyrics) "
            f".from_pretrained({name!r}).save_pretrained(DIR), copy DIR here and set {setting}.encoder=DIR")


def _device(device: str, setting: str) -> str:
    from ...common.devices import resolve_device

    return resolve_device(device, f"{setting} encoder")


def _pretrained(loader: Any, name: str, setting: str, trust_remote_code: bool, **kwargs) -> Any:
    """``loader.from_pretrained(name)`` from local files only; unavailable weights raise with advice."""
    try:
        return loader.from_pretrained(name, local_files_only=True, trust_remote_code=trust_remote_code, **kwargs)
    except (OSError, ValueError) as exc:
        if _is_folder(name):
            raise EncoderUnavailableError(f"{setting}.encoder={name!r}: {loader.__name__} cannot read the folder "
                                          f"{name}: {exc}") from exc
        raise EncoderUnavailableError(_advice(name, setting)) from exc


def _model(name: str, setting: str, trust_remote_code: bool, randomize_seed: int | None) -> Any:
    """The model of ``name`` in float32: saved weights, or fresh ones seeded by ``randomize_seed``."""
    import torch
    from transformers import AutoConfig, AutoModel

    if randomize_seed is None:
        return _pretrained(AutoModel, name, setting, trust_remote_code, dtype=torch.float32)
    config = _pretrained(AutoConfig, name, setting, trust_remote_code)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(randomize_seed)
        return AutoModel.from_config(config, trust_remote_code=trust_remote_code).float()


def encoder_files(name: str) -> list[Path]:
    """The files of the folder or cached snapshot that holds ``name`` (what a model cache watches)."""
    folder = Path(name).expanduser() if _is_folder(name) else cached_snapshot(name)
    if folder is None:
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _log_loaded(encoder: Any, setting: str, name: str, options: dict, randomize_seed: int | None) -> None:
    weights = "saved weights" if randomize_seed is None else f"random weights (seed {randomize_seed})"
    log.info("%s: %s with %s on %s: %d parameters, dim %d, layer %d, %s pooling", setting, name, weights,
             encoder.device, sum(p.numel() for p in encoder.model.parameters()), encoder.dim, options["layer"],
             options["pooling"])


def _factory(target: str, setting: str) -> Any:
    """The callable ``target`` names; :class:`EncoderUnavailableError` naming ``setting._target_`` if it
    does not import."""
    from hydra.utils import get_object

    try:
        factory = get_object(target)
    except Exception as exc:
        raise EncoderUnavailableError(f"{setting}._target_={target!r} cannot be imported: {exc}") from exc
    if not callable(factory):
        raise EncoderError(f"{setting}._target_={target!r} is not callable")
    return factory


def _from_target(settings: dict, device: str, setting: str, randomize_seed: int | None, audio: bool) -> Any:
    """Build the encoder of ``settings["_target_"]`` and check its interface.

    The factory gets ``device`` and ``randomize_seed`` when its signature takes them; a factory that
    cannot randomize its weights refuses the randomization check.
    """
    from hydra.utils import instantiate

    target = settings["_target_"]
    factory = _factory(target, setting)
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        parameters = {}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    extra = {}
    if "device" not in settings and ("device" in parameters or takes_any):
        extra["device"] = _device(device, setting)
    if randomize_seed is not None:
        if not ("randomize_seed" in parameters or takes_any):
            raise EncoderError(f"{setting}._target_={target!r} takes no randomize_seed argument, so the model "
                               f"randomization check cannot re-initialise it")
        extra["randomize_seed"] = randomize_seed
    encoder = instantiate(dict(settings), **extra)
    needs = ["an encode method", "an int dim"] + (["an int sample_rate"] if audio else [])
    ok = callable(getattr(encoder, "encode", None)) and _is_int(getattr(encoder, "dim", None))
    if audio:
        ok = ok and _is_int(getattr(encoder, "sample_rate", None))
    if not ok:
        raise EncoderError(f"{setting}._target_={target!r} returned a {type(encoder).__name__}, not an "
                           f"{'audio' if audio else 'lyrics'} encoder: it needs {', '.join(needs)}")
    log.info("%s: %s from %s, dim %d", setting, type(encoder).__name__, target, encoder.dim)
    return encoder


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
