"""Telegram's text formatting: ``parse_mode=HTML`` read into plain text and entities, as the Bot
API stores a message, and the ``bot_command`` entity a client gives a typed command.

Offsets and lengths count UTF-16 code units, as Telegram's do (and as the page's JavaScript
strings do), so an emoji counts two.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "code": "code", "pre": "pre", "blockquote": "blockquote",
    "a": "text_link", "span": "spoiler", "tg-emoji": "custom_emoji",
}
COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{1,64})?(?=\s|$)")


class BadFormatting(ValueError):
    """The text is not Telegram's HTML: the Bot API answers "can't parse entities"."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0  # of the text so far, in UTF-16 units
        self.open: list[tuple[str, int, dict[str, Any]]] = []  # tag, offset, entity fields
        self.entities: list[dict[str, Any]] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.length += utf16_len(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = SIMPLE_TAGS.get(tag)
        values = {name: value or "" for name, value in attrs}
        if kind is None or (tag == "span" and values.get("class") != "tg-spoiler"):
            raise BadFormatting(f'Unsupported start tag "{tag}"')
        fields: dict[str, Any] = {"type": kind}
        if tag == "a":
            url = values.get("href", "")
            if match := re.fullmatch(r"tg://user\?id=(\d+)", url):
                fields = {"type": "text_mention", "user": {"id": int(match[1]),
                                                           "is_bot": False, "first_name": ""}}
            elif url:
                fields["url"] = url
            else:
                fields = {}  # Telegram keeps the text of a link without an address
        elif tag == "blockquote" and "expandable" in values:
            fields["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            fields["custom_emoji_id"] = values.get("emoji-id", "")
        elif tag == "code" and self.open and self.open[-1][0] == "pre":
            language = values.get("class", "").removeprefix("language-")
            if language:
                self.open[-1][2]["language"] = language
            fields = {}  # the pre carries it
        self.open.append((tag, self.length, fields))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1][0] != tag:
            expected = f'"</{self.open[-1][0]}>"' if self.open else "no end tag"
            raise BadFormatting(f'Unmatched end tag "</{tag}>", expected {expected}')
        _, offset, fields = self.open.pop()
        if fields and self.length > offset:
            self.entities.append({**fields, "offset": offset, "length": self.length - offset})


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities, ordered by offset (outer before inner) as Telegram orders them."""
    reader = _Reader()
    reader.feed(text)
    reader.close()
    if reader.open:
        raise BadFormatting(
            f'Can\'t find end tag corresponding to start tag "{reader.open[-1][0]}"')
    entities = sorted(reader.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(reader.parts), entities


def command_entities(text: str) -> list[dict[str, Any]]:
    """A message starting with ``/name`` carries a ``bot_command`` entity at 0, as a client
    sends it (python-telegram-bot's ``CommandHandler`` needs it)."""
    match = COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match[0])}]
