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
    "person_channel": N_("The app they talk to the bot in"),
    "telegram": N_("Telegram"),
    "wecom": N_("WeCom (企业微信)"),
    "via_wecom": N_("WeCom"),
    "wecom_no_document": N_("In the WeCom app the bot takes pictures and voice notes, not "
                            "documents."),
    "not_delivered": N_("The bot's WeCom callback did not take it."),
    "tour": N_("Tour"),
    "tour_next": N_("Next"),
    "tour_skip": N_("Skip"),
    "tour_finish": N_("Finish"),
    "tour_step": N_("Step {number} of {count}"),
}

# The guided tour's steps: the role of the person to use (the first of it) and what to do;
# ``{name}`` is that person's, ``{plate}`` the plate the technician's new order waits for.
TOUR_STEPS = (
    ("advisor", N_("As {name} (service advisor) send /orders: each work order on the floor "
                   "is a card with its buttons.")),
    ("technician", N_("As {name} (technician) send /orders, tap 🔎 Confirm plate and type the "
                      "plate on the vehicle: {plate}.")),
    ("technician", N_("Still as {name}: tap ➕ Request extra item and answer the questions "
                      "(what, why, photos, the estimate).")),
    ("advisor", N_("As {name}: approve the extra item on its card and say how the customer "
                   "agreed; the technician hears of it at once.")),
    ("tracking_clerk", N_("Tap +1 day three times: {name} (tracking clerk) is reminded of "
                          "the first follow-up call due.")),
    ("supervisor", N_("As {name} (supervisor) send /report: last month's spreadsheet and "
                      "chart.")),
)


def page_strings(language: str | None) -> dict[str, str]:
    """Every word of the page in ``language`` (the first locale when it is not one of ours)."""
    locale = language if language in LOCALES else LOCALES[0]
    catalog = translations(locale)
    return {key: catalog.gettext(message) for key, message in STRINGS.items()}
