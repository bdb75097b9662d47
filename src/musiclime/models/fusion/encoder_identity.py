"""What an encoder is beyond its settings: the bytes of a local folder, or the revision of a cached hub model.

An embedding depends on the encoder's weights, not only on the settings that name them: a fine-tuned
checkpoint saved over a local folder, or a new revision of a hub model pulled into the cache, changes
no setting. :func:`encoder_identity` gives what does change, so the workflow can key embeddings by it:

* a local folder (a ``save_pretrained`` layout): ``{"sha256", "files"}``, the SHA-256 of the lines
  ``"<sha256>  <file name>\\n"`` of every file at its top level but hidden ones (weights, ``config.json``,
  the tokenizer or feature extractor files; what :func:`~.loading.encoder_files` names and a model
  cache watches), sorted by name, as ``sha256sum * | sort -k2`` prints them. Each file is hashed once and
  its hash kept by path, size and mtime (:class:`~musiclime.common.file_hashes.FileHashes`): a 1.4 GB
  RoBERTa-large folder costs about a second the first time, a stat per file after;
* a hub name: ``{"revision"}``, the commit of the snapshot that ``refs/main`` names in the local
  Hugging Face cache (read offline, nothing is downloaded);
* ``None``: an encoder built by a ``_target_`` factory (its weights are the factory's business), or one
  that is not there (the plan's checks then name it).

Neither torch nor transformers is imported here.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ...common.file_hashes import FileHashes
from .loading import cached_snapshot, encoder_files, names_folder


def encoder_identity(settings: dict, hashes: FileHashes | None = None,
                     cache_dir: str | os.PathLike | None = None) -> dict | None:
    """The identity of the encoder of ``settings`` (config ``model.audio`` or ``model.lyrics``), or ``None``.

    Args:
        hashes: the file hash cache (default: one kept only in this call).
        cache_dir: the Hugging Face hub cache (default: ``HF_HUB_CACHE``).

    Returns:
        ``{"sha256": hex, "files": n}`` for a local folder, ``{"revision": commit}`` for a cached hub
        model, ``None`` for a ``_target_`` factory or an encoder that cannot be found.
    """
    name = settings.get("encoder")
    if "_target_" in settings or not isinstance(name, (str, os.PathLike)) or not str(name):
        return None
    name = str(name)
    if names_folder(name):
        folder = Path(name).expanduser()
        return folder_fingerprint(encoder_files(str(folder)), hashes) if folder.is_dir() else None
    snapshot = cached_snapshot(name, cache_dir)
    return None if snapshot is None else {"revision": snapshot.name}


def folder_fingerprint(files: list[Path], hashes: FileHashes | None = None) -> dict:
    """``{"sha256", "files"}`` of a folder's ``files``: the SHA-256 of their ``"<sha256>  <name>\\n"`` lines
    sorted by name (so it is the same wherever the folder is copied)."""
    hashes = hashes or FileHashes(cache_file=None)
    listing = "".join(f"{hashes.sha256(path)}  {path.name}\n" for path in sorted(files, key=lambda p: p.name))
    return {"sha256": hashlib.sha256(listing.encode()).hexdigest(), "files": len(files)}


def describe_identity(identity: dict | None) -> str:
    """``content sha256 3fa2c1d0e9b4 (5 files)``, ``hub revision 1a2b3c4d5e6f``, or ``unknown``."""
    if not identity:
        return "unknown"
    if "revision" in identity:
        return f"hub revision {identity['revision'][:12]}"
    return f"content sha256 {identity['sha256'][:12]} ({identity['files']} files)"
