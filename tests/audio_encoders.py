"""Real encoders for the tests: a synthesized song written as every format people have.

LAME through ``lameenc`` (a plain MP3 stream, no Xing header, as many encoders write), FFmpeg
through PyAV (MP3 by libmp3lame with a Xing/Info and LAME header, AAC in M4A, Opus in Ogg, ALAC),
and libsndfile through ``soundfile`` (WAV integer and float, AIFF, FLAC, OGG Vorbis, MP3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: name -> (file ending, encoder): every kind of file the tests make.
KINDS = {
    "lame_mp3": ".mp3",        # lameenc: LAME, no Xing header
    "ffmpeg_mp3": ".mp3",      # PyAV libmp3lame: Info + LAME tag (gapless)
    "sndfile_mp3": ".mp3",     # libsndfile's LAME: Xing header
    "aac_m4a": ".m4a",         # FFmpeg's AAC encoder, MP4 container
    "alac_m4a": ".m4a",        # FFmpeg's ALAC encoder, MP4 container
    "opus_ogg": ".opus",       # libopus in Ogg (48 kHz)
    "vorbis_ogg": ".ogg",      # libsndfile's libvorbis
    "flac": ".flac",
    "wav_pcm16": ".wav",
    "wav_float": ".wav",
    "aiff_pcm24": ".aiff",
}


def song(seconds: float, rate: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    """A short song: a chord, a beat of noise bursts and a little hiss; float32 ``(channels, samples)``."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    beat = (np.modf(t * 2)[0] < 0.05) * rng.standard_normal(n)
    mono = 0.4 * chord + 0.2 * beat + 0.01 * rng.standard_normal(n)
    return np.stack([mono * (1 - 0.2 * c) for c in range(channels)]).astype(np.float32)


def encode(kind: str, path: Path, audio: np.ndarray, rate: int) -> Path:
    """Write ``audio`` (float32 ``(channels, samples)``) at ``rate`` Hz as ``kind`` (:data:`KINDS`)."""
    path = Path(path)
    if kind == "lame_mp3":
        import lameenc

        encoder = lameenc.Encoder()
        encoder.set_bit_rate(128)
        encoder.set_in_sample_rate(rate)
        encoder.set_channels(audio.shape[0])
        encoder.set_quality(7)
        pcm = (np.clip(audio.T, -1, 1) * 32767).astype(np.int16)
        path.write_bytes(bytes(encoder.encode(pcm.tobytes()) + encoder.flush()))
    elif kind in ("ffmpeg_mp3", "aac_m4a", "alac_m4a", "opus_ogg"):
        container, codec = {"ffmpeg_mp3": ("mp3", "libmp3lame"), "aac_m4a": ("ipod", "aac"),
                            "alac_m4a": ("ipod", "alac"), "opus_ogg": ("ogg", "libopus")}[kind]
        _encode_ffmpeg(path, container, codec, audio, rate)
    else:
        import soundfile as sf

        format_, subtype = {"sndfile_mp3": ("MP3", None), "vorbis_ogg": ("OGG", "VORBIS"), "flac": ("FLAC", "PCM_16"),
                            "wav_pcm16": ("WAV", "PCM_16"), "wav_float": ("WAV", "FLOAT"),
                            "aiff_pcm24": ("AIFF", "PCM_24")}[kind]
        sf.write(str(path), audio.T, rate, format=format_, subtype=subtype)
    return path


def _encode_ffmpeg(path: Path, container: str, codec: str, audio: np.ndarray, rate: int) -> None:
    import av

    layout = {1: "mono", 2: "stereo"}[audio.shape[0]]
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = layout
        fmt = stream.codec_context.format.name
        dtype, scale = {"s16": (np.int16, 32767), "s16p": (np.int16, 32767), "s32": (np.int32, 2**31 - 1),
                        "s32p": (np.int32, 2**31 - 1), "flt": (np.float32, 1), "fltp": (np.float32, 1)}[fmt]
        step = stream.codec_context.frame_size or 1024
        for at in range(0, audio.shape[1], step):
            chunk = np.clip(audio[:, at:at + step].astype(np.float64), -1, 1) * scale
            data = chunk if fmt.endswith("p") else chunk.T.reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data).astype(dtype), format=fmt,
                                          layout=layout)
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def cut(path: Path, fraction: float, out: Path) -> Path:
    """A copy of ``path`` holding only its first ``fraction`` of bytes (a download that stopped)."""
    data = Path(path).read_bytes()
    out = Path(out)
    out.write_bytes(data[:int(len(data) * fraction)])
    return out
