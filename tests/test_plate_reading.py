"""Plates read from photos: the grammar and the comparison with the order's plate (models/plate.py,
hypothesis), the OCR reader's bounds (bot/plate_reader.py) with the engine replaced, the stub
reader of the chat tests, and, when the ``ocr`` extra is installed, the real OCR on the photos
in tests/data/plates (sources and licences in SOURCES.md there)."""

from __future__ import annotations

import asyncio
import io
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from bot.clock import FrozenClock
from bot.plate_reader import (
    OcrPlateReader,
    PlateReader,
    PlateReading,
    ReadProblem,
    load_check,
    photo_pixels,
)
from models.plate import (
    BODY,
    PROVINCES,
    SPECIAL_MARKS,
    PlateVerdict,
    Verdict,
    best_verdict,
    compare,
    format_plate,
    is_mainland,
    normalize,
    plate_candidates,
)
from tests.plate_stub import StubPlateReader, reading

PHOTOS = Path(__file__).parent / "data" / "plates"
DIGITS = "0123456789"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O

_province = st.sampled_from(PROVINCES)
_letter = st.sampled_from(LETTERS)
_alnum = st.sampled_from(LETTERS + DIGITS)
_digit = st.sampled_from(DIGITS)


def _joined(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map("".join)


STANDARD_PLATES = _joined(_province, _letter, *[_alnum] * 4,
                          st.one_of(_alnum, st.sampled_from(SPECIAL_MARKS)))
NEW_ENERGY_PLATES = st.one_of(
    _joined(_province, _letter, st.sampled_from("DF"), _alnum, *[_digit] * 4),
    _joined(_province, _letter, *[_digit] * 5, st.sampled_from("DF")),
)
EMBASSY_PLATES = _joined(st.just("使"), *[_digit] * 6)
PLATES = st.one_of(STANDARD_PLATES, NEW_ENERGY_PLATES, EMBASSY_PLATES)


def _changed(plate: str, at: int, data: st.DataObject) -> str:
    """The plate with the character at ``at`` replaced by another of its kind, still legal."""
    return plate[:at] + data.draw(st.sampled_from(_replacements(plate, at))) + plate[at + 1:]


def _replacements(plate: str, at: int) -> list[str]:
    ch = plate[at]
    kind = PROVINCES if ch in PROVINCES else DIGITS if ch.isdigit() else LETTERS
    return [other for other in kind.replace(ch, "")
            if is_mainland(plate[:at] + other + plate[at + 1:])]


def _changeable(plate: str) -> list[int]:
    return [at for at in range(len(plate))
            if plate[at] not in SPECIAL_MARKS + "使" and _replacements(plate, at)]


# --- the grammar -------------------------------------------------------------------------------


@given(PLATES)
def test_every_plate_of_the_grammar_is_mainland_and_matches_itself(plate: str) -> None:
    assert is_mainland(plate)
    assert compare(plate, plate) == PlateVerdict(Verdict.MATCH, plate, plate, ())
    # as the OCR writes it (the middle dot) and in lower case, against the typed plate
    assert compare(format_plate(plate).lower(), plate).kind is Verdict.MATCH


@pytest.mark.parametrize("typed", ["京A12345", "粤BD12345", "粤B12345D", "粤Z1234港", "粤Z1234澳",
                                   "京A1234警", "粤A1234学", "粤A1234挂", "沪A1234领", "使014578"])
def test_the_special_series_are_plates(typed: str) -> None:
    assert is_mainland(normalize(typed))


@pytest.mark.parametrize("typed", ["京I12345", "京O12345", "京A1234O", "京AB12345", "使01457",
                                   "A12345", "京A123", "京A12345警6"])
def test_what_is_not_a_plate(typed: str) -> None:
    assert not is_mainland(normalize(typed))


def test_format_plate() -> None:
    assert format_plate("京A12345") == "京A·12345"
    assert format_plate("粤BD12345") == "粤B·D12345"
    assert format_plate("使014578") == "使014578"
    assert format_plate("ABC123") == "ABC123"


@given(st.text(max_size=40))
def test_normalize_is_idempotent(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)


# --- the comparison ----------------------------------------------------------------------------


@given(PLATES, st.data())
def test_one_character_off_is_unsure_and_marked(plate: str, data: st.DataObject) -> None:
    at = data.draw(st.sampled_from(_changeable(plate)))
    read = _changed(plate, at, data)
    assert compare(read, plate) == PlateVerdict(Verdict.UNSURE, read, plate, (at,))


@given(PLATES, st.data())
def test_two_characters_off_is_a_mismatch(plate: str, data: st.DataObject) -> None:
    first, second = data.draw(st.lists(st.sampled_from(_changeable(plate)), min_size=2,
                                       max_size=2, unique=True).map(sorted))
    read = _changed(_changed(plate, first, data), second, data)
    assert compare(read, plate) == PlateVerdict(Verdict.MISMATCH, read, plate, (first, second))


@given(st.one_of(STANDARD_PLATES, NEW_ENERGY_PLATES))
def test_the_province_unread_is_unsure(plate: str) -> None:
    assert compare(plate[1:], plate) == PlateVerdict(Verdict.UNSURE, plate[1:], plate, (0,))


@given(st.one_of(STANDARD_PLATES, NEW_ENERGY_PLATES), st.data())
def test_the_province_unread_and_another_character_is_a_mismatch(plate: str,
                                                                 data: st.DataObject) -> None:
    at = data.draw(st.sampled_from([at for at in _changeable(plate) if at > 0]))
    body = _changed(plate, at, data)[1:]
    assert compare(body, plate) == PlateVerdict(Verdict.MISMATCH, body, plate, (0, at))


@given(st.one_of(st.none(), st.text(max_size=30)), st.text(max_size=30))
def test_compare_takes_anything(read: str | None, expected: str) -> None:
    verdict = compare(read, expected)
    if verdict.kind is Verdict.MATCH:
        assert read is not None and normalize(read) == normalize(expected)
    assert all(0 <= at < len(verdict.expected) for at in verdict.differs)


def test_verdict_examples() -> None:
    assert compare(None, "京A12345").kind is Verdict.NO_PLATE
    assert compare("", "京A12345").kind is Verdict.NO_PLATE
    assert compare("TAXI", "京A12345").kind is Verdict.NO_PLATE
    # a fuel plate read for a new-energy order: another length, never unsure
    assert compare("粤B12345", "粤BD12345") == PlateVerdict(
        Verdict.MISMATCH, "粤B12345", "粤BD12345", (2,))
    assert compare("京 a·1234５", "京A12345").kind is Verdict.MATCH  # full-width digit


def test_the_best_verdict_of_several_plates_in_a_photo() -> None:
    assert best_verdict(["津GTL921", "津E28437"], "津E28437").kind is Verdict.MATCH
    assert best_verdict(["津GTL921", "津E28487"], "津E28437").differs == (5,)
    assert best_verdict([], "津E28437").kind is Verdict.NO_PLATE


# --- picking plates out of OCR text ------------------------------------------------------------


@given(PLATES, st.text(alphabet="TAXI0123456789 -:年月日", max_size=12))
def test_the_plate_is_found_in_a_line_as_the_ocr_writes_it(plate: str, noise: str) -> None:
    # the middle dot, and O / I where the serial has 0 / 1 (the grammar forces the digits back)
    written = format_plate(plate)
    written = written[:3] + written[3:].replace("0", "O").replace("1", "I")
    assert plate in plate_candidates([(noise + " " + written, 0.9)])


@given(st.lists(st.tuples(st.text(max_size=30), st.floats(0, 1)), max_size=6))
def test_candidates_take_anything_and_are_plate_shaped(texts: list[tuple[str, float]]) -> None:
    for found in plate_candidates(texts):
        assert is_mainland(found) or BODY.match(found)


def test_candidates_best_first() -> None:
    texts = [("2013-11-01星期五18:26:05", 0.95), ("湘A·TL269", 0.8), ("京A·88731", 0.99),
             ("NAO19W2", 0.99), ("粤BD12345", 0.9)]
    # whole plates by confidence, then a plate whose province was misread (its O a 0)
    assert plate_candidates(texts) == ["京A88731", "粤BD12345", "湘ATL269", "A019W2"]
    assert plate_candidates([("A·82M83", 0.9)]) == ["A82M83"]
    assert plate_candidates([("0000/00001", 0.9), ("18:04:18", 0.9)]) == []
    # no guessing where the grammar allows more than one: 8 stays 8, B stays B
    assert plate_candidates([("京A8B731", 0.9)]) == ["京A8B731"]


# --- the OCR reader's bounds, the engine replaced ----------------------------------------------


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "navy").save(out, "PNG")
    return out.getvalue()


