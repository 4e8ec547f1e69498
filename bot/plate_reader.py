"""Reading the plate from a photo, offline: an optional extra (``pip install
'workshop-bot[ocr]'``) brings RapidOCR with its PP-OCRv4 mobile models inside the wheel and
onnxruntime; nothing is downloaded at run time. Without the extra ``available()`` is false and
the bot keeps asking for the plate to be typed.

OCR is CPU work of a few hundred milliseconds per photo: it runs in one worker thread of its
own, one photo at a time, with a time limit, so the event loop keeps answering meanwhile. The
photo is shrunk to a long side of at most 1280 px before OCR, the text detector works on at most
960 px, and onnxruntime uses one thread. A photo that cannot be decoded, an OCR that takes too
long or fails gives a reading that says so, never an exception.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image, ImageDraw, ImageFont, ImageOps

from bot.clock import Clock
from models.plate import plate_candidates

if TYPE_CHECKING:
    import numpy as np

# onnxruntime reads this when it is imported: it must be set before (the engine is imported
# lazily, below, always after this module).
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

PHOTO_LONG_SIDE = 1280
DETECTOR_LONG_SIDE = 960
TIMEOUT_SECONDS = 10.0
CHECK_PLATE = "京A12345"


class ReadProblem(StrEnum):
    UNDECODABLE = "undecodable"  # not an image Pillow can open
    TIMEOUT = "timeout"  # took longer than the time limit
    FAILED = "failed"  # the OCR engine raised


@dataclass(frozen=True)
class PlateReading:
    candidates: tuple[str, ...]  # plate-shaped strings, normalised, best first
    texts: tuple[tuple[str, float], ...]  # every text line the OCR read, with its confidence
    seconds: float  # from the call to the answer, waiting included
    problem: ReadProblem | None = None

    @property
    def best(self) -> str | None:
        return self.candidates[0] if self.candidates else None


class PlateReader(Protocol):
    async def read(self, image: bytes) -> PlateReading: ...


def available() -> bool:
    """Whether the ``ocr`` extra is installed (the engine, onnxruntime and OpenCV)."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("rapidocr", "onnxruntime", "cv2"))


def photo_pixels(image: bytes) -> np.ndarray:
    """The photo upright (EXIF orientation), RGB, shrunk to ``PHOTO_LONG_SIDE``, as the BGR array
    OpenCV-style engines take. Raises what Pillow raises for something that is not an image."""
    import numpy as np

    with Image.open(io.BytesIO(image)) as opened:
        opened.draft("RGB", (PHOTO_LONG_SIDE, PHOTO_LONG_SIDE))  # JPEG: decode at a lower scale
        photo = ImageOps.exif_transpose(opened).convert("RGB")
    photo.thumbnail((PHOTO_LONG_SIDE, PHOTO_LONG_SIDE))
    return np.asarray(photo)[:, :, ::-1].copy()


def _engine() -> Any:
    engine = importlib.import_module("rapidocr").RapidOCR
    return engine(params={
        "Global.log_level": "critical",
        "Det.limit_side_len": DETECTOR_LONG_SIDE,
        "Det.limit_type": "max",
        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    })


def _texts(result: Any) -> tuple[tuple[str, float], ...]:
    txts: Sequence[str] = result.txts or ()
    scores: Sequence[float] = result.scores or ()
    return tuple((str(text), float(score)) for text, score in zip(txts, scores, strict=False))


class OcrPlateReader:
    """RapidOCR in a worker thread of its own; the model loads on the first photo (or ``load``)."""

    def __init__(self, *, clock: Clock | None = None,
                 timeout: float = TIMEOUT_SECONDS) -> None:
        self._clock = clock or Clock()
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plate-ocr")
        self._one_at_a_time = asyncio.Semaphore(1)
        self._load_lock = threading.Lock()
        self._engine: Any = None

    def load(self) -> None:
        """Load the model now (blocking), once."""
        with self._load_lock:
            if self._engine is None:
                self._engine = _engine()

    def read_now(self, image: bytes) -> tuple[tuple[str, float], ...] | ReadProblem:
        """The OCR itself, blocking: the text lines, or why there are none."""
        try:
            pixels = photo_pixels(image)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            return ReadProblem.UNDECODABLE
        self.load()
        try:
            return _texts(self._engine(pixels))
        except Exception:  # the engine's own errors are of no use to the caller
            return ReadProblem.FAILED

    async def read(self, image: bytes) -> PlateReading:
        started = self._clock.monotonic()
        try:
            async with asyncio.timeout(self._timeout), self._one_at_a_time:
                loop = asyncio.get_running_loop()
                outcome = await loop.run_in_executor(self._executor, self.read_now, image)
        except TimeoutError:
            outcome = ReadProblem.TIMEOUT
        seconds = self._clock.monotonic() - started
        if isinstance(outcome, ReadProblem):
            return PlateReading((), (), seconds, outcome)
        return PlateReading(tuple(plate_candidates(outcome)), outcome, seconds)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def check_image() -> bytes:
    """A small picture of a blue plate reading ``CHECK_PLATE``, drawn with the CJK font the
    install ships (Noto Sans SC, see bot/report_files.py)."""
    from bot.report_files import shipped_font_file

    font_file = shipped_font_file()
    if font_file is None:
        raise RuntimeError("the CJK font of pylopdf-fonts-zh-cn is missing")
    picture = Image.new("RGB", (480, 200), "white")
    draw = ImageDraw.Draw(picture)
    draw.rounded_rectangle((40, 50, 440, 150), radius=10, fill="#1f4aa8")
    font = ImageFont.truetype(str(font_file), 64)
    draw.text((240, 100), f"{CHECK_PLATE[:2]}·{CHECK_PLATE[2:]}", font=font, fill="white",
              anchor="mm")
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def load_check(clock: Clock | None = None) -> tuple[bool, str]:
    """For ``workshop-bot doctor``: load the model once and read a drawn plate. (ok, a line)."""
    if not available():
        return False, ("plate OCR not installed (pip install 'workshop-bot[ocr]'); "
                       "plates are typed")
    clock = clock or Clock()
    reader = OcrPlateReader(clock=clock)
    try:
        started = clock.monotonic()
        try:
            reader.load()
        except Exception as error:
            return False, f"plate OCR installed but the model does not load: {error}"
        loaded = clock.monotonic() - started
        outcome = reader.read_now(check_image())
    finally:
        reader.close()
    if isinstance(outcome, ReadProblem):
        return False, f"plate OCR loaded in {loaded:.1f} s but the test image failed: {outcome}"
    found = plate_candidates(outcome)
    if CHECK_PLATE not in found:
        read = ", ".join(text for text, _ in outcome) or "nothing"
        return False, f"plate OCR loaded in {loaded:.1f} s but read {read} for {CHECK_PLATE}"
    return True, f"plate OCR ok: model loaded in {loaded:.1f} s, test plate read"
