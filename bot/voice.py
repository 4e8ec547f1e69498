"""Voice notes between the channels: Telegram records OGG/Opus, WeCom records and plays AMR.

A voice note shown on the channel it came in on goes by its file id; on the other channel its
bytes are converted: to OGG/Opus for Telegram with ``ffmpeg``, to AMR-NB for WeCom with
``ffmpeg`` (decoding to 8 kHz PCM) and the AMR-NB encoder of ``libopencore-amrnb`` (Debian's
ffmpeg decodes AMR but cannot encode it). Both come from Debian (``.ci/run`` installs them).
Without them :func:`convert` answers None and the messenger sends the recording as a file, with
a line saying it could not be converted: the note is never lost.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import shutil
from functools import cache

log = logging.getLogger(__name__)

AMR_MAGIC = b"#!AMR\n"
OGG_MAGIC = b"OggS"
# The channel's own voice format: the file name extension of a converted note, by channel.
FORMATS = {"telegram": "ogg", "wecom": "amr"}
# The longest voice message a format's channel takes, in seconds (WeCom: "语音…播放长度不超过
# 60s"); a longer note goes as a file.
LONGEST = {"amr": 60}
AMR_RATE = 8000
AMR_FRAME_SAMPLES = 160  # 20 ms at 8 kHz
AMR_MODE_122 = 7  # MR122: 12.2 kbit/s, the best AMR-NB mode
# Payload bytes of an AMR-NB storage frame by its frame type (RFC 4867 §5.3), header excluded.
AMR_FRAME_BYTES = (12, 13, 15, 17, 19, 20, 26, 31, 5, 6, 5, 5, 0, 0, 0, 0)
TIMEOUT = 60.0


def format_of(data: bytes) -> str:
    """The format of recorded bytes, by their first bytes: "amr", "ogg", "mp3" or "bin"."""
    if data.startswith(AMR_MAGIC):
        return "amr"
    if data.startswith(OGG_MAGIC):
        return "ogg"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "mp3"
    return "bin"


def amr_seconds(data: bytes) -> int:
    """The length of an AMR-NB recording in whole seconds (rounded), 0 when not AMR: WeCom's
    voice callback does not say how long a note is."""
    if not data.startswith(AMR_MAGIC):
        return 0
    frames, at = 0, len(AMR_MAGIC)
    while at < len(data):
        at += 1 + AMR_FRAME_BYTES[(data[at] >> 3) & 0x0F]
        frames += 1
    return round(frames * 0.02)


def ffmpeg() -> str | None:
    return shutil.which("ffmpeg")


@cache
def _amr_encoder() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("opencore-amrnb") or "libopencore-amrnb.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.Encoder_Interface_init.restype = ctypes.c_void_p
    lib.Encoder_Interface_init.argtypes = [ctypes.c_int]
    lib.Encoder_Interface_Encode.restype = ctypes.c_int
    lib.Encoder_Interface_Encode.argtypes = [
        ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_short),
        ctypes.POINTER(ctypes.c_ubyte), ctypes.c_int]
    lib.Encoder_Interface_exit.argtypes = [ctypes.c_void_p]
    return lib


def can_convert(target: str) -> bool:
    """Whether this machine can convert voice notes to ``target`` ("ogg" or "amr")."""
    return ffmpeg() is not None and (target != "amr" or _amr_encoder() is not None)


def _encode_amr(pcm: bytes) -> bytes:
    """16-bit little-endian 8 kHz mono samples as an AMR-NB file (12.2 kbit/s)."""
    lib = _amr_encoder()
    assert lib is not None
    state = lib.Encoder_Interface_init(0)
    out = bytearray(AMR_MAGIC)
    frame_bytes = AMR_FRAME_SAMPLES * 2
    pcm += b"\0" * (-len(pcm) % frame_bytes)  # the last frame padded with silence
    buffer = (ctypes.c_ubyte * 64)()
    try:
        for start in range(0, len(pcm), frame_bytes):
            samples = (ctypes.c_short * AMR_FRAME_SAMPLES).from_buffer_copy(
                pcm[start:start + frame_bytes])
            size = lib.Encoder_Interface_Encode(state, AMR_MODE_122, samples, buffer, 0)
            out += bytes(buffer[:max(size, 0)])
    finally:
        lib.Encoder_Interface_exit(state)
    return bytes(out)


async def _ffmpeg(data: bytes, *arguments: str) -> bytes | None:
    """Run ffmpeg on ``data`` (stdin) with the output arguments; its stdout, or None."""
    program = ffmpeg()
    if program is None:
        return None
    process = await asyncio.create_subprocess_exec(
        program, "-hide_banner", "-loglevel", "error", "-i", "pipe:0", *arguments, "pipe:1",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(data), TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        log.warning("ffmpeg took over %.0f s on a voice note; not converted", TIMEOUT)
        return None
    if process.returncode != 0 or not out:
        log.warning("ffmpeg could not convert a voice note: %s",
                    err.decode("utf-8", "replace").strip()[:300])
        return None
    return out


async def convert(data: bytes, target: str) -> bytes | None:
    """The voice note ``data`` (any format ffmpeg reads) as ``target`` ("ogg": OGG/Opus, as
    Telegram records; "amr": AMR-NB, the only voice format WeCom takes); None when it cannot
    be converted here (no ffmpeg, no AMR encoder, unreadable bytes)."""
    if format_of(data) == target:
        return data
    if not can_convert(target):
        log.warning("cannot convert a voice note to %s: ffmpeg%s missing", target,
                    " or libopencore-amrnb" if target == "amr" else "")
        return None
    if target == "ogg":
        return await _ffmpeg(data, "-vn", "-ac", "1", "-c:a", "libopus", "-b:a", "32k",
                             "-f", "ogg")
    if target == "amr":
        pcm = await _ffmpeg(data, "-vn", "-ac", "1", "-ar", str(AMR_RATE), "-f", "s16le")
        return None if pcm is None else await asyncio.to_thread(_encode_amr, pcm)
    raise ValueError(f"no voice format {target!r}")
