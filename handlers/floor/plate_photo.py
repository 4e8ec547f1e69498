"""W1 from a photo (issue 17): what the technician sees once the plate was read off their photo,
and its buttons. The conversation is :mod:`handlers.floor.plate_check`; the reading and the
verdict are ``bot.plate_reader`` and ``models.plate``.

Imports only models, ``bot`` and ``handlers/chat``: never a conversation module."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup

from bot.i18n import Translator
from bot.messenger import Rendered
from bot.plate_reader import ReadProblem
from handlers.chat.ui import button, keyboard
from models.plate import Verdict, format_plate, is_mainland

PLATE_PREFIX = "plt"  # a plate read off a photo: plt:<reading id>:ok|retake|type|other
MISSES = 2  # photos without a plate before only typing is asked for
UNREAD = "？"  # stands for a character OCR did not read (the province, mostly)


def marked(plate: str, differs: list[int], dotted: bool) -> str:
    """The plate with the characters at ``differs`` in brackets: 京A·1234[5]. ``dotted``: the
    middle dot after the province and office letter, as ``format_plate`` writes it."""
    text = "".join(f"[{ch}]" if i in differs else ch for i, ch in enumerate(plate))
    if not dotted:
        return text
    split = sum(3 if i in differs else 1 for i in range(min(2, len(plate))))
    return f"{text[:split]}·{text[split:]}"


def as_read(verdict: dict[str, Any]) -> str:
    """What OCR read, aligned with the order's plate: an unread province shown as ？."""
    read, expected = verdict["read"] or "", verdict["expected"]
    return UNREAD + read if len(read) == len(expected) - 1 else read


def _both(_: Translator, verdict: dict[str, Any]) -> str:
    """What was read and the order's plate; an unsure reading's differing character marked."""
    expected = verdict["expected"]
    read = as_read(verdict)
    dotted = format_plate(expected) != expected
    differs = list(verdict["differs"]) if verdict["kind"] == Verdict.UNSURE else []
    shown = marked(read, differs, dotted) if len(read) == len(expected) else format_plate(read)
    return _("Read from the photo: {read}\nOn the order: {expected}").format(
        read=shown, expected=marked(expected, differs, dotted))


def verdict_message(_: Translator, verdict: dict[str, Any], reading_id: int) -> Rendered:
    """The verdict on a photo (``verdict``: kind, read, expected, differs as kept in the
    conversation's draft) with its buttons."""
    kind = Verdict(verdict["kind"])
    data = f"{PLATE_PREFIX}:{reading_id}"
    confirm = button(_("✅ Confirm"), f"{data}:ok")
    retake = button(_("📷 Retake"), f"{data}:retake")
    type_it = button(_("⌨️ Type it"), f"{data}:type")
    if kind is Verdict.MATCH:
        return (_("✅ {plate} — matches the order.").format(
            plate=format_plate(verdict["expected"])), keyboard([confirm]))
    if kind is Verdict.UNSURE:
        return (_("❓ One character is not certain; please check it on the car.") + "\n"
                + _both(_, verdict), keyboard([confirm], [retake, type_it]))
    text = (_("⚠️ The photo does not show the order's plate. Retake the photo if it was a bad "
              "shot; nobody is told unless you confirm that it really is a different car.")
            + "\n" + _both(_, verdict))
    return text, different_car_buttons(_, verdict, data)


def different_car_buttons(_: Translator, verdict: dict[str, Any], data: str
                          ) -> InlineKeyboardMarkup:
    """Retake, and the mismatch confirmed when what was read is a whole plate (else it can only
    be typed)."""
    retake = button(_("📷 Retake"), f"{data}:retake")
    if is_mainland(verdict["read"] or "") or not is_mainland(verdict["expected"]):
        return keyboard([retake], [button(_("🚫 It really is a different car"), f"{data}:other")])
    return keyboard([retake, button(_("⌨️ Type it"), f"{data}:type")])


def missed(_: Translator, problem: str | None, misses: int) -> str:
    """No plate in the photo (or it could not be read at all): a closer photo, or typing."""
    if problem == ReadProblem.UNDECODABLE:
        why = _("That photo could not be opened.")
    elif problem == ReadProblem.TIMEOUT:
        why = _("Reading that photo took too long.")
    elif problem is not None:
        why = _("That photo could not be read.")
    else:
        why = _("No plate found in that photo.")
    if misses < MISSES:
        return why + " " + _("Send a closer photo of the plate, straight on, or type the plate.")
    return why + " " + _("Please type the plate number you see on the vehicle.")
