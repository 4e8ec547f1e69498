"""The playground page's own words (its buttons, hints and errors), from the Babel catalogs like
every other string: ``GET /playground/api/strings?lang=zh_CN|en`` hands them to the page."""

from __future__ import annotations

from bot.i18n import N_, translations
from bot.settings import LOCALES

STRINGS = {
    "title": N_("Workshop playground"),
    "staff": N_("Staff"),
    "no_people": N_("Nobody is in the playground yet."),
    "pick_someone": N_("Pick someone on the left to chat as them."),
    "language": N_("Page language"),
    "message": N_("Message"),
    "caption": N_("Caption (optional)"),
    "send": N_("Send"),
    "attach": N_("Attach"),
    "attach_photo": N_("Photo"),
    "attach_voice": N_("Voice note"),
    "attach_document": N_("Document"),
    "commands": N_("Commands"),
    "no_commands": N_("This person has no commands yet."),
    "reply": N_("Reply"),
    "replying_to": N_("Replying to"),
    "cancel": N_("Cancel"),
    "close": N_("Close chat"),
    "back": N_("Back"),
    "edited": N_("edited"),
    "bot": N_("Bot"),
    "download": N_("Download"),
    "reconnecting": N_("Connection lost; reconnecting…"),
    "not_sent": N_("Not sent: {reason}"),
    "empty": N_("The message is empty."),
    "too_long": N_("The message is longer than Telegram's 4096 characters."),
    "caption_too_long": N_("The caption is longer than Telegram's 1024 characters."),
    "not_an_image": N_("That file is not an image; send it as a document."),
    "too_large": N_("The file is larger than 20 MB."),
    "no_file": N_("Choose a file to send."),
    "bad_request": N_("The page sent something the playground cannot read."),
    "unknown_person": N_("Nobody with that id is in the playground."),
    "no_message": N_("That message is not in this chat any more."),
    "no_button": N_("That message has no such button."),
    "shop_time": N_("Shop time"),
    "plus_hour": N_("+1 hour"),
    "plus_day": N_("+1 day"),
    "next_morning": N_("Next 09:00"),
    "clock_moved": N_("Sent meanwhile: {count}"),
    "person_language": N_("The language the bot speaks to them"),
}


def page_strings(language: str | None) -> dict[str, str]:
    """Every word of the page in ``language`` (the first locale when it is not one of ours)."""
    locale = language if language in LOCALES else LOCALES[0]
    catalog = translations(locale)
    return {key: catalog.gettext(message) for key, message in STRINGS.items()}
