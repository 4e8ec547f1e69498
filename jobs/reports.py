"""A12: on the 1st of each month from ``report_time`` (08:00 shop time) every supervisor gets
last month's report — the figures, the chart and the spreadsheet; on 1 January the past
year's as well.

The job runs every minute; an audit event per supervisor and period records that the report
went out (claimed, sent, then recorded: a crash in between sends it at most once more, after the
claim's lease; several workers send it once). The
report is owed for the rest of the 1st, so one due while the bot was down goes out when it
starts that day; after the 1st a supervisor asks with /report.
"""

from __future__ import annotations

from datetime import datetime, time

from bot.i18n import Translator
from bot.messenger import Render
from bot.services import Services
from handlers.after_sales.cards.report import report_file_name, report_files, report_messages
from models.claims import claim, release
from models.db import id_of
from models.report import Period, Report, already_sent, due_periods, record_sent, report_for
from models.staff import Role, active_with_role


async def run(services: Services, now: datetime) -> int:
    """One pass; returns how many supervisors got a report."""
    settings = services.settings
    calendar = settings.calendar
    periods = due_periods(calendar, now, time.fromisoformat(settings.report_time))
    if not periods:
        return 0
    messenger = services.messenger
    sent = 0
    async with services.db.session() as session:
        supervisors = await active_with_role(session, Role.supervisor)
        for period in periods:
            waiting = [s for s in supervisors
                       if not await already_sent(session, period=period,
                                                 staff_id=id_of(s))]
            if not waiting:
                continue
            report = await report_for(session, period, calendar=calendar, now=now)
            rendered: dict[str, tuple[list[str], bytes, bytes]] = {}
            for supervisor in waiting:
                # Once per group of stores, not once per worker: claim, then check again.
                kind = f"report:{period.label}"
                if not await claim(session, kind, id_of(supervisor), worker=services.worker,
                                   now=services.clock.now()):
                    continue
                if await already_sent(session, period=period, staff_id=id_of(supervisor)):
                    await release(session, kind, id_of(supervisor), worker=services.worker)
                    await session.commit()
                    continue
                _ = messenger.translator(supervisor)
                if _.locale not in rendered:
                    rendered[_.locale] = await _render(_, report, period, now)
                texts, png, xlsx = rendered[_.locale]
                delivered = 0
                for text in texts:
                    delivered += await messenger.send(
                        session, supervisor, _as_written(text), now=now)
                await messenger.send_file(session, supervisor, png,
                                          report_file_name(period, "png"), photo=True)
                await messenger.send_file(session, supervisor, xlsx,
                                          report_file_name(period, "xlsx"))
                record_sent(session, period=period, staff_id=id_of(supervisor),
                            now=now, delivered=delivered)
                await release(session, kind, id_of(supervisor), worker=services.worker)
                await session.commit()
                sent += 1
    return sent


def _as_written(text: str) -> Render:
    """A message already in its reader's language."""
    return lambda _t: (text, None)


async def _render(_: Translator, report: Report, period: Period, now: datetime
                  ) -> tuple[list[str], bytes, bytes]:
    png, xlsx = await report_files(report, _)
    return report_messages(_, report, period, now), png, xlsx
