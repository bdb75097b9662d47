"""The embedded demo: synthesized songs with known stems in two styles, and the demo classifier's training.

``synthesize_song(seed, style)`` builds a song from four stems (vocals, drums, bass, other) and
lyrics; ``write_song`` / ``write_demo_set`` put songs on disk with a sample sheet. The ``ai`` and
``human`` styles differ only in the vocals, the drums and the lyrics (see :mod:`.styles` and
``docs/demo.md``). ``train_demo_model`` (in :mod:`.training`) trains the demo classifier on freshly
synthesized songs. Names are imported on first use: synthesis needs scipy.signal and training
needs torch, while the workflow's planning only needs the song ids (:mod:`.styles`).
"""

from __future__ import annotations

from ..common.lazy import lazy_getattr

#: Public name -> the submodule that defines it.
_EXPORTS = {
    "SET_STYLES": ".styles", "LABEL_NAMES": ".styles", "STYLES": ".styles", "get_style": ".styles",
    "SongFiles": ".corpus", "demo_set_seed": ".corpus", "write_demo_set": ".corpus", "write_song": ".corpus",
    "STEM_NAMES": ".synthesis", "DemoSong": ".synthesis", "synthesize_song": ".synthesis",
    "train_demo_model": ".training",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())
