"""A message as WeCom shows it: a ``button_interaction`` template card designed from WeCom's own
fields, so the card carries its facts without a text copy before it.

* the first line is the card's ``main_title`` (a long title split at " · " into ``title`` and
  ``desc``); lines of the form "Key: value" become ``horizontal_content_list`` rows (at most
  six, keynames of up to five characters — a table gives long keys a short name — values of up
  to 26); the rest is the ``sub_title_text``, and when that is longer than WeCom shows, its last
  paragraph (where a card says how it ended: "✅ Approved by …") goes to the ``quote_area``;
* at most six buttons, the most likely actions first (``ACTION_RANK``); a card with more has five
  and "More…", whose tap (handled in the WeCom layer, ``WeComRequest.more``) sends a second
  card with the next ones, whose taps carry the original callback data;
* button text as WeCom advises, at most ten characters: ``SHORT_LABELS`` gives each longer
  label its short form in both languages; a label the table does not know (a name, a plate) is
  cut to ten.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from bot.i18n import N_, Translator

MAX_CARD_BUTTONS = 6  # button_list: "列表长度不超过6"
CARD_TITLE_CHARS = 26  # main_title.title: "建议不超过26个字"
CARD_DESC_CHARS = 44  # main_title.desc: "建议不超过44个字"
CARD_BODY_CHARS = 112  # sub_title_text: "建议不超过112个字"
MAX_ROWS = 6  # horizontal_content_list: "列表长度不超过6"
KEY_CHARS = 5  # horizontal_content_list.keyname: "建议不超过5个字"
VALUE_CHARS = 26  # horizontal_content_list.value: "建议不超过26个字"
LABEL_CHARS = 10  # button_list.text: "建议不超过10个字"
MORE_KEY = "wecom:more"  # the "More…" button's key: wecom:more:<page>
MORE_LABEL = N_("More…")
MORE_TEXT = N_("More actions")

Buttons = list[tuple[str, str]]

# The most likely actions first: by the last word of the callback data (``clk:12:start``,
# ``itm:12:done``, ``ord:3:fault`` …); the rest keep their order in between.
ACTION_RANK = {"start": 0, "pause": 0, "done": 0, "ok": 0, "no": 0, "ack": 0,
               "fault": 1, "extra": 2, "check": 3, "part": 4, "next": 5,
               "flag": 8, "view": 9, "refresh": 9}
DEFAULT_RANK = 5

# The key of a "Key: value" line as a row's keyname, where the key is longer than WeCom shows:
# keyed by the line's msgid (its key is the text before the colon, in each language).
KEY_NAMES: dict[str, str] = {
    N_("Vehicle: {model}"): N_("Car"),
    N_("Vehicle: {plate} · {model}"): N_("Car"),
    N_("Status: {status}"): N_("State"),
    N_("Complaint: {complaint}"): N_("Issue"),
    N_("Customer: {name} {phone}"): N_("Cust."),
    N_("Technician: {name}"): N_("Tech"),
    N_("Reason: {reason}"): N_("Why"),
    N_("Estimate: {estimate}"): N_("Cost"),
    N_("Quantity: {quantity}"): N_("Qty"),
}

# WeCom's form of every button label longer than LABEL_CHARS, keyed by the label's msgid.
SHORT_LABELS: dict[str, str] = {
    N_("📱 Ask the customer"): N_("📱 Customer"),
    N_("➕ Propose as extra item"): N_("➕ Propose"),
    N_("🚫 It really is a different car"): N_("🚫 Diff car"),
    # the floor
    N_("▶️ Start {position}."): N_("▶ Start {position}"),
    N_("⏸ Pause {position}."): N_("⏸ Pause {position}"),
    N_("▶️ Resume {position}."): N_("▶ Go on {position}"),
    N_("✅ Done: {position}. {item}"): N_("✅ Done {position}"),
    N_("⚠️ Items don't match the fault"): N_("⚠ Mismatch"),
    N_("🔧 Report unlisted fault"): N_("🔧 Fault"),
    N_("➕ Request extra item"): N_("➕ Extra"),
    N_("🔩 Request part"): N_("🔩 Part"),
    N_("➡️ Hand on to the next process"): N_("➡️ Hand on"),
    N_("🏁 Self-check and hand over"): N_("🏁 Check"),
    N_("📋 Pre-work checklist"): N_("📋 Checks"),
    N_("🔓 Clear the plate lock"): N_("🔓 Unlock"),
    N_("👌 Acknowledge"): N_("👌 Got it"),
    N_("✅ Approve {position}."): N_("✅ OK {position}"),
    N_("❌ Reject {position}."): N_("❌ No {position}"),
    N_("👀 I am watching"): N_("👀 Watching"),
    N_("👀 I'll watch it"): N_("👀 I watch"),
    N_("🔎 Confirm plate"): N_("🔎 Plate"),
    N_("🚗 Delivered to the customer"): N_("🚗 Deliver"),
    N_("✅ Start work"): N_("✅ Start"),
    N_("⬅️ Job types"): N_("⬅️ Types"),
    N_("👥 Name someone else"): N_("👥 Someone"),
    N_("Yes, use {plate}"): N_("✅ {plate}"),
    N_("No, type again"): N_("Type again"),
    N_("✅ Self-checked — hand over"): N_("✅ Hand in"),
    N_("☑️ Tick every box"): N_("☑ Tick all"),
    N_("➡️ Continue"): N_("➡️ Go on"),
    N_("✅ Done — send"): N_("Done, send"),
    # parts
    N_("📦 Out of stock"): N_("📦 No stock"),
    N_("♻️ Old part received"): N_("♻️ Got old"),
    N_("⚠️ Old part lost or damaged"): N_("⚠️ Lost"),
    N_("🔁 Replace the part"): N_("🔁 Replace"),
    N_("💴 Pay the amount"): N_("💴 Pay"),
    N_("⏳ Issue now, old part to follow"): N_("⏳ Issue"),
    N_("🆕 No old part (new fitting or consumable)"): N_("🆕 New fit"),
    N_("⚠️ Old part lost or damaged on purpose"): N_("⚠️ Wilful"),
    N_("↩️ Part does not match"): N_("↩ Mismatch"),
    N_("✅ Send request"): N_("✅ Send"),
    N_("🆕 No old part"): N_("🆕 No old"),
    N_("↩️ Send return"): N_("↩️ Return"),
    # duty and equipment
    N_("🗑 Remove this area"): N_("🗑 Remove"),
    N_("📷 Done with a photo"): N_("📷 Photo"),
    N_("💰 Compensation"): N_("💰 Charge"),
    N_("🙅 No compensation"): N_("🙅 No pay"),
    N_("Yes, misuse"): N_("Misuse"),
    N_("No — wear or accident"): N_("Wear"),
    N_("⚖️ Decide #{id}"): N_("⚖️ #{id}"),
    # training and notices
    N_("💾 Save ({count} present)"): N_("💾 Save {count}"),
    N_("📝 Mark attendance"): N_("📝 Register"),
    N_("✅ Will attend"): N_("✅ Attend"),
    N_("❌ Can't attend"): N_("❌ Can't go"),
    N_("❌ Can't attend after all"): N_("❌ Can't go"),
    N_("✅ Will attend after all"): N_("✅ Attend"),
    N_("👤 People by name ({count})"): N_("👤 By name"),
    N_("📢 Post notice"): N_("📢 Post"),
    N_("⬅️ Change who attends"): N_("⬅️ Who"),
    # staff
    N_("➕ Invite someone"): N_("➕ Invite"),
    N_("◀ All staff"): N_("◀ Staff"),
    N_("🔑 New invite code"): N_("🔑 New code"),
    N_("⛔ Deactivate"): N_("⛔ Disable"),
    N_("♻️ Reactivate"): N_("♻️ Enable"),
    N_("👤 Open the card"): N_("👤 Card"),
    N_("⛔ Yes, deactivate"): N_("⛔ Disable"),
    # after sales
    N_("👤 One customer"): N_("👤 One"),
    N_("👥 All customers of a clerk"): N_("👥 By clerk"),
    N_("📵 No answer"): N_("📵 No reply"),
    N_("✅ Yes, as that follow-up"): N_("✅ That one"),
    N_("➕ No, a separate call"): N_("➕ Separate"),
    N_("✅ Yes, answered"): N_("✅ Answered"),
    N_("🔎 No, it needs research"): N_("🔎 Research"),
    N_("👥 All customers"): N_("👥 All"),
    N_("🚗 By vehicle model"): N_("🚗 By model"),
    N_("📅 Visited since a date"): N_("📅 Visited"),
    N_("💤 Not visited since a date"): N_("💤 Absent"),
    N_("✅ Create campaign"): N_("✅ Create"),
    N_("👥 Other customers"): N_("👥 Others"),
    N_("✏️ Complete the archive"): N_("✏ Complete"),
    N_("✍️ Record solution"): N_("✍ Solution"),
    N_("↩️ Assign back"): N_("↩️ Back"),
    N_("☎️ Wrong number"): N_("☎️ Bad no."),
    N_("📮 Record as sent"): N_("📮 Sent"),
    N_("✍️ {number}. Record solution"): N_("✍ Solve {number}"),
    N_("🆕 New customer"): N_("🆕 New"),
    N_("✅ Yes, delivered"): N_("✅ Yes"),
    N_("✅ Yes, wrong number"): N_("✅ Yes"),
    N_("↩️ No, keep it"): N_("↩️ Keep it"),
    N_("📝 {name} · {kind}"): N_("📝 {name}"),
    # the words of a tick box or a choice ("⬜ " + the word; at most eight characters)
    N_("Outside the car"): N_("Outside"),
    N_("Inside the car"): N_("Inside"),
    N_("Lift or stands"): N_("Lift"),
    N_("Opens fuel, oil or water parts"): N_("Fluids"),
    N_("Removes assemblies"): N_("Removal"),
    N_("Technician"): N_("Tech"),
    N_("Team leader"): N_("Leader"),
    N_("Inspector"): N_("QC"),
    N_("Service advisor"): N_("Advisor"),
    N_("Parts clerk"): N_("Parts"),
    N_("Tracking clerk"): N_("Tracking"),
    N_("Supervisor"): N_("Manager"),
    N_("Administrator"): N_("Admin"),
    N_("Usage and opinions"): N_("Usage"),
    N_("New service needs"): N_("Needs"),
    N_("Car-care tips"): N_("Tips"),
    N_("Our new services"): N_("Services"),
    N_("Events and offers"): N_("Events"),
    N_("Consultation"): N_("Consult"),
    N_("Visit to the customer"): N_("Visit"),
    N_("customer event"): N_("event"),
    N_("free inspection week"): N_("check-up"),
    N_("car-care talk"): N_("talk"),
    N_("invitation"): N_("invite"),
    N_("reply letter"): N_("reply"),
    N_("hand delivery"): N_("by hand"),
    # the boxes of the pre-work checklist ("☐ N1 " + the word; at most five characters)
    N_("Protective equipment worn correctly"): N_("PPE"),
    N_("Protection cover fitted; stay out of the car"): N_("Cover"),
    N_("Seat cover fitted"): N_("Seat"),
    N_("Floor mat fitted"): N_("Mat"),
    N_("Steering-wheel cover fitted"): N_("Wheel"),
    N_("Lift and stands firm, not overloaded"): N_("Stand"),
    N_("Drip pans in place"): N_("Drip"),
    N_("Trays ready for removed assemblies"): N_("Trays"),
}
# A label made of a mark (and a rule's code) and words ("☑ " + a job type, "☐ N1 " + a box,
# "📢 " + a letter kind): the mark and the code are kept, the words shortened.
MARKED = re.compile(r"^(?P<mark>[^\w\s]{1,3}(?: [A-Z]\d{1,2})?) (?P<words>\w.*)$", re.S)



def buttons_of(markup: Any) -> Buttons:
    """(label, callback data) of an inline keyboard, row by row; URL buttons are dropped."""
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, dict):
        return []
    return [(str(b.get("text", "")), str(b["callback_data"]))
            for row in markup.get("inline_keyboard", []) for b in row if "callback_data" in b]


def _clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pattern(template: str) -> re.Pattern[str]:
    """A translated label with ``{name}`` fields as a regex that reads the fields back."""
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(part) if n % 2 == 0 else f"(?P<{part}>.+?)"
                    for n, part in enumerate(parts))
    return re.compile(regex, re.S)


@cache
def _short_forms(locale: str) -> list[tuple[re.Pattern[str], str]]:
    from zoneinfo import ZoneInfo

    t = Translator(locale, ZoneInfo("UTC"))
    return [(_pattern(t(long)), t(short)) for long, short in SHORT_LABELS.items()]


def short_form(t: Translator, label: str) -> str | None:
    """The table's short form of ``label`` (in ``t``'s language), or None if it has none."""
    for pattern, short in _short_forms(t.locale):
        match = pattern.fullmatch(label)
        if match:
            try:
                return short.format(**match.groupdict())
            except (KeyError, IndexError, ValueError):
                return None
    marked = MARKED.match(label)
    if marked:
        words = short_form(t, marked.group("words"))
        return f"{marked.group('mark')} {words}" if words is not None else None
    return None


def wecom_label(t: Translator, label: str) -> str:
    """A button's text on WeCom: the label if it fits, its short form, or the label cut."""
    if len(label) <= LABEL_CHARS:
        return label
    short = short_form(t, label) or label
    while len(short) > LABEL_CHARS:
        short = short[:-2].rstrip() + "…"
    return short


