"""The words for what the shop's enums hold, as people read them on cards, in lists, on buttons
and in the spreadsheets: one table per enum shown in more than one place, and one function that
reads it, so a thing has one name wherever it appears.

An enum shown by one module only keeps its words there (a part's status in
``handlers/parts/cards.py``, a checklist box in ``handlers/floor/checklist.py``). A stored value
that a table does not know (a row written by a newer version) is shown as it is stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.i18n import N_, Translator
from models.call_log import Topic
from models.campaign import CampaignKind
from models.complaint import ComplaintStatus
from models.customer import VisitKind
from models.extra_item import Decision
from models.followup import FollowUpKind
from models.letter import LetterChannel, LetterKind
from models.staff import Role
from models.work_order import OrderStatus


def _name(t: Translator, names: dict[str, str], value: str | None) -> str:
    if value is None:
        return "—"
    label = names.get(value)
    return t(label) if label is not None else value


ORDER_STATUS_NAMES: dict[str, str] = {
    OrderStatus.open: N_("waiting for the plate check"),
    OrderStatus.locked: N_("locked (plate mismatches)"),
    OrderStatus.in_progress: N_("in progress"),
    OrderStatus.self_checked: N_("self-checked, waiting for QC"),
    OrderStatus.leader_passed: N_("passed by the team leader"),
    OrderStatus.inspected: N_("inspected, ready for delivery"),
    OrderStatus.delivered: N_("delivered"),
    OrderStatus.cancelled: N_("cancelled"),
}


def status_name(t: Translator, status: str) -> str:
    """A work order's status."""
    return _name(t, ORDER_STATUS_NAMES, status)


DECISION_NAMES: dict[str, str] = {
    Decision.approved: N_("approved"),
    Decision.rejected: N_("rejected"),
    Decision.pending: N_("pending"),
}


def decision_name(t: Translator, decision: str) -> str:
    """An extra item's decision."""
    return _name(t, DECISION_NAMES, decision)


ROLE_NAMES: dict[str, str] = {
    Role.technician: N_("Technician"),
    Role.team_leader: N_("Team leader"),
    Role.inspector: N_("Inspector"),
    Role.advisor: N_("Service advisor"),
    Role.parts_clerk: N_("Parts clerk"),
    Role.tracking_clerk: N_("Tracking clerk"),
    Role.supervisor: N_("Supervisor"),
    Role.admin: N_("Administrator"),
}


def role_name(t: Translator, role: str) -> str:
    return _name(t, ROLE_NAMES, role)


def role_names(t: Translator, roles: Iterable[str]) -> str:
    """Roles in the order of :class:`Role`, whatever order they were chosen in."""
    chosen = set(roles)
    return ", ".join(role_name(t, r) for r in Role if r in chosen) or "—"


# --- after sales ---------------------------------------------------------------------------

FOLLOWUP_KIND_NAMES: dict[str, str] = {
    FollowUpKind.first_call: N_("First call"),
    FollowUpKind.second_call: N_("Second call"),
    FollowUpKind.maintenance: N_("Maintenance due"),
    FollowUpKind.campaign: N_("Campaign call"),
    FollowUpKind.complaint_callback: N_("Complaint callback"),
}


def followup_kind_name(t: Translator, kind: str) -> str:
    return _name(t, FOLLOWUP_KIND_NAMES, kind)


# The seven things a call covers (A4), as the log-call buttons, the cards and the forms name them.
TOPIC_NAMES: dict[str, str] = {
    Topic.usage_opinion: N_("Usage and opinions"),
    Topic.new_needs: N_("New service needs"),
    Topic.care_tips: N_("Car-care tips"),
    Topic.new_services: N_("Our new services"),
    Topic.events: N_("Events and offers"),
    Topic.consultation: N_("Consultation"),
    Topic.visit: N_("Visit to the customer"),
}


def topic_name(t: Translator, topic: str) -> str:
    return _name(t, TOPIC_NAMES, topic)


def topic_names(t: Translator, topics: Iterable[str]) -> str:
    return ", ".join(topic_name(t, topic) for topic in topics) or "—"


COMPLAINT_STATUS_NAMES: dict[str, str] = {
    ComplaintStatus.answered: N_("answered on the call"),
    ComplaintStatus.researching: N_("being researched"),
    ComplaintStatus.escalated: N_("with the supervisor"),
    ComplaintStatus.solved: N_("solved, customer not told yet"),
    ComplaintStatus.told: N_("solved, customer told"),
}


def complaint_status_name(t: Translator, status: str) -> str:
    return _name(t, COMPLAINT_STATUS_NAMES, status)


VISIT_KIND_NAMES: dict[str, str] = {
    VisitKind.repair: N_("repair"),
    VisitKind.consultation: N_("consultation"),
}


def visit_kind_name(t: Translator, kind: str) -> str:
    return _name(t, VISIT_KIND_NAMES, kind)


CAMPAIGN_KIND_NAMES: dict[str, str] = {
    CampaignKind.event: N_("customer event"),
    CampaignKind.offer: N_("offer"),
    CampaignKind.free_inspection: N_("free inspection week"),
    CampaignKind.talk: N_("car-care talk"),
    CampaignKind.other: N_("other"),
}


def campaign_kind_name(t: Translator, kind: str) -> str:
    return _name(t, CAMPAIGN_KIND_NAMES, kind)


LETTER_KIND_NAMES: dict[str, str] = {
    LetterKind.notice: N_("notice"),
    LetterKind.invitation: N_("invitation"),
    LetterKind.reply: N_("reply letter"),
}


def letter_kind_name(t: Translator, kind: str) -> str:
    return _name(t, LETTER_KIND_NAMES, kind)


LETTER_CHANNEL_NAMES: dict[str, str] = {
    LetterChannel.post: N_("post"),
    LetterChannel.email: N_("email"),
    LetterChannel.wechat: N_("WeChat"),
    LetterChannel.sms: N_("SMS"),
    LetterChannel.by_hand: N_("hand delivery"),
}


def letter_channel_name(t: Translator, channel: str | None) -> str:
    """How a letter went out; "—" while it has not."""
    return _name(t, LETTER_CHANNEL_NAMES, channel)