class FakeEngineReader(OcrPlateReader):
    """The reader with the OCR itself replaced: lines given, or held until released."""

    def __init__(self, texts: tuple[tuple[str, float], ...] = (), *, timeout: float = 5.0,
                 hold: threading.Event | None = None) -> None:
        super().__init__(clock=FrozenClock(datetime(2026, 12, 7, tzinfo=UTC)), timeout=timeout)
        self.texts = texts
        self.hold = hold
        self.running = 0
        self.most_at_once = 0

    def read_now(self, image: bytes) -> tuple[tuple[str, float], ...] | ReadProblem:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if self.hold is not None:
                self.hold.wait(5)
            return self.texts
        finally:
            self.running -= 1


@pytest.mark.parametrize("image", [b"\xff\xd8 not really a jpeg", b"", _png(40, 30)[:60]])
async def test_a_photo_that_is_not_an_image_is_said_so(image: bytes) -> None:
    reader = OcrPlateReader()  # no engine needed: decoding comes first
    try:
        result = await reader.read(image)
    finally:
        reader.close()
    assert result.problem is ReadProblem.UNDECODABLE
    assert result.candidates == () and result.best is None


def test_the_photo_is_shrunk_before_ocr() -> None:
    assert photo_pixels(_png(3000, 1000)).shape == (427, 1280, 3)
    assert photo_pixels(_png(640, 480)).shape == (480, 640, 3)