@cache
def _key_names(locale: str) -> dict[str, str]:
    from zoneinfo import ZoneInfo

    t = Translator(locale, ZoneInfo("UTC"))
    return {_split(t(line))[0]: t(short) for line, short in KEY_NAMES.items()}


KEY_VALUE = re.compile(r"^(?P<key>[^\W\d_][^:：]{0,11}?)\s*[:：]\s*(?P<value>\S.*)$")


def _split(line: str) -> tuple[str, str]:
    match = KEY_VALUE.match(line)
    return (match.group("key"), match.group("value")) if match else ("", "")


@dataclass
class Layout:
    """Where each part of a message's text goes on its card."""

    title: str
    desc: str = ""
    rows: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    quote: str = ""

    def fits(self) -> bool:
        """Whether the card shows all of the text (WeCom's client cuts what is longer)."""
        return (len(self.title) <= CARD_TITLE_CHARS and len(self.desc) <= CARD_DESC_CHARS
                and len(self.body) <= CARD_BODY_CHARS)

    def hidden(self) -> tuple[str, str]:
        """What the card cannot show: the cut-off ends of its title and body."""
        return (self.title[CARD_TITLE_CHARS - 1:] if len(self.title) > CARD_TITLE_CHARS
                else "",
                self.body[CARD_BODY_CHARS - 1:] if len(self.body) > CARD_BODY_CHARS else "")


