"""Is an audio file whole? Each format's own structure says, read from its header and its tail.

A decoder reads a file cut short as a shorter song, so the check asks what the file promises and
whether it holds it, format by format (found by the file's first bytes, not its name):

* WAV (RIFF, RF64) and AIFF: the sound chunk's declared size against the file's size;
* FLAC: the sample count STREAMINFO declares, against what decodes at the end
  (:func:`flac_tail_problem`, it needs the decoder);
* OGG (Vorbis, Opus): the last page is whole and marks the end of the stream;
* MP3: the last MPEG frame is whole, and a Xing/Info or VBRI header's byte and frame counts hold;
  the encoder delay and padding a gapless decoder drops are no loss;
* MP4/M4A: every top-level box fits the file and the index (``moov``) is there.

Limits: an MP3 without a Xing/Info header (a plain CBR stream), cut exactly between two frames, is a
shorter song to every reader; other containers (WMA, WebM, ...) are only decoded.
"""

from __future__ import annotations

import struct
from pathlib import Path

#: Bytes read from a file's end to find its last Ogg page or MPEG frames (an Ogg page is at most 65,307).
TAIL_BYTES = 70_000


def sniff_format(head: bytes) -> str | None:
    """The container of a file from its first bytes: ``wav``, ``aiff``, ``flac``, ``ogg``, ``mp4``,
    ``mp3`` or ``None`` (another format, or not audio)."""
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def file_format(path: Path) -> str | None:
    """:func:`sniff_format` of the file at ``path``."""
    with open(path, "rb") as handle:
        return sniff_format(handle.read(16))


def truncation_problem(path: Path) -> str | None:
    """Why the file at ``path`` is cut short, by its own structure, or ``None`` (whole, or a format
    without a structural check). FLAC's check needs the decoder: :func:`flac_tail_problem`."""
    path = Path(path)
    kind = file_format(path)
    check = {"wav": _wav_problem, "aiff": _aiff_problem, "ogg": _ogg_problem, "mp3": _mp3_problem,
             "mp4": _mp4_problem}.get(kind or "")
    return None if check is None else check(path)


# --- WAV and AIFF: the sound chunk fits the file -------------------------------------------------

def wav_missing_bytes(path: Path) -> int:
    """Bytes of audio a RIFF/WAVE file's ``data`` chunk declares beyond the end of the file (0 if none,
    or not a WAV). libsndfile reads a cut-off WAV without complaint, as a shorter song."""
    return _chunk_missing_bytes(path, b"data", "<", 12)


def _wav_problem(path: Path) -> str | None:
    missing = wav_missing_bytes(path)
    if missing:
        return f"audio file is truncated: {path} (its WAV header declares {missing} more bytes of audio than it holds)"
    return None


def _aiff_problem(path: Path) -> str | None:
    missing = _chunk_missing_bytes(path, b"SSND", ">", 12)
    if missing:
        return f"audio file is truncated: {path} (its AIFF header declares {missing} more bytes of audio than it holds)"
    return None


def _chunk_missing_bytes(path: Path, wanted: bytes, order: str, start: int) -> int:
    """Bytes chunk ``wanted`` of an IFF-style file (RIFF little-endian ``<``, AIFF big-endian ``>``)
    declares beyond the file's end; 0 when it fits, is absent, or has an open size (RF64's 0xFFFFFFFF)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        offset = start
        while offset + 8 <= size:
            handle.seek(offset)
            chunk_id, chunk_size = struct.unpack(order + "4sI", handle.read(8))
            if chunk_id == wanted:
                return max(0, offset + 8 + chunk_size - size) if chunk_size != 0xFFFFFFFF else 0
            offset += 8 + chunk_size + (chunk_size & 1)
    return 0


# --- FLAC: STREAMINFO's sample count --------------------------------------------------------------

def flac_declared_samples(path: Path) -> int | None:
    """Samples per channel a FLAC file's STREAMINFO declares (``None``: not FLAC, or not declared)."""
    with open(path, "rb") as handle:
        head = handle.read(42)
    if len(head) < 42 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:
        return None
    total = int.from_bytes(head[21:26], "big") & ((1 << 36) - 1)
    return total or None


def flac_tail_problem(path: Path, read_tail) -> str | None:
    """Why a FLAC file is cut short: the last samples its STREAMINFO declares do not decode.

    Args:
        read_tail: ``read_tail(start) -> number of samples decoded from sample ``start`` to the end``
            (the decoder's seek and read; it may raise).
    """
    declared = flac_declared_samples(path)
    if declared is None:
        return None
    start = max(0, declared - 4096)
    try:
        got = read_tail(start)
    except Exception as exc:  # libsndfile's seek fails on a stream cut before the point
        return (f"audio file is truncated: {path} (its header declares {declared} samples; decoding stops before "
                f"the end: {exc})")
    if start + got < declared:
        return f"audio file is truncated: {path} (its header declares {declared} samples, it holds {start + got})"
    return None


