"""Placeholder while the job is being written."""

from datetime import datetime

from bot.services import Services


async def run(services: Services, now: datetime) -> int:
    return 0
