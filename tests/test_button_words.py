"""The wording matches the buttons, everywhere (issue 11: the W5 photo prompt said “tap Continue”
where only Skip was shown).

Every test that uses the ``shop`` fixture is watched (tests/button_words.py): a message whose
words name a button — “tap Continue”, “then tap “Done — send””, 点“跳过” — must come with that
button or find it live in the same chat. Here: the reading of the words, the watcher catching a
mismatch, the photo steps walked to their limits in both languages, and a check that every
Chinese text names the Chinese label of the button its English names."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.floor.extra_item import MAX_PHOTOS as EXTRA_PHOTOS
from models.equipment import MAX_PHOTOS as DAMAGE_PHOTOS
from models.fault_report import MAX_PHOTOS as FAULT_PHOTOS
from models.staff import Role
from tests.button_words import ButtonWords, named_buttons, names_button
from tests.flows import order_in_progress
from tests.shop import Shop
from tests.test_catalogs import ROOT, source_messages

pytestmark = pytest.mark.both_channels


def test_reading_the_words() -> None:
    assert named_buttons("Send photos of it if you can, then tap Continue. No photos? Tap "
                         "Skip.") == ["Continue", "Skip"]
    assert named_buttons("Tick each box when it is done, then “Start work”.") == ["Start work"]
    assert named_buttons("Now send photos, then tap “Done — send”. No photos? Tap it straight "
                         "away.") == ["Done — send"]
    assert named_buttons("Reply to a reminder card, tap 📝 Log call.") == ["📝 Log"]
    assert named_buttons("Please tap a number from 1 to 5 (or “Not asked”).") == ["Not asked"]
    assert named_buttons("Estimated cost (e.g. “300 150”). Tap an area, or one.") == []
    assert named_buttons("如有照片请发送，然后点“继续”。没有照片？点「跳过」。") == ["继续", "跳过"]
    assert named_buttons("请点 1 到 5 的数字（或“未询问”）。") == ["未询问"]
    assert names_button("Done — send", "✅ Done — send")
    assert names_button("📝 Log", "📝 Log call")
    assert names_button("继续", "➡️ 继续")
    assert not names_button("Continue", "Skip")


def test_the_chinese_names_the_same_buttons() -> None:
    """Flows run in English; the Chinese of each text that names a button names the Chinese
    label of the same button (a label whose English carries the English name)."""
    path = ROOT / "locales" / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    pairs = [(m.id if isinstance(m.id, str) else m.id[0],
              m.string if isinstance(m.string, str) else m.string[0]) for m in catalog if m.id]
    labels = [(en, zh) for en, zh in pairs if len(en) <= 40]  # what a button may say
    used = {m if isinstance(m, str) else m[0] for m in source_messages()}
    wrong = []
    for en, zh in pairs:
        if en not in used:
            continue
        english, chinese = named_buttons(en), named_buttons(zh)
        if len(english) != len(chinese):
            wrong.append(f"{en!r} names {english}, its Chinese {chinese}")
            continue
        for e, z in zip(english, chinese, strict=True):
            if "{" in e or "{" in z:  # the label itself is put in: the same either way
                continue
            if not any(names_button(e, le) and names_button(z, lz) for le, lz in labels):
                wrong.append(f"{en!r}: “{e}” is not “{z}” in Chinese")
    assert wrong == []


async def test_a_mismatch_is_caught(shop: Shop) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    await tech.send("/help")  # the chat exists on both channels
    watch: ButtonWords = shop.button_words  # type: ignore[attr-defined]  # (tests/conftest.py)
    assert watch.problems == []
    skip_only = InlineKeyboardMarkup([[InlineKeyboardButton("Skip", callback_data="x:skip")]])
    await shop.app.bot.send_message(tech.user_id, "Send photos, then tap Continue. No photos? "
                                    "Tap Skip.", reply_markup=skip_only)
    watch.check()
    assert len(watch.problems) == 1 and "names the button “Continue”" in watch.problems[0]
    await shop.app.bot.send_message(tech.user_id, "No photos? Tap Skip.", reply_markup=skip_only)
    watch.check()
    assert len(watch.problems) == 1
    watch.problems.clear()  # caught: the shop fixture's own check would fail the test


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
async def test_the_extra_item_photo_step(shop: Shop, locale: str) -> None:
    """W5: only Skip is there before the first photo; Continue comes with it."""
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician, locale=locale)
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:extra")
    await tech.send("Replace wiper blades")
    [prompt] = await tech.send("Both blades are torn")
    assert len(tech.last.buttons) == 1
    if locale == "en":
        assert prompt == "Send photos of it if you can. No photos? Tap Skip."
        assert [label for label, _ in tech.last.buttons] == ["Skip"]
    for n in range(EXTRA_PHOTOS + 1):  # one more than it keeps
        await tech.send_photo(f"wiper-{n}")
    assert named_buttons(tech.last.text) and len(tech.last.buttons) == 1
    await tech.tap(data=tech.last.buttons[0][1])  # Continue
    await tech.send("300 150")


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
async def test_the_fault_report_and_damage_photo_steps(shop: Shop, locale: str) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician, locale=locale)
    await shop.hire("Boss Ma", Role.supervisor)
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:fault")
    await tech.send("Front left brake hose cracked")
    await tech.send("no photo, sorry")  # this step takes photos: said with its button
    for n in range(FAULT_PHOTOS + 1):
        await tech.send_photo(f"hose-{n}")
    await tech.tap(data=tech.last.buttons[0][1])  # Done — send

    await tech.send("/damage")
    await tech.send("2-post lift No. 2")
    await tech.send("The arm pad is torn")
    await tech.tap(data=tech.last.buttons[0][1])  # Continue without a photo: asked for one
    for n in range(DAMAGE_PHOTOS + 1):
        await tech.send_photo(f"lift-{n}")
    await tech.tap(data=tech.last.buttons[0][1])  # Continue
    await tech.send("/cancel")