def layout(t: Translator, text: str) -> Layout:
    """The card of ``text``: title (and desc), rows, body and quote."""
    title, _nl, rest = text.partition("\n")
    card = Layout(title)
    if len(title) > CARD_TITLE_CHARS and " · " in title:
        head, _sep, tail = title.partition(" · ")
        if len(head) <= CARD_TITLE_CHARS and len(tail) <= CARD_DESC_CHARS:
            card.title, card.desc = head, tail
    names = _key_names(t.locale)
    kept: list[str] = []
    for line in rest.split("\n"):
        key, value = _split(line.strip())
        name = names.get(key, key)
        if (key and len(card.rows) < MAX_ROWS and len(name) <= KEY_CHARS
                and len(value) <= VALUE_CHARS):
            card.rows.append((name, value))
        else:
            kept.append(line)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")
    card.body = body
    if len(body) > CARD_BODY_CHARS:
        head, blank, last = body.rpartition("\n\n")
        if blank and head.strip() and 0 < len(last) <= CARD_BODY_CHARS:
            card.body, card.quote = head, last
    return card


def needs_full_text(t: Translator, text: str, shown_before: str | None) -> bool:
    """Whether a card of ``text`` needs the full text sent before it: the card cannot show
    all of it, and what it cannot show is not what the person already got whole (the full
    copy sent with an earlier version, whose cut-off part was the same)."""
    card = layout(t, text)
    return not card.fits() and (shown_before is None or
                                card.hidden() != layout(t, shown_before).hidden())


