"""Benchmark: reading plates from real photos with the ``ocr`` extra (RapidOCR 3.8.4, PP-OCRv4
mobile, onnxruntime), and what the W1 comparison makes of the readings.

    python bench/plate_ocr.py --images DIR --truth truth.tsv [--seed 17] [--show]

``truth.tsv``: one photo a line, its file name in DIR, a tab, the plate on the car (written by a
person who looked at the photo). Each photo goes through ``bot.plate_reader.OcrPlateReader``
as the bot runs it (shrunk to 1280 px, detector at 960 px, one onnxruntime thread, one worker
thread), then ``models.plate.best_verdict`` compares what was read with three orders:

* the true plate: "match" is what should come out;
* a random other plate of the file (a wrong order);
* the true plate with one serial character changed to another legal one (a near-miss order).

The two wrong orders must never give "match": those are the false matches, printed as such.

Printed: the model load time (wall and CPU), how many plates were read exactly (the true plate
among the plates read; the best-ranked plate read) and without the province, the verdict counts
for each kind of order, the photos read wrong, then CPU ms per photo (process time of the whole
process, the worker thread included) and wall ms (p50/p90/max), and the peak resident memory
(``resource.getrusage``) after loading and at the end. ``--show`` prints each photo's reading.

It is a measurement, not a test: nothing asserts a timing. The machine is shared and small:
compare figures from one run, not across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.plate_reader import OcrPlateReader, PlateReading, available  # noqa: E402
from models.plate import Verdict, best_verdict, is_mainland, normalize  # noqa: E402

ORDERS = ("true plate", "other plate", "one character off")
DIGITS = "0123456789"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=Path, required=True, help="folder of the photos")
    parser.add_argument("--truth", type=Path, required=True,
                        help="file name<TAB>plate, one photo a line")
    parser.add_argument("--seed", type=int, default=17, help="for the wrong orders")
    parser.add_argument("--show", action="store_true", help="print each photo's reading")
    return parser.parse_args(argv)


def read_truth(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, plate = line.split("\t")[:2]
            rows.append((name, normalize(plate)))
    return rows


def one_off(plate: str, rng: random.Random) -> str:
    """The plate with one serial character (third on) changed, still a legal plate."""
    while True:
        at = rng.randrange(2, len(plate))
        pool = DIGITS if plate[at].isdigit() else LETTERS
        changed = plate[:at] + rng.choice(pool.replace(plate[at], "")) + plate[at + 1:]
        if is_mainland(changed):
            return changed


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def ms(values: Sequence[float], share: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(int(share * len(ordered)), len(ordered) - 1)] * 1000:.0f}"


async def run(args: argparse.Namespace) -> None:
    if not available():
        raise SystemExit("the ocr extra is not installed: pip install -e '.[ocr]'")
    truth = read_truth(args.truth)
    rng = random.Random(args.seed)
    reader = OcrPlateReader(timeout=60)
    wall, cpu = time.perf_counter(), time.process_time()
    reader.load()
    load_wall, load_cpu = time.perf_counter() - wall, time.process_time() - cpu
    load_rss = peak_rss_mb()
    print(f"{len(truth)} photos from {args.images}; model loaded in {load_wall * 1000:.0f} ms "
          f"wall, {load_cpu * 1000:.0f} ms CPU; peak RSS after loading {load_rss:.0f} MB")
    counts: dict[str, Counter[Verdict]] = {order: Counter() for order in ORDERS}
    exact = best_exact = provinceless = 0
    cpu_ms: list[float] = []
    wall_ms: list[float] = []
    wrong: list[str] = []
    false_matches: list[str] = []
    for name, plate in truth:
        image = (args.images / name).read_bytes()
        wall, cpu = time.perf_counter(), time.process_time()
        reading: PlateReading = await reader.read(image)
        wall_ms.append(time.perf_counter() - wall)
        cpu_ms.append(time.process_time() - cpu)
        others = [other for _, other in truth if other != plate]
        orders = (plate, rng.choice(others), one_off(plate, rng))
        for order, expected in zip(ORDERS, orders, strict=True):
            verdict = best_verdict(reading.candidates, expected)
            counts[order][verdict.kind] += 1
            if order != ORDERS[0] and verdict.kind is Verdict.MATCH:
                false_matches.append(f"{name}: order {expected}, read {verdict.read}")
        exact += plate in reading.candidates
        best_exact += reading.best == plate
        provinceless += any(c[-len(plate) + 1:] == plate[1:] and len(c) in (len(plate),
                            len(plate) - 1) for c in reading.candidates)
        if plate not in reading.candidates:
            wrong.append(f"{name} ({plate}): read {', '.join(reading.candidates) or 'no plate'}"
                         f"{f' [{reading.problem}]' if reading.problem else ''}")
        if args.show:
            print(f"  {name}: {plate} -> {', '.join(reading.candidates) or '-'} "
                  f"(texts: {' | '.join(text for text, _ in reading.texts)})")
    reader.close()
    total = len(truth)
    print(f"\nread exactly, province included: {exact}/{total} ({exact / total:.0%}); "
          f"as the best-ranked plate: {best_exact}/{total}")
    print(f"read without the province:       {provinceless}/{total} ({provinceless / total:.0%})")
    print(f"\n{'verdicts against':22}" + "".join(f"{kind.value:>10}" for kind in Verdict))
    for order in ORDERS:
        print(f"{order:22}" + "".join(f"{counts[order][kind]:>10}" for kind in Verdict))
    print(f"false matches (a wrong order called 'match'): {len(false_matches)} of {2 * total}")
    for line in false_matches:
        print(f"  {line}")
    if wrong:
        print("not read exactly:")
        for line in wrong:
            print(f"  {line}")
    print(f"\nper photo: CPU ms p50 {ms(cpu_ms, .5)} p90 {ms(cpu_ms, .9)} max {ms(cpu_ms, 1)} "
          f"(mean {statistics.mean(cpu_ms) * 1000:.0f}); wall ms p50 {ms(wall_ms, .5)} "
          f"p90 {ms(wall_ms, .9)} max {ms(wall_ms, 1)}")
    print(f"peak RSS: {load_rss:.0f} MB after loading, {peak_rss_mb():.0f} MB at the end")


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
