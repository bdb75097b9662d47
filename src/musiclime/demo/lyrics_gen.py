"""Lyrics of the demo songs, written from templates in two styles.

* ``generic`` (ai style): short lines of stock song vocabulary and filler ("oh", "yeah", "la la la");
  lines repeat verbatim inside verses, the chorus is two lines repeated, every chorus is identical.
* ``narrative`` (human style): longer lines about concrete people, places, objects and times; no
  line repeats inside a section; a repeated chorus keeps its first three lines and ends on a new one.

Both styles use the same section layout (``[Verse 1]``, ``[Chorus]``, ...), chosen with the
arrangement, and four lines per verse and chorus, two per bridge.
"""

from __future__ import annotations

import re

import numpy as np

GENERIC_WORDS = {
    "noun": ("heart", "night", "fire", "dream", "light", "soul", "sky", "love", "feeling", "world", "rhythm",
             "moment", "stars", "energy", "paradise", "melody", "emotion", "destiny", "horizon", "magic"),
    "verb": ("shine", "feel", "dance", "fly", "rise", "burn", "glow", "believe", "ignite", "dream", "shine",
             "chase the light", "break free", "let go", "come alive"),
    "adj": ("endless", "golden", "electric", "bright", "wild", "infinite", "eternal", "shining", "beautiful",
            "perfect", "neon", "cosmic"),
    "filler": ("oh", "yeah", "baby", "whoa", "ooh", "hey"),
    "chant": ("la la la", "na na na", "oh oh oh", "yeah yeah yeah", "ooh ooh"),
}
GENERIC_TEMPLATES = (
    "{filler} {filler} we {verb} tonight", "{adj} {noun} in the {adj} {noun}", "we {verb} and we {verb} forever",
    "feel the {noun} feel the {noun}", "{filler} baby you are my {noun}", "{chant} {chant}",
    "together we {verb} in the {noun}", "{adj} {noun} never let me go", "we are the {noun} we are the {noun}",
    "{filler} we {verb} {verb} tonight", "you and me we {verb} so high", "in this {adj} {noun} we {verb}",
    "{noun} {noun} {filler} {filler}", "{filler} {chant}",
)
NARRATIVE_WORDS = {
    "name": ("Maria", "Tom", "Eddie", "my sister", "old Jack", "Rosa", "my father", "the landlord", "Danny",
             "Aunt Clare", "Luis", "the mailman", "Mrs. Okafor", "your cousin Ray"),
    "place": ("the bus station", "Fifth Street", "my mother's kitchen", "the harbor", "the laundromat",
              "a motel in Tulsa", "the parking lot", "the church steps", "the county fair", "the back porch",
              "the ferry dock", "the hardware store", "Route 9", "the night shift canteen"),
    "object": ("a chipped coffee cup", "the letter", "the kitchen radio", "his denim jacket", "the porch light",
               "a borrowed guitar", "the car keys", "a paper map", "her grandmother's ring", "the screen door",
               "a box of photographs", "the broken clock", "a bag of oranges", "the spare tire"),
    "time": ("last November", "on Sunday morning", "at half past two", "the winter we moved", "before the rain",
             "after the funeral", "in ninety-one", "the summer I turned twelve", "on the last bus home",
             "while the kettle boiled"),
    "verb": ("left", "found", "burned", "painted", "borrowed", "forgot", "fixed", "sold", "carried", "hid",
             "mended", "lost", "wrapped", "returned"),
}
NARRATIVE_TEMPLATES = (
    "{name} {verb} {object} at {place}", "we drove past {place} {time}", "I still keep {object} from {time}",
    "{name} said the rent was due {time}", "you {verb} {object} and never told me why",
    "there was {object} on the table by {place}", "{time} {name} {verb} {object}",
    "the smell of diesel hanging over {place}", "I counted every step from {place} to {place}",
    "{name} hummed along with {object}", "nobody {verb} {object} the way {name} did",
    "I wrote your number on {object} {time}", "{name} waited at {place} with {object}",
    "{time} the lights went out on {place}",
)
_SLOT = re.compile(r"\{(\w+)\}")
GENERIC_VERSE_PATTERNS = ((0, 1, 0, 2), (0, 0, 1, 1), (0, 1, 0, 1), (0, 1, 2, 0))
GENERIC_CHORUS_PATTERNS = ((0, 1, 0, 1), (0, 0, 1, 1), (0, 0, 0, 1))


def write_lyrics(rng: np.random.Generator, kind: str, sections: tuple[str, ...]) -> str:
    """Lyrics text with one ``[Section]`` metadata line per section and a blank line between sections.

    Args:
        rng: the lyrics stream.
        kind: ``"generic"`` or ``"narrative"``.
        sections: section names, e.g. ``("Verse 1", "Chorus", "Verse 2", "Chorus")``.
    """
    writer = _generic_section if kind == "generic" else _narrative_section
    blocks, chorus = [], None
    for name in sections:
        if name == "Chorus":
            chorus = writer(rng, "Chorus", chorus)
            lines = chorus
        else:
            lines = writer(rng, name, None)
        blocks.append("\n".join([f"[{name}]"] + [_capitalized(line) for line in lines]))
    return "\n\n".join(blocks) + "\n"


def _generic_section(rng: np.random.Generator, name: str, previous: list[str] | None) -> list[str]:
    if previous is not None:
        return previous  # every chorus is the same
    if name == "Bridge":
        return [_fill(rng, "{chant} {chant}", GENERIC_WORDS)] * 2
    patterns = GENERIC_CHORUS_PATTERNS if name == "Chorus" else GENERIC_VERSE_PATTERNS
    pattern = patterns[int(rng.integers(len(patterns)))]
    distinct = _distinct_lines(rng, max(pattern) + 1, GENERIC_TEMPLATES, GENERIC_WORDS)
    return [distinct[i] for i in pattern]


def _narrative_section(rng: np.random.Generator, name: str, previous: list[str] | None) -> list[str]:
    if previous is not None:  # a repeated chorus: same opening, new last line
        new = _distinct_lines(rng, 1, NARRATIVE_TEMPLATES, NARRATIVE_WORDS, avoid=set(previous))
        return previous[:3] + new
    count = 2 if name == "Bridge" else 4
    return _distinct_lines(rng, count, NARRATIVE_TEMPLATES, NARRATIVE_WORDS)


def _distinct_lines(rng: np.random.Generator, count: int, templates: tuple[str, ...], words: dict,
                    avoid: set[str] | None = None) -> list[str]:
    lines: list[str] = []
    seen = set(avoid or ())
    while len(lines) < count:
        line = _fill(rng, templates[int(rng.integers(len(templates)))], words)
        if line not in seen:
            seen.add(line)
            lines.append(line)
    return lines


def _fill(rng: np.random.Generator, template: str, words: dict) -> str:
    def pick(match: re.Match) -> str:
        pool = words[match.group(1)]
        return pool[int(rng.integers(len(pool)))]

    return _SLOT.sub(pick, template)


def _capitalized(line: str) -> str:
    return line[:1].upper() + line[1:]