def rank(data: str) -> int:
    return ACTION_RANK.get(data.rsplit(":", 1)[-1], DEFAULT_RANK)


def pages(buttons: Buttons) -> list[Buttons]:
    """The buttons, most likely first, in cards of at most six: five and "More…" while more
    are left."""
    ordered = sorted(buttons, key=lambda b: rank(b[1])) if len(buttons) > MAX_CARD_BUTTONS \
        else list(buttons)
    groups: list[Buttons] = []
    while len(ordered) > MAX_CARD_BUTTONS:
        groups.append(ordered[: MAX_CARD_BUTTONS - 1])
        ordered = ordered[MAX_CARD_BUTTONS - 1:]
    groups.append(ordered)
    return groups


def more_page(key: str) -> int | None:
    """The page a "More…" button opens (None for any other key)."""
    head, _sep, page = key.rpartition(":")
    return int(page) if head == MORE_KEY and page.isdigit() and len(page) < 4 else None


def _button_list(t: Translator, buttons: Buttons, page: int) -> list[dict[str, Any]]:
    groups = pages(buttons)
    shown = [{"text": wecom_label(t, label), "style": 1, "key": data}
             for label, data in groups[page]]
    if page + 1 < len(groups):
        shown.append({"text": t(MORE_LABEL), "style": 2, "key": f"{MORE_KEY}:{page + 1}"})
    return shown


