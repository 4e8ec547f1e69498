"""The wording matches the buttons: a message that tells people to tap a button (“tap Continue”,
“then tap “Done — send””, 点“跳过”…) must come with that button, or the button must be live in
the same chat (on a card sent with it, or one still there).

``ButtonWords`` watches a test shop: after every update it reads the messages the bot sent or
edited (and its tap alerts), finds the buttons their words name, and notes every name no button
in that chat carries. The ``shop`` fixture (tests/conftest.py) watches every test this way, on
both channels; tests/test_button_words.py checks the reading of the words and walks the flows
whose prompts name buttons."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from typing import Any

# English: tap/press/choose/then “Label”, or (or “Label”); tap/press/then Label (one capitalised
# word, maybe after an emoji: “tap 📝 Log call”).
EN_QUOTED = re.compile(r"(?:\b[Tt]ap|\b[Pp]ress|\b[Cc]hoose|\bthen|\(or)\s+“([^”]+)”")
EN_WORD = re.compile(r"(?:\b[Tt]ap|\b[Pp]ress|\bthen)\s+((?:[^\w\s“]{1,3}\s)?[A-Z][\w’']*)")
# Chinese: 点“标签” / 点击“标签” / 点「标签」, or （或“标签”）.
ZH = re.compile(r"(?:点(?:击|按)?|[（(]或)\s*[“「]([^”」]+)[”」]")
SHOWN = ("sendMessage", "editMessageText", "sendPhoto", "editMessageCaption",
         "answerCallbackQuery")


def named_buttons(text: str) -> list[str]:
    """The button labels a message's words name, in order."""
    found: dict[int, str] = {}
    for pattern in (EN_QUOTED, EN_WORD, ZH):
        for match in pattern.finditer(text):
            found.setdefault(match.start(1), match.group(1))
    return [found[at] for at in sorted(found)]


def _plain(label: str) -> str:
    """Letters, digits and CJK only, folded: “✅ Done — send” → “done send”."""
    kept = "".join(ch if unicodedata.category(ch)[0] in "LN" else " " for ch in label)
    return " ".join(kept.casefold().split())


def names_button(name: str, label: str) -> bool:
    plain = _plain(name)
    return bool(plain) and plain in _plain(label)


class ButtonWords:
    def __init__(self, shop: Any) -> None:
        self.shop = shop
        self.seen = 0
        self.problems: list[str] = []
        self.texts: dict[tuple[int, int], str] = {}  # each message's text at the last check

    def install(self) -> None:
        """Check after every update the shop processes (a message, a tap, a WeCom callback)."""
        name = "deliver" if hasattr(self.shop, "fake") else "process"
        original = getattr(self.shop, name)

        async def watched(data: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            result = await original(data, *args, **kwargs)
            tapped = (data.get("callback_query") or {}).get("message", {}).get("chat", {})
            self.check(tapped.get("id"))
            return result

        setattr(self.shop, name, watched)

    def check(self, tap_chat: int | None = None) -> None:
        """Read what was sent since the last check; note every named button that is missing."""
        calls = self.shop.api.calls
        new, self.seen = calls[self.seen:], len(calls)
        live: dict[int, list[str]] = defaultdict(list)
        for message in self.shop.api.messages.values():
            live[message.chat_id] += [label for label, _data in message.buttons]
        sent: dict[int | None, list[str]] = defaultdict(list)
        for call in new:
            sent[call.chat_id] += [label for label, _data in call.buttons]
        for call in new:
            if call.method not in SHOWN:
                continue
            chat = call.chat_id if call.chat_id is not None else tap_chat
            if chat is None or self.history(call):
                continue
            labels = [label for label, _data in call.buttons] + sent[chat] + live[chat]
            for name in named_buttons(call.text):
                if not any(names_button(name, label) for label in labels):
                    problem = (f"“{call.text}” names the button “{name}”, but the buttons in "
                               f"that chat are {sorted(set(labels))}")
                    if problem not in self.problems:
                        self.problems.append(problem)
        self.texts = {key: message.text for key, message in self.shop.api.messages.items()}

    def history(self, call: Any) -> bool:
        """A prompt closed by an edit that keeps its words and adds the outcome under them, with
        no buttons left ("…\n→ answer", "…\n⏹ Already issued by …"): the record of a step, no
        longer an instruction."""
        if call.chat_id is None:
            return False
        if "\n⏹ " in call.text:  # a step someone else's decision ended (handlers.chat.deciding),
            # edited — or, where the platform cannot edit, sent anew — with no live buttons (a
            # WeCom card keeps its spent button greyed: ``replace_name``)
            return True
        if call.buttons:
            return False
        if call.method != "editMessageText":
            return False
        before = self.texts.get((call.chat_id, int(call.params.get("message_id") or 0)))
        return bool(before) and call.text.startswith(before) and call.text != before
