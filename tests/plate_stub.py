"""A plate reader with canned readings, behind the same ``PlateReader`` interface as the OCR
(bot/plate_reader.py), for the chat tests: no model, no thread, no time."""

from __future__ import annotations

from bot.plate_reader import PlateReading, ReadProblem
from models.plate import normalize


def reading(*plates: str, problem: ReadProblem | None = None) -> PlateReading:
    """What the OCR would answer having read these plates (none: no plate in the photo)."""
    texts = tuple((plate, 0.99) for plate in plates)
    return PlateReading(tuple(normalize(plate) for plate in plates), texts, 0.05, problem)


class StubPlateReader:
    """Answers its readings in turn, the last one again once they run out; keeps the photos."""

    def __init__(self, *readings: PlateReading) -> None:
        self.readings = list(readings) or [reading()]
        self.images: list[bytes] = []

    async def read(self, image: bytes) -> PlateReading:
        self.images.append(image)
        turn = min(len(self.images), len(self.readings)) - 1
        return self.readings[turn]
