"""What a person on the page does in the WeCom app, sent to the bot as WeCom sends it: a callback
signed with the app's token and encrypted with its EncodingAESKey (``bot.wecom.crypto``), POSTed
to the bot's callback route on the playground's own server — a text, a picture, a voice note, or
a click on a template card's button (with the response code WeCom gives each click).

The token and key are the playground's own, made once per playground database and kept beside
it (``keys``), so a WeCom callback of one playground never opens in another.
"""

from __future__ import annotations

import base64
import json
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx

from bot.clock import Clock
from bot.playground.wecom_api import AGENT_ID, API_PATH, CORP_ID, SECRET
from bot.settings import Settings
from bot.wecom.crypto import WeComCrypto

TIMEOUT = 10.0


class NotDelivered(Exception):
    """The bot's callback route did not take the callback (its status and answer)."""


@dataclass(frozen=True)
class AppKeys:
    token: str
    aes_key: str  # the EncodingAESKey: 43 characters of base64


def keys(path: Path) -> AppKeys:
    """The playground app's token and EncodingAESKey, made the first time and kept in ``path``."""
    if path.is_file():
        kept = json.loads(path.read_text(encoding="utf-8"))
        return AppKeys(str(kept["token"]), str(kept["aes_key"]))
    made = AppKeys(secrets.token_urlsafe(24),
                   base64.b64encode(secrets.token_bytes(32)).decode().rstrip("="))
    path.write_text(json.dumps({"token": made.token, "aes_key": made.aes_key}),
                    encoding="utf-8")
    return made


def wecom_settings(settings: Settings, app: AppKeys, own_address: str) -> Settings:
    """``settings`` with the playground's WeCom app: the local WeCom API on this server."""
    return settings.model_copy(update={
        "wecom_corp_id": CORP_ID, "wecom_agent_id": AGENT_ID, "wecom_secret": SECRET,
        "wecom_token": app.token, "wecom_aes_key": app.aes_key,
        "wecom_api_base": f"http://{own_address}{API_PATH}",
    })


class Callbacks:
    def __init__(self, settings: Settings, clock: Clock, own_address: str) -> None:
        assert settings.wecom_token and settings.wecom_aes_key
        self.crypto = WeComCrypto(settings.wecom_token, settings.wecom_aes_key, CORP_ID)
        self.clock = clock
        self.url = f"http://{own_address}{settings.wecom_callback_path}"
        self.files = f"http://{own_address}/playground/api/files/"  # a picture's PicUrl

    def _fields(self, userid: str, msgtype: str, **fields: str) -> dict[str, str]:
        return {"ToUserName": CORP_ID, "FromUserName": userid,
                "CreateTime": str(int(self.clock.now().timestamp())), "MsgType": msgtype,
                **fields, "AgentID": str(AGENT_ID)}

    @staticmethod
    def _msg_id() -> str:
        return str(secrets.randbits(62))  # never the same twice, across restarts too

    async def text(self, userid: str, text: str) -> None:
        await self._post(self._fields(userid, "text", Content=text, MsgId=self._msg_id()))

    async def image(self, userid: str, media_id: str) -> None:
        await self._post(self._fields(userid, "image", PicUrl=self.files + media_id,
                                      MediaId=media_id,
                                      MsgId=self._msg_id()))

    async def voice(self, userid: str, media_id: str) -> None:
        await self._post(self._fields(userid, "voice", MediaId=media_id, Format="amr",
                                      MsgId=self._msg_id()))

    async def click(self, userid: str, task_id: str, key: str, response_code: str) -> None:
        await self._post(self._fields(
            userid, "event", Event="template_card_event", EventKey=key, TaskId=task_id,
            CardType="button_interaction", ResponseCode=response_code))

    async def _post(self, fields: dict[str, str]) -> None:
        root = ET.Element("xml")
        for name, value in fields.items():
            ET.SubElement(root, name).text = value
        timestamp, nonce = str(int(self.clock.now().timestamp())), secrets.token_hex(8)
        encrypted, signature = self.crypto.seal(ET.tostring(root, encoding="unicode"),
                                                timestamp, nonce)
        outer = ET.Element("xml")
        for name, value in (("ToUserName", CORP_ID), ("Encrypt", encrypted),
                            ("AgentID", str(AGENT_ID))):
            ET.SubElement(outer, name).text = value
        query = urlencode({"msg_signature": signature, "timestamp": timestamp, "nonce": nonce})
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            answer = await client.post(f"{self.url}?{query}",
                                       content=ET.tostring(outer, encoding="unicode"),
                                       headers={"Content-Type": "text/xml"})
        if answer.status_code != 200:
            raise NotDelivered(f"{answer.status_code} {answer.text[:80]}")
