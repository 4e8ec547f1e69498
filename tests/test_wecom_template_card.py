"""WeCom cards designed for WeCom (bot/wecom/template_card.py): the facts of a card in its own
fields (rows of "Key: value", the rest as the body) so an order card needs no text copy before
it; at most six buttons, the most likely first, and "More…" for a second card with the rest,
whose taps run the same actions; every button label the bot can send short enough for WeCom."""

from __future__ import annotations

import ast
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.i18n import Translator
from bot.settings import Settings
from bot.wecom.template_card import (
    LABEL_CHARS,
    MORE_KEY,
    layout,
    needs_full_text,
    short_form,
    wecom_label,
)
from handlers.chat import labels
from handlers.floor.cards import box_name
from handlers.floor.checklist import job_type_name
from models.checklist import RULE, Box, JobType
from models.db import Database
from models.staff import Role
from models.work_order import ItemStatus, OrderItem
from tests.conftest import START
from tests.fakewecom import check_send
from tests.flows import order_in_progress
from tests.wecom_shop import WeComPerson, WeComShop

ROOT = Path(__file__).resolve().parent.parent
EN = Translator("en", ZoneInfo("Asia/Shanghai"))
ZH = Translator("zh_CN", ZoneInfo("Asia/Shanghai"))


@pytest.fixture
async def shop(db: Database, settings: Settings) -> AsyncIterator[WeComShop]:
    shop = WeComShop(db, settings.model_copy(update={"default_locale": "en"}), START)
    await shop.start()
    yield shop
    await shop.stop()
    assert shop.errors == [], f"handlers raised: {shop.errors!r}"
    assert shop.fake.refused() == [], "WeCom would refuse these"


def cards_to(shop: WeComShop, userid: str) -> list[dict[str, Any]]:
    """Every card body the person got, sent or updated in place, in order."""
    bodies = []
    for record in shop.fake.records:
        if not record.ok:
            continue
        if record.path == "message/send" and record.body.get("touser") == userid and \
                record.body.get("msgtype") == "template_card":
            bodies.append(record.body["template_card"])
        elif record.path == "message/update_template_card" and \
                record.body.get("userids") == [userid] and "template_card" in record.body:
            bodies.append(record.body["template_card"])
    return bodies


def keys(card: dict[str, Any]) -> list[str]:
    return [b["key"] for b in card["button_list"]]


async def staff(shop: WeComShop, locale: str = "en") -> tuple[WeComPerson, WeComPerson]:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician, locale=locale)
    return advisor, tech


# --- "More…" ------------------------------------------------------------------------------------


async def test_the_order_card_shows_six_buttons_and_more_opens_the_rest(
    shop: WeComShop,
) -> None:
    advisor, tech = await staff(shop)
    order_id = await order_in_progress(shop, advisor, tech)  # type: ignore[arg-type]
    assert len(tech.last.buttons) == 11  # what the handlers drew: two items, seven actions
    card = cards_to(shop, tech.userid)[-1]
    assert card["main_title"]["title"] == "Work order WO261130-00001"
    # The most likely first: the items' clock and done buttons, then a fault; then "More…".
    assert keys(card)[:4] == ["clk:1:start", "itm:1:done", "clk:2:start", "itm:2:done"]
    assert keys(card)[4:] == [f"ord:{order_id}:fault", f"{MORE_KEY}:1"]
    assert [b["text"] for b in card["button_list"]] == [
        "▶ Start 1", "✅ Done 1", "▶ Start 2", "✅ Done 2", "🔧 Fault", "More…"]
    sends = len(shop.fake.sent(tech.userid))

    # "More…" is answered by the WeCom layer: a second card with the other six, nothing for
    # the handlers (no "no longer active" alert, no error).
    assert await tech.tap_data(f"{MORE_KEY}:1", tech.last) == []
    more = shop.fake.sent(tech.userid)[sends:]
    assert [m["msgtype"] for m in more] == ["template_card"]
    rest = more[0]["template_card"]
    assert rest["main_title"]["title"] == card["main_title"]["title"]
    assert rest["sub_title_text"] == "More actions"
    assert keys(rest) == [f"ord:{order_id}:{action}"
                          for action in ("extra", "check", "part", "next", "flag", "view")]
    assert all(len(b["text"]) <= LABEL_CHARS for b in rest["button_list"])
    assert shop.api.alerts() == []

    # A tap on the second card is a tap on the order card: the same handler answers it.
    replies = await tech.tap("Request extra item")
    assert [r.partition(" (")[0] for r in replies] == [
        "WO261130-00001: extra item. What needs doing that is not on the order"]
    [click] = [r for r in shop.fake.records if r.path == "message/send"][-1:]
    assert click.body["msgtype"] == "text"  # the prompt; no numbered list anywhere
    assert not any(b["msgtype"] == "text" and "Reply with the number" in b["text"]["content"]
                   for b in shop.fake.sent(tech.userid))
    assert shop.api.stale_cards() == []


