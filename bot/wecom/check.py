"""``workshop-bot wecom check``: are ``WECOM_CORP_ID``, ``WECOM_SECRET`` and ``WECOM_AGENT_ID``
right, and will WeCom answer this server?

Asks WeCom as the bot will: ``gettoken`` with the corp id and the app's secret, then
``agent/get`` for the agent id with that token. Each problem is one line that says what to fix
and where in the WeCom admin console (管理后台), with WeCom's errcode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx

TIMEOUT = 10.0
FROM_IP = re.compile(r"from ip:\s*([0-9A-Fa-f.:]+)")
BUSY = {-1, 45009, 45033}  # WeCom busy, or the API called too often


@dataclass
class AppCheck:
    problems: list[str] = field(default_factory=list)
    agent_name: str | None = None


class Refused(Exception):
    """WeCom answered with an errcode; ``line`` says what to do about it."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


def explain(path: str, errcode: int, errmsg: str, corp_id: str, agent_id: int) -> str:
    """What WeCom's errcode means for the operator, in one line."""
    said = f"(WeCom {path}: errcode {errcode})"
    if errcode == 40013:
        return (f"WECOM_CORP_ID {corp_id!r} is not a WeCom corp id {said}: copy 企业ID from "
                "我的企业 → 企业信息")
    if errcode in (40001, 40091):
        return (f"WECOM_SECRET is not a secret of corp {corp_id} {said}: copy the Secret from "
                "the app's page in 应用管理 (and check WECOM_CORP_ID is that corp's)")
    if errcode == 60020:
        ip = FROM_IP.search(errmsg)
        where = f" {ip.group(1)}" if ip else ""
        return (f"WeCom refuses calls from this server's IP address{where} {said}: add it to "
                "the app's trusted IPs (企业可信IP, on the app's page in 应用管理)")
    if errcode == 40056:
        return (f"WECOM_AGENT_ID {agent_id} is not an app of corp {corp_id} {said}: copy the "
                "AgentId from the app's page in 应用管理")
    if errcode in (301002, 48002, 60011):
        return (f"WECOM_SECRET is not the secret of agent {agent_id} {said}: the AgentId and "
                "the Secret must come from the same app's page in 应用管理")
    if errcode in BUSY:
        return f"WeCom is busy {said}: {errmsg}; try again in a minute"
    return f"WeCom {path} refused: errcode {errcode}: {errmsg}"


async def _call(client: httpx.AsyncClient, base: str, path: str, params: dict[str, Any],
                corp_id: str, agent_id: int) -> dict[str, Any]:
    try:
        response = await client.get(f"{base}/{path}", params=params)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise Refused(f"cannot reach the WeCom API at {base} "
                      f"({str(exc) or type(exc).__name__}); check WECOM_API_BASE and the "
                      "server's outbound connection") from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise Refused(f"the WeCom API at {base} answered {path} with HTTP "
                      f"{response.status_code}, not WeCom's JSON; check WECOM_API_BASE")
    errcode = int(data.get("errcode") or 0)
    if errcode:
        raise Refused(explain(path, errcode, str(data.get("errmsg") or ""), corp_id, agent_id))
    return data


def _nobody_sees(agent: dict[str, Any]) -> bool:
    """The app's visible range (可见范围) is empty, so no member can open it."""
    keys = (("allow_userinfos", "user"), ("allow_partys", "partyid"), ("allow_tags", "tagid"))
    if not all(outer in agent for outer, _ in keys):
        return False
    return not any((agent.get(outer) or {}).get(inner) for outer, inner in keys)


async def check_app(base: str, corp_id: str, secret: str, agent_id: int) -> AppCheck:
    """Ask WeCom; the problems found (none: the corp id, secret and agent id work)."""
    base = base.rstrip("/")
    result = AppCheck()
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        try:
            token = await _call(client, base, "gettoken",
                                {"corpid": corp_id, "corpsecret": secret}, corp_id, agent_id)
            agent = await _call(client, base, "agent/get",
                                {"access_token": str(token.get("access_token") or ""),
                                 "agentid": str(agent_id)}, corp_id, agent_id)
        except Refused as refused:
            result.problems.append(refused.line)
            return result
    result.agent_name = str(agent.get("name") or "") or None
    if agent.get("close"):
        result.problems.append(f"the app (agent {agent_id}) is disabled (已停用): enable it on "
                               "its page in 应用管理")
    if _nobody_sees(agent):
        result.problems.append(f"nobody can open the app (agent {agent_id}): its visible range "
                               "(可见范围) is empty; add the workshop's departments or members")
    return result