# --- OGG: the last page is whole and ends the stream -----------------------------------------------

def _ogg_problem(path: Path) -> str | None:
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(max(0, size - TAIL_BYTES))
        tail = handle.read()
    base = size - len(tail)
    at = len(tail)
    while True:
        at = tail.rfind(b"OggS", 0, at)
        if at < 0:
            return f"audio file is truncated: {path} (no whole Ogg page at its end)"
        if at + 27 > len(tail):
            return f"audio file is truncated: {path} (its last Ogg page is cut short, at byte {base + at})"
        segments = tail[at + 26]
        if at + 27 + segments > len(tail):
            return f"audio file is truncated: {path} (its last Ogg page is cut short, at byte {base + at})"
        length = 27 + segments + sum(tail[at + 27:at + 27 + segments])
        if at + length > len(tail):
            if tail[at + 4] == 0:  # a page header (version 0) whose body the file does not hold
                return (f"audio file is truncated: {path} (its last Ogg page declares {length} bytes, "
                        f"the file holds {len(tail) - at})")
            continue
        if tail[at + 4] != 0 or not _ogg_crc_ok(tail[at:at + length]):
            continue  # the bytes 'OggS' inside a packet, not a page
        if not tail[at + 5] & 0x04:
            return f"audio file is truncated: {path} (it ends without the Ogg end-of-stream page)"
        return None


def _ogg_crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_OGG_CRC = _ogg_crc_table()


def _ogg_crc_ok(page: bytes) -> bool:
    """The page's CRC (Ogg's polynomial 0x04C11DB7, the checksum field read as zero) matches."""
    crc = 0
    table = _OGG_CRC
    zeroed = page[:22] + b"\0\0\0\0" + page[26:]
    for byte in zeroed:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
    return crc == struct.unpack("<I", page[22:26])[0]


# --- MP3: the last frame is whole; Xing/VBRI counts hold ------------------------------------------