async def test_a_button_behind_more_is_tapped_there_and_both_cards_follow_the_order(
    shop: WeComShop,
) -> None:
    advisor, tech = await staff(shop)
    order_id = await order_in_progress(
        shop, advisor, tech,  # type: ignore[arg-type]
        items=("Change oil", "Replace filter", "Rotate tyres"))
    card = cards_to(shop, tech.userid)[-1]
    assert "itm:3:done" not in keys(card)  # 13 buttons: item 3's "Done" is on the second card
    sends = len(shop.fake.sent(tech.userid))
    await tech.tap("Done: 3.")  # as a person does it: "More…", then the button there
    async with shop.db.session() as session:
        third = (await session.exec(select(OrderItem).where(
            OrderItem.order_id == order_id, OrderItem.position == 3))).one()
    assert third.status == ItemStatus.done
    # The "More…" card was the only card sent (and the tap's alert the only text): the order
    # card was updated in place (with the code of the "More…" tap), and so was the second card
    # (with the code of its tap).
    assert [m.get("template_card", m.get("text")) for m in
            shop.fake.sent(tech.userid)[sends:]][1:] == [{"content": "Done: Rotate tyres"}]
    main, second = cards_to(shop, tech.userid)[-2:]
    assert "✅ 3. Rotate tyres" in main["sub_title_text"]
    assert keys(main)[-1] == f"{MORE_KEY}:1" and "itm:3:done" not in keys(main) + keys(second)
    assert keys(second) == [f"ord:{order_id}:{action}"
                            for action in ("extra", "check", "part", "next", "flag", "view")]
    assert shop.api.stale_cards() == []
    # The card's buttons are the order's: its "More…" card answers like the card.
    await tech.tap("Hand on to the next process")
    assert shop.errors == []


async def test_a_more_card_of_a_changed_card_is_greyed_when_its_page_is_gone(
    shop: WeComShop,
) -> None:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    tech = await shop.hire("Zhang Tech", Role.technician)

    def keyboard(count: int) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton(f"Option {i}",
                                                           callback_data=f"opt:{i}")]
                                     for i in range(1, count + 1)])

    sent = await shop.app.bot.send_message(tech.user_id, "Pick", reply_markup=keyboard(8))
    await tech.tap_data(f"{MORE_KEY}:1", tech.last)
    [task_id] = shop.api.more[(tech.user_id, sent.message_id)]
    assert [d for _l, d in shop.api.more[(tech.user_id, sent.message_id)][task_id]] == [
        "opt:6", "opt:7", "opt:8"]
    await shop.app.bot.edit_message_text("Pick one of three", chat_id=tech.user_id,
                                         message_id=sent.message_id, reply_markup=keyboard(3))
    assert shop.api.more[(tech.user_id, sent.message_id)] == {}  # greyed: "Done"
    assert shop.api.greyed[-1][1:] == (task_id, "Done")
    assert shop.api.stale_cards() == []
    # "More…" on a card that has no more buttons does nothing.
    assert await tech.tap_data(f"{MORE_KEY}:1", tech.last) == []
    assert shop.api.more[(tech.user_id, sent.message_id)] == {}


