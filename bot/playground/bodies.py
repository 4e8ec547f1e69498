"""Request bodies as python-telegram-bot and the page send them: form-encoded fields, JSON, or
multipart with files (read here: the server has no multipart library)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import ClientDisconnect, Request

PARAMETER = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


class BadBody(ValueError):
    pass


@dataclass
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Body:
    fields: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


async def read_body(request: Request, limit: int) -> Body:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BadBody(f"the request is larger than {limit} bytes")
    raw = bytearray()
    try:
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise BadBody(f"the request is larger than {limit} bytes")
    except ClientDisconnect as exc:
        raise BadBody("the client went away") from exc
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        boundary = _parameters(content_type).get("boundary")
        if not boundary:
            raise BadBody("multipart without a boundary")
        return _multipart(bytes(raw), boundary.encode("latin-1"))
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadBody("the body is not UTF-8") from exc
    if kind == "application/json":
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise BadBody("the body is not JSON") from exc
        if not isinstance(data, dict):
            raise BadBody("the body is not a JSON object")
        return Body(fields=data)
    fields: dict[str, Any] = dict(parse_qsl(text, keep_blank_values=True))
    fields.update(request.query_params)
    return Body(fields=fields)


def _parameters(header: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, quoted, bare in PARAMETER.findall(";" + header.split(";", 1)[-1]
                                                if ";" in header else ""):
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted else bare
        if name.endswith("*"):  # RFC 5987: utf-8''percent-encoded
            name, value = name[:-1], unquote(value.split("''", 1)[-1])
        elif quoted:
            value = value.replace("%22", '"')  # how browsers and httpx escape a quote
        found.setdefault(name.lower(), value)
    return found


def _multipart(raw: bytes, boundary: bytes) -> Body:
    body = Body()
    chunks = raw.split(b"--" + boundary)
    if len(chunks) < 2:
        raise BadBody("multipart body without its boundary")
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            return body
        head, separator, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise BadBody("a multipart part without headers")
        headers = {}
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = _parameters(headers.get("content-disposition", ""))
        field_name = disposition.get("name")
        if field_name is None:
            raise BadBody("a multipart part without a name")
        data = data.removesuffix(b"\r\n")
        if "filename" in disposition:
            body.files[field_name] = Upload(disposition["filename"],
                                      headers.get("content-type", "application/octet-stream"),
                                      data)
        else:
            body.fields[field_name] = data.decode("utf-8", errors="replace")
    raise BadBody("multipart body without its closing boundary")
