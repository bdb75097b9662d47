"""The embedded demo: synthesized songs with known stems in two styles, and the demo classifier's training.

``synthesize_song(seed, style)`` builds a song from four stems (vocals, drums, bass, other) and
lyrics; ``write_song`` / ``write_demo_set`` put songs on disk with a sample sheet. The ``ai`` and
``human`` styles differ only in the vocals, the drums and the lyrics (see :mod:`.styles` and
``docs/demo.md``). ``train_demo_model`` (in :mod:`.training`, imported lazily because it needs
torch) trains the demo classifier on freshly synthesized songs.
"""

from .corpus import SET_STYLES, SongFiles, demo_set_seed, write_demo_set, write_song
from .styles import LABEL_NAMES, STYLES, get_style
from .synthesis import STEM_NAMES, DemoSong, synthesize_song

__all__ = ["LABEL_NAMES", "SET_STYLES", "STEM_NAMES", "STYLES", "DemoSong", "SongFiles", "demo_set_seed",
           "get_style", "synthesize_song", "train_demo_model", "write_demo_set", "write_song"]


def __getattr__(name: str):
    if name == "train_demo_model":
        from .training import train_demo_model

        return train_demo_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