def card_body(t: Translator, text: str, buttons: Buttons, task_id: str | None
              ) -> dict[str, Any]:
    """The ``button_interaction`` card of ``text`` with the first of its buttons."""
    card = layout(t, text)
    body: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": _clipped(card.title, CARD_TITLE_CHARS)},
        "button_list": _button_list(t, buttons, 0),
    }
    if card.desc:
        body["main_title"]["desc"] = card.desc
    if card.body:
        body["sub_title_text"] = _clipped(card.body, CARD_BODY_CHARS)
    if card.rows:
        body["horizontal_content_list"] = [{"keyname": name, "value": value}
                                           for name, value in card.rows]
    if card.quote:
        body["quote_area"] = {"type": 0, "quote_text": card.quote}
    if task_id:
        body["task_id"] = task_id
    return body


def more_body(t: Translator, text: str, buttons: Buttons, page: int, task_id: str | None
              ) -> dict[str, Any]:
    """The second (third …) card a "More…" tap opens: the card's title and the next buttons."""
    card = layout(t, text)
    body: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": _clipped(card.title, CARD_TITLE_CHARS)},
        "sub_title_text": t(MORE_TEXT),
        "button_list": _button_list(t, buttons, page),
    }
    if task_id:
        body["task_id"] = task_id
    return body