async def test_the_reading_carries_candidates_and_texts() -> None:
    reader = FakeEngineReader((("京A·88731", 0.99), ("AEU", 0.5)))
    try:
        result = await reader.read(_png(10, 10))
    finally:
        reader.close()
    assert result == PlateReading(("京A88731",), (("京A·88731", 0.99), ("AEU", 0.5)), 0.0)
    assert result.best == "京A88731"


async def test_too_long_is_a_reading_that_says_so() -> None:
    hold = threading.Event()
    reader = FakeEngineReader(timeout=0.05, hold=hold)
    try:
        result = await reader.read(_png(10, 10))
    finally:
        hold.set()
        reader.close()
    assert result.problem is ReadProblem.TIMEOUT and result.candidates == ()


async def test_one_photo_at_a_time_while_the_loop_keeps_answering() -> None:
    hold = threading.Event()
    reader = FakeEngineReader((("京A·88731", 0.99),), hold=hold)
    try:
        reads = [asyncio.create_task(reader.read(_png(10, 10))) for _ in range(3)]
        await asyncio.sleep(0.05)  # the loop runs while the first photo is held in the thread
        assert not any(read.done() for read in reads)
        hold.set()
        results = await asyncio.gather(*reads)
    finally:
        reader.close()
    assert reader.most_at_once == 1
    assert [result.best for result in results] == ["京A88731"] * 3


# --- the stub reader of the chat tests ---------------------------------------------------------


async def test_the_stub_reader_answers_its_readings_in_turn() -> None:
    stub = StubPlateReader(reading(), reading("京A·88731"))
    reader: PlateReader = stub
    assert (await reader.read(b"first")).best is None
    assert (await reader.read(b"second")).best == "京A88731"
    assert (await reader.read(b"third")).best == "京A88731"
    assert stub.images == [b"first", b"second", b"third"]
    assert (await StubPlateReader().read(b"x")).candidates == ()


# --- the real OCR (the ocr extra) --------------------------------------------------------------


@pytest.fixture(scope="module")
def ocr() -> OcrPlateReader:
    pytest.importorskip("rapidocr")
    return OcrPlateReader(timeout=60)


# Read with rapidocr 3.8.4 (onnxruntime, PP-OCRv4 mobile); each label checked by eye on the photo.
REAL_PHOTOS = [
    ("beijing_A88731.jpg", "京A88731", Verdict.MATCH, ()),
    ("jiangsu_AH0G66.jpg", "苏AH0G66", Verdict.MATCH, ()),  # the OCR's 0, not O
    ("tibet_DT5022.jpg", "藏DT5022", Verdict.MATCH, ()),
    ("sichuan_A82M83.jpg", "川A82M83", Verdict.UNSURE, (0,)),  # the province not read
    ("hunan_F8ZS83.jpg", "湘F8ZS83", Verdict.UNSURE, (1,)),  # F read as E
]


@pytest.mark.parametrize(("name", "plate", "kind", "differs"), REAL_PHOTOS)
async def test_real_photos(ocr: OcrPlateReader, name: str, plate: str, kind: Verdict,
                           differs: tuple[int, ...]) -> None:
    result = await ocr.read((PHOTOS / name).read_bytes())
    verdict = best_verdict(result.candidates, plate)
    assert (verdict.kind, verdict.differs) == (kind, differs)
    for wrong in ("粤B2LR57", plate[:-1] + ("3" if plate[-1] != "3" else "4")):
        assert best_verdict(result.candidates, wrong).kind is not Verdict.MATCH


def test_load_check_reads_the_drawn_plate() -> None:
    pytest.importorskip("rapidocr")
    ok, line = load_check()
    assert ok, line