# --- the card's facts in WeCom's own fields -------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
async def test_an_order_card_carries_its_facts_in_rows_without_a_full_text_copy(
    shop: WeComShop, locale: str,
) -> None:
    advisor, tech = await staff(shop, locale)
    await order_in_progress(shop, advisor, tech)  # type: ignore[arg-type]
    card = cards_to(shop, tech.userid)[-1]
    rows = [(r["keyname"], r["value"]) for r in card["horizontal_content_list"]]
    if locale == "en":
        assert rows == [("Plate", "京A12345"), ("Car", "Toyota Camry"),
                        ("State", "in progress"), ("Issue", "Noise when braking")]
        assert card["sub_title_text"] == "Items:\n⬜ 1. Change oil\n⬜ 2. Replace filter"
    else:
        assert [name for name, _value in rows] == ["车牌", "车型", "状态", "客户描述"]
    assert all(len(name) <= 5 and len(value) <= 26 for name, value in rows)
    t = EN if locale == "en" else ZH
    assert not needs_full_text(t, tech.last.text, None)
    # Nothing was sent to the technician as the order card's full text.
    texts = [b["text"]["content"] for b in shop.fake.sent(tech.userid) if b["msgtype"] == "text"]
    assert not any(text.startswith(tech.last.text.partition("\n")[0] + "\n") and
                   "⤵️" not in text for text in texts)
    assert shop.fake.advice == []  # nothing over what WeCom advises, on any card of the walk


def test_a_card_s_layout() -> None:
    text = ("Work order WO261130-00001 · 京A12345\nCustomer: 王先生 13812345678\n"
            "Vehicle: Toyota Camry\nComplaint: A long complaint that does not fit in a row\n"
            "Note: a key nobody shortened\nItems:\n⬜ 1. Change oil (done 7 Dec 10:42)")
    card = layout(EN, text)
    assert (card.title, card.desc) == ("Work order WO261130-00001", "京A12345")
    assert card.rows == [("Cust.", "王先生 13812345678"), ("Car", "Toyota Camry"),
                         ("Note", "a key nobody shortened")]
    assert card.body == ("Complaint: A long complaint that does not fit in a row\nItems:\n"
                         "⬜ 1. Change oil (done 7 Dec 10:42)")
    assert card.fits()


def test_the_fake_refuses_rows_and_quotes_wecom_would_refuse() -> None:
    def card(**fields: Any) -> dict[str, Any]:
        return {"touser": "u1", "msgtype": "template_card", "agentid": 1, "template_card": {
            "card_type": "button_interaction", "task_id": "t1", "main_title": {"title": "T"},
            "button_list": [{"text": "OK", "key": "ok"}], **fields}}

    advice: list[str] = []
    assert check_send(card(horizontal_content_list=[{"keyname": "Plate", "value": "x"}]),
                      advice) is None
    for bad in (card(horizontal_content_list=[{"keyname": "K", "type": 7}]),
                card(horizontal_content_list=[{"keyname": "K", "type": 1}]),  # no url
                card(horizontal_content_list=[{"value": "no keyname"}]),
                card(quote_area={"type": 9})):
        refusal = check_send(bad, advice)
        assert refusal is not None and refusal[0] == 40058, bad
    assert check_send(card(main_title={"title": "T", "desc": "d" * 45}), advice) is None
    assert advice == ["main_title.desc over 44: " + repr("d" * 45)]


# --- short labels -------------------------------------------------------------------------------

# Sample values of the fields in labels: numbers as a busy shop has them, a plate; a field that
# holds free text (a name, an item) is cut to fit, whatever the table says.
SAMPLES = {"position": "12", "number": "12", "count": "12", "id": "123", "plate": "京A12345"}
FREE_TEXT = {"name", "item", "kind"}


