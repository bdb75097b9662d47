"""Small helpers every part may use: errors, atomic writes, artifact files, audio and WAV I/O,
torch device names, the sample sheet, lazy imports.

Nothing here imports another part of musiclime.
"""
