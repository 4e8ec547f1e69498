"""The customer's page (:mod:`bot.customer_page`) as HTML: rendered on the server, every value
escaped, inline CSS for a phone, plain forms and no script (WeChat's in-app browser, an old
phone). Each page is one function returning the whole document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from babel.lists import format_list

from bot.i18n import N_, Translator
from models.customer_link import (
    NAME_MAX,
    NOTE_MAX,
    DeclineReason,
    LinkItemView,
    LinkView,
    mask_plate,
)
from models.extra_item import ConsentMethod, Decision

# Each language's own name on the switch to it (an endonym, the same in every catalog).
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}
DECLINE_REASONS = {
    DeclineReason.price: N_("Too expensive"),
    DeclineReason.later: N_("Maybe later"),
    DeclineReason.second_opinion: N_("I want a second opinion"),
    DeclineReason.other: N_("Another reason"),
}

STYLE = """
*{box-sizing:border-box}
body{margin:0;background:#f3f4f6;color:#111827;font:16px/1.5 -apple-system,"PingFang SC",
"Microsoft YaHei","Noto Sans CJK SC",sans-serif;-webkit-text-size-adjust:100%}
main{max-width:560px;margin:0 auto;padding:16px}
header{margin-bottom:12px}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:18px;margin:0 0 6px}
.car{color:#4b5563;margin:0}
.lang{float:right;font-size:14px;color:#2563eb}
.card{background:#fff;border-radius:12px;padding:16px;margin:0 0 12px;
box-shadow:0 1px 2px rgba(0,0,0,.06)}
.reason{margin:0 0 8px;color:#374151}
.photos img{display:block;width:100%;height:auto;border-radius:8px;margin:0 0 8px;
background:#e5e7eb}
table{width:100%;border-collapse:collapse;margin:4px 0 8px}
td,th{padding:4px 0;text-align:left;font-weight:normal}
td+td,th+th{text-align:right}
tr.sum th{font-weight:bold;border-top:1px solid #e5e7eb}
fieldset{border:0;margin:8px 0 0;padding:0}
legend{font-weight:bold;padding:0;margin:0 0 6px}
.choice label{display:block;border:2px solid #d1d5db;border-radius:10px;padding:12px;
margin:0 0 8px;font-size:17px}
.choice input,.why input{width:20px;height:20px;vertical-align:-4px;margin:0 8px 0 0}
.why{background:#f9fafb;border-radius:10px;padding:10px}
.why legend{font-weight:normal;color:#4b5563;float:left;width:100%}
.why label{display:block;padding:6px 0}
.total{font-size:18px;font-weight:bold}
label.field{display:block;margin:0 0 12px;font-weight:bold}
label.field input,label.field textarea{display:block;width:100%;margin-top:6px;padding:10px;
font:inherit;border:1px solid #9ca3af;border-radius:8px;background:#fff}
button{display:block;width:100%;padding:14px;font:inherit;font-size:18px;font-weight:bold;
color:#fff;background:#16a34a;border:0;border-radius:10px}
.small{font-size:14px;color:#4b5563}
.error{background:#fef2f2;color:#991b1b;border:1px solid #fecaca}
.ok{color:#15803d;font-weight:bold}
.no{color:#b91c1c;font-weight:bold}
.wait{color:#92400e;font-weight:bold}
a.tel{white-space:nowrap}
"""


@dataclass(frozen=True)
class Shop:
    """What the page says about the shop (``SHOP_NAME``, ``SHOP_PHONE``)."""

    name: str | None
    phone: str | None


@dataclass
class Typed:
    """What the customer had chosen and typed, kept when the form comes back to them."""

    choices: Mapping[int, str] = field(default_factory=dict)  # request id → approve/decline
    reasons: Mapping[int, str] = field(default_factory=dict)  # request id → a DeclineReason
    name: str = ""
    note: str = ""


def shop_name(_: Translator, shop: Shop) -> str:
    return shop.name or _("Our workshop")


def contact_line(_: Translator, shop: Shop) -> str:
    """Whom to call, as HTML: the shop's phone a link a phone dials."""
    if not shop.phone:
        return escape(_("Questions? Please contact {shop}.").format(shop=shop_name(_, shop)))
    line = escape(_("Questions? Call {shop} at {phone}.").format(shop=shop_name(_, shop),
                                                               phone="\0"))
    dial = "".join(c for c in shop.phone if c.isdigit() or c == "+")
    return line.replace("\0", f'<a class="tel" href="tel:{escape(dial)}">'
                               f"{escape(shop.phone)}</a>")


def document(_: Translator, shop: Shop, title: str, body: str, *,
             switch: str | None = None) -> str:
    """The whole page; ``switch``: the address of the page in the other language."""
    other = "en" if _.locale != "en" else "zh_CN"
    link = (f'<a class="lang" href="{escape(switch)}">{escape(LANGUAGE_NAMES[other])}</a>'
            if switch else "")
    return (
        "<!doctype html>\n"
        f'<html lang="{HTML_LANG.get(_.locale, "zh-CN")}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="format-detection" content="telephone=no">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{link}<header><h1>{escape(shop_name(_, shop))}</h1></header>"
        f"{body}</main></body></html>")


def message_page(_: Translator, shop: Shop, title: str, text: str) -> str:
    """A page that only says something (a wrong link, too many tries …), with the phone."""
    return document(_, shop, title, (
        f'<section class="card"><h2>{escape(title)}</h2><p>{escape(text)}</p>'
        f'<p class="small">{contact_line(_, shop)}</p></section>'))


def car_line(_: Translator, plate: str, model: str) -> str:
    if model.strip():
        return _("Car: {plate} · {model}").format(plate=plate, model=model.strip())
    return _("Car: {plate}").format(plate=plate)


def _prices(_: Translator, entry: LinkItemView) -> str:
    item = entry.item
    if item.parts_fen is None and item.labour_fen is None:
        unpriced = _("No price given yet; please ask your advisor.")
        return f'<p class="small">{escape(unpriced)}</p>'
    rows = ((_("Parts price"), item.parts_fen), (_("Labour price"), item.labour_fen))
    item_total = _("Item total")
    total = (item.parts_fen or 0) + (item.labour_fen or 0)
    return ("<table>" + "".join(f"<tr><td>{escape(name)}</td><td>{escape(_.money(fen))}</td></tr>"
                                for name, fen in rows)
            + f'<tr class="sum"><th>{escape(item_total)}</th>'
            f"<th>{escape(_.money(total))}</th></tr></table>")


def _photos(_: Translator, entry: LinkItemView, photo_url: str) -> str:
    alt = _("Photo {number}")
    images = "".join(
        f'<img src="{escape(photo_url)}/{int(photo)}" '
        f'alt="{escape(alt.format(number=number))}">'
        for number, photo in enumerate(entry.item.photo_ids, 1))
    return f'<div class="photos">{images}</div>' if images else ""


def _described(_: Translator, entry: LinkItemView, photo_url: str | None) -> str:
    item = entry.item
    why = _("Why it is needed: {reason}").format(reason=item.reason)
    return (f'<h2>{escape(item.description)}</h2><p class="reason">{escape(why)}</p>'
            + (_photos(_, entry, photo_url) if photo_url else "") + _prices(_, entry))


def _radio(name: str, value: str, label: str, *, checked: bool, required: bool = False) -> str:
    return (f'<label><input type="radio" name="{escape(name)}" value="{escape(value)}"'
            + (" checked" if checked else "") + (" required" if required else "")
            + f"> {escape(label)}</label>")


def _choice(_: Translator, entry: LinkItemView, typed: Typed) -> str:
    key = entry.item.request_id
    chosen, reason = typed.choices.get(key), typed.reasons.get(key)
    reasons = "".join(_radio(f"reason-{key}", value.value, _(label), checked=reason == value)
                      for value, label in DECLINE_REASONS.items())
    yours, why = _("Your decision"), _("If you decline: why?")
    approve, decline = "✅ " + _("Approve"), "❌ " + _("Decline")
    return (
        f'<fieldset class="choice"><legend>{escape(yours)}</legend>'
        + _radio(f"choice-{key}", "approve", approve, checked=chosen == "approve",
                 required=True)
        + _radio(f"choice-{key}", "decline", decline, checked=chosen == "decline",
                 required=True)
        + f'</fieldset><fieldset class="why"><legend>{escape(why)}</legend>'
        f"{reasons}</fieldset>")


def decision_words(_: Translator, entry: LinkItemView) -> tuple[str, str]:
    """(the css class, the words) for where an item stands."""
    if entry.status is Decision.pending:
        return "wait", _("Not decided")
    yours = entry.item.decision is not None or entry.consent_method == ConsentMethod.customer_link
    who = _("by you") if yours else _("by the front desk")
    if entry.status is Decision.approved:
        return "ok", _("Approved {who}").format(who=who)
    return "no", _("Declined {who}").format(who=who)


def _decided(_: Translator, entry: LinkItemView, photo_url: str | None) -> str:
    css, words = decision_words(_, entry)
    return (f'<section class="card">{_described(_, entry, photo_url)}'
            f'<p class="{css}">{escape(words)}</p></section>')


def form_page(
    _: Translator, shop: Shop, view: LinkView, *, action: str, photo_url: str,
    typed: Typed | None = None, error: str | None = None, switch: str | None = None,
) -> str:
    """The items to decide, each with Approve / Decline and why, then the name and a note."""
    typed = typed or Typed()
    car = car_line(_, mask_plate(view.order.plate), view.order.vehicle_model)
    ask = _("Your service advisor asks you to confirm the additional work below. Please "
            "approve or decline each item.")
    agree = _("By sending, you agree to the approved items at the prices shown.")
    total = _("Total of all items: {total}").format(total=_.money(view.total_fen))
    name = _("Your name (your signature)")
    note, send = _("A note for the workshop (optional)"), _("Send my decision")
    parts = [f'<p class="car">{escape(car)}</p>', f"<p>{escape(ask)}</p>"]
    if error:
        parts.append(f'<p class="card error" role="alert">{escape(error)}</p>')
    parts.append(f'<form method="post" action="{escape(action)}">'
                 f'<input type="hidden" name="form_key" value="{escape(view.link.form_key)}">')
    for entry in view.items:
        if entry.status is not Decision.pending:
            parts.append(_decided(_, entry, photo_url))
            continue
        parts.append(f'<section class="card">{_described(_, entry, photo_url)}'
                     f"{_choice(_, entry, typed)}</section>")
    parts.append(
        f'<section class="card"><p class="total">{escape(total)}</p>'
        f'<label class="field">{escape(name)}'
        f'<input name="name" required maxlength="{NAME_MAX}" autocomplete="name" '
        f'value="{escape(typed.name)}"></label>'
        f'<label class="field">{escape(note)}'
        f'<textarea name="note" rows="3" maxlength="{NOTE_MAX}">{escape(typed.note)}'
        "</textarea></label>"
        f'<p class="small">{escape(agree)}</p>'
        f'<button type="submit">{escape(send)}</button></section></form>'
        f'<p class="small">{contact_line(_, shop)}</p>')
    return document(_, shop, _("Additional work on your car"), "".join(parts), switch=switch)


def closed_page(_: Translator, shop: Shop, view: LinkView, *, photo_url: str | None,
                expired: bool, switch: str | None = None) -> str:
    """A used or expired link: what became of each item, and whom to call."""
    head = (_("This link has expired.") if expired
            else _("Everything on this link has been decided."))
    body = (f'<section class="card"><h2>{escape(head)}</h2>'
            f'<p>{contact_line(_, shop)}</p></section>'
            + "".join(_decided(_, entry, photo_url) for entry in view.items))
    return document(_, shop, head, body, switch=switch)


def done_page(_: Translator, shop: Shop, name: str, approved: Sequence[str],
              declined: Sequence[str], *, switch: str | None = None) -> str:
    """The confirmation after the customer sent their decision."""
    lines = []
    if approved:
        words = _("Approved: {items}").format(items=format_list(approved, locale=_.locale))
        lines.append(f'<p class="ok">{escape(words)}</p>')
    if declined:
        words = _("Declined: {items}").format(items=format_list(declined, locale=_.locale))
        lines.append(f'<p class="no">{escape(words)}</p>')
    title = _("Thank you, {name}!").format(name=name)
    told = _("The workshop has been told; your service advisor will be in touch.")
    return document(_, shop, title, (
        f'<section class="card"><h2>{escape(title)}</h2>{"".join(lines)}'
        f'<p>{escape(told)}</p><p class="small">{contact_line(_, shop)}</p>'
        "</section>"), switch=switch)