def translated_calls(node: ast.AST) -> Iterator[str]:
    """The msgids of ``_("…")``, ``t("…")``, ``context._("…")`` inside ``node``."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and sub.args and isinstance(sub.args[0], ast.Constant) \
                and isinstance(sub.args[0].value, str) and (
                    (isinstance(sub.func, ast.Name) and sub.func.id in ("_", "t"))
                    or (isinstance(sub.func, ast.Attribute) and sub.func.attr == "_")):
            yield sub.args[0].value


def button_labels() -> dict[str, str]:
    """Every translated label a ``button(…)`` of the bot is drawn with: msgid → where."""
    found: dict[str, str] = {}
    for folder in ("handlers", "jobs", "bot"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                        node.func.id == "button" and node.args:
                    for msgid in translated_calls(node.args[0]):
                        found.setdefault(msgid, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


# The words that labels are made of ("⬜ " + a role, "📢 " + a letter kind …).
WORD_TABLES: list[tuple[str, list[str]]] = [
    ("⬜", list(labels.ROLE_NAMES.values())), ("✅", list(labels.TOPIC_NAMES.values())),
    ("📢", list(labels.LETTER_KIND_NAMES.values())),
    ("📮", list(labels.LETTER_CHANNEL_NAMES.values())),
    ("🎉", list(labels.CAMPAIGN_KIND_NAMES.values())),
]


@pytest.mark.parametrize("t", [EN, ZH], ids=["en", "zh_CN"])
def test_every_button_label_has_a_wecom_form_of_at_most_ten_characters(t: Translator) -> None:
    found = button_labels()
    assert len(found) > 100, "the walk over button(…) calls found too few labels"
    field = re.compile(r"\{(\w+)\}")
    too_long = []
    for msgid, where in found.items():
        fields = set(field.findall(msgid))
        label = t(msgid).format(**{f: SAMPLES.get(f, "Zhang Wei Changes Oil") for f in fields})
        shown = wecom_label(t, label)
        assert len(shown) <= LABEL_CHARS, (label, shown)
        if fields & FREE_TEXT:  # cut to fit: the table must still know the label
            if len(label) > LABEL_CHARS and short_form(t, label) is None:
                too_long.append(f"{where}: {label!r} has no short form")
            continue
        if len(label) > LABEL_CHARS and (short_form(t, label) is None or shown.endswith("…")):
            too_long.append(f"{where}: {label!r} → {shown!r}")
    # the words of tick boxes and choices, with a mark before them
    words = [(mark, word) for mark, table in WORD_TABLES for word in table]
    words += [("☑", job_type_name(t, job)) for job in JobType]
    words += [(f"☐ {RULE[box]}", box_name(t, box)) for box in Box]
    for mark, word in words:
        label = f"{mark} {t(word)}"
        shown = wecom_label(t, label)
        if len(label) > LABEL_CHARS and shown.endswith("…"):
            too_long.append(f"{label!r} → {shown!r}")
    assert too_long == [], "labels WeCom would cut:\n" + "\n".join(too_long)


def test_a_short_label_keeps_its_fields_and_an_unknown_label_is_cut() -> None:
    assert wecom_label(EN, "▶️ Resume 3.") == "▶ Go on 3"
    assert wecom_label(ZH, "✅ 完成：3. 更换机油和机油滤清器") == "✅ 完成 3"
    assert wecom_label(EN, "Yes, use 京A12345") == "✅ 京A12345"
    assert wecom_label(EN, "☑ Opens fuel, oil or water parts") == "☑ Fluids"
    assert wecom_label(EN, "✅ OK") == "✅ OK"  # short enough already
    assert wecom_label(EN, "Zhang Weiming the Second") == "Zhang Wei…"
    assert len(wecom_label(EN, "Zhang Weiming the Second")) == LABEL_CHARS