_BITRATES = {  # kbit/s by (MPEG-1?, layer), index 1..14
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mpeg_frame(header: bytes) -> tuple[int, tuple[int, int, int], int] | None:
    """An MPEG audio frame header's ``(frame length in bytes, (version, layer, rate), samples per frame)``;
    ``None`` when the 4 bytes are not a usable header (bad sync, reserved fields, free bitrate)."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate_index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 3, (header[2] >> 1) & 1
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    layer = 4 - layer_bits
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index - 1] * 1000
    rate = _RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4, (version, layer, rate), 384
    per_frame = 1152 if layer == 2 or mpeg1 else 576
    return per_frame // 8 * bitrate // rate + padding, (version, layer, rate), per_frame


def _mp3_problem(path: Path) -> str | None:
    size = path.stat().st_size
    with open(path, "rb") as handle:
        start = _id3v2_end(handle)
        handle.seek(start)
        first_bytes = handle.read(4096)
        handle.seek(max(start, size - TAIL_BYTES))
        tail_base = handle.tell()
        tail = handle.read()
    first = _synced_frame(first_bytes, 0, None)
    if first is None:
        return None  # no MPEG stream the check recognises: the decoder has the last word
    first_at, (_, kind, _) = first
    first_at += start
    end = size - _trailing_tag_bytes(tail)
    counted = _xing_counts(first_bytes[first_at - start:])
    if counted is not None and counted[1] is not None and first_at + counted[1] > size:
        declared_frames, declared_bytes = counted
        if declared_frames is None:
            return (f"audio file is truncated: {path} (its Xing/VBRI header declares {declared_bytes} bytes of audio, "
                    f"it holds {size - first_at})")
        frames = _count_frames(path, first_at, end, kind)
        if frames < declared_frames:
            return (f"audio file is truncated: {path} (its Xing/VBRI header declares {declared_frames} frames, "
                    f"it holds {frames})")
    synced = _synced_frame(tail, max(0, first_at - tail_base), kind)
    if synced is None:
        return None
    at = tail_base + synced[0]
    while at < end:
        frame = mpeg_frame(tail[at - tail_base:at - tail_base + 4])
        if frame is None or frame[1] != kind:
            if end - at < 4 and tail[at - tail_base] == 0xFF:
                return f"audio file is truncated: {path} (its last MPEG frame header is cut short, at byte {at})"
            return None  # bytes after the stream that are not a frame: not a cut-off frame
        if at + frame[0] > end:
            return (f"audio file is truncated: {path} (its last MPEG frame declares {frame[0]} bytes, "
                    f"the file holds {end - at} of them, at byte {at})")
        at += frame[0]
    return None


def _id3v2_end(handle) -> int:
    """Offset after the ID3v2 tags at the file's start (0 if none)."""
    offset = 0
    while True:
        handle.seek(offset)
        header = handle.read(10)
        if len(header) < 10 or header[:3] != b"ID3":
            return offset
        body = 0
        for byte in header[6:10]:
            body = (body << 7) | (byte & 0x7F)
        offset += 10 + body + (10 if header[5] & 0x10 else 0)


def _trailing_tag_bytes(tail: bytes) -> int:
    """Bytes of tags after the audio frames (ID3v1, Lyrics3 v2, APEv2), read from the file's tail."""
    end = len(tail)
    if end >= 128 and tail[end - 128:end - 125] == b"TAG":
        end -= 128
    if end >= 15 and tail[end - 9:end] == b"LYRICS200" and tail[end - 15:end - 9].isdigit():
        end -= 15 + int(tail[end - 15:end - 9])
    if end >= 32 and tail[end - 32:end - 24] == b"APETAGEX":
        tag_size, flags = struct.unpack("<II", tail[end - 20:end - 12])
        end -= tag_size + (32 if flags & 0x80000000 else 0)
    return len(tail) - max(end, 0)


def _synced_frame(data: bytes, offset: int, kind) -> tuple[int, tuple] | None:
    """The first offset from ``offset`` where three MPEG frames of one kind follow each other (or
    frames run to the data's end): a frame boundary, not sync bits inside audio data."""
    at = data.find(b"\xff", offset)
    while 0 <= at < len(data) - 3:
        frame = mpeg_frame(data[at:at + 4])
        if frame is not None and (kind is None or frame[1] == kind):
            nxt, chained = at, 0
            while chained < 3:
                this = mpeg_frame(data[nxt:nxt + 4])
                if this is None or this[1] != frame[1]:
                    break
                nxt += this[0]
                chained += 1
                if nxt >= len(data) - 3:
                    chained = 3
            if chained == 3:
                return at, frame
        at = data.find(b"\xff", at + 1)
    return None


def _xing_counts(frame: bytes) -> tuple[int | None, int | None] | None:
    """``(frames, bytes)`` a Xing/Info or VBRI header in the stream's first frame declares (each
    ``None`` when absent); ``None`` without such a header."""
    parsed = mpeg_frame(frame[:4])
    if parsed is None:
        return None
    version = parsed[1][0]
    mono = (frame[3] >> 6) == 3
    side = (17 if mono else 32) if version == 3 else (9 if mono else 17)
    at = 4 + side
    if frame[at:at + 4] in (b"Xing", b"Info"):
        flags = struct.unpack(">I", frame[at + 4:at + 8])[0]
        at += 8
        frames = bytes_ = None
        if flags & 1:
            frames = struct.unpack(">I", frame[at:at + 4])[0]
            at += 4
        if flags & 2:
            bytes_ = struct.unpack(">I", frame[at:at + 4])[0]
        return frames, bytes_
    if frame[36:40] == b"VBRI":
        bytes_, frames = struct.unpack(">II", frame[46:54])
        return frames, bytes_
    return None


def _count_frames(path: Path, start: int, end: int, kind) -> int:
    """Whole MPEG frames from ``start`` to ``end`` (the Xing/VBRI frame itself not counted)."""
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    at, frames = 0, 0
    while at + 4 <= len(data):
        frame = mpeg_frame(data[at:at + 4])
        if frame is None or frame[1] != kind or at + frame[0] > len(data):
            break
        at += frame[0]
        frames += 1
    return max(frames - 1, 0)


# --- MP4/M4A: boxes fit the file, the index is there -----------------------------------------------

def _mp4_problem(path: Path) -> str | None:
    size = path.stat().st_size
    seen = set()
    with open(path, "rb") as handle:
        offset = 0
        while offset + 8 <= size:
            handle.seek(offset)
            box_size, box = struct.unpack(">I4s", handle.read(8))
            if box_size == 1:
                box_size = struct.unpack(">Q", handle.read(8))[0]
            elif box_size == 0:
                box_size = size - offset
            name = box.decode("latin-1")
            if box_size < 8:
                return f"audio file is damaged: {path} (its MP4 box {name!r} at byte {offset} has a size of {box_size})"
            if offset + box_size > size:
                return (f"audio file is truncated: {path} (its MP4 box {name!r} declares {box_size} bytes, the file "
                        f"holds {size - offset} of them)")
            seen.add(box)
            offset += box_size
    if b"moov" not in seen and b"moof" not in seen:
        return f"audio file is truncated: {path} (it holds no MP4 'moov' box, the index a player needs)"
    return None
