"""WeCom callback crypto against the official example of WeCom's 加解密方案说明, and safe XML."""

from __future__ import annotations

import base64

import pytest

from bot.wecom.crypto import CryptoError, WeComCrypto, aes_key, signature
from bot.wecom.inbound import Rejected, parse_xml

TOKEN = "QDG6eK"
CORP_ID = "wx5823bf96d3bd56c7"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
# The official message example: POST …?msg_signature=…&timestamp=1409659813&nonce=1372623149
ENCRYPTED = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj9"
    "11L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06"
    "DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3I"
    "QH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27"
    "Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R0"
    "7+qN+E7Q=="
)
SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
TIMESTAMP, NONCE = "1409659813", "1372623149"
# The official URL-verification example (GET …&echostr=…).
ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
ECHO_SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"


@pytest.fixture
def crypto() -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, CORP_ID)


def test_the_official_message_example(crypto: WeComCrypto) -> None:
    assert signature(TOKEN, TIMESTAMP, NONCE, ENCRYPTED) == SIGNATURE
    fields = parse_xml(crypto.open(SIGNATURE, TIMESTAMP, NONCE, ENCRYPTED))
    assert fields == {"ToUserName": CORP_ID, "FromUserName": "mycreate",
                      "CreateTime": "1409659813", "MsgType": "text", "Content": "hello",
                      "MsgId": "4561255354251345929", "AgentID": "218"}


def test_the_official_url_verification_example(crypto: WeComCrypto) -> None:
    assert crypto.open(ECHO_SIGNATURE, "1409659589", "263014780", ECHOSTR) == (
        b"1616140317555161061")


def test_round_trip_and_padding_to_32(crypto: WeComCrypto) -> None:
    for message in ("", "x", "好" * 100, "<xml><Content>hello</Content></xml>" * 7):
        encrypted, signed = crypto.seal(message, "1700000000", "42")
        assert len(base64.b64decode(encrypted)) % 32 == 0
        assert crypto.open(signed, "1700000000", "42", encrypted).decode() == message
    # The same random prefix gives the same ciphertext: the layout is deterministic.
    assert crypto.encrypt("a", random=b"r" * 16) == crypto.encrypt("a", random=b"r" * 16)


def test_a_wrong_signature_token_or_corp_id_is_refused(crypto: WeComCrypto) -> None:
    with pytest.raises(CryptoError, match="signature"):
        crypto.open(SIGNATURE.replace("4", "5"), TIMESTAMP, NONCE, ENCRYPTED)
    with pytest.raises(CryptoError, match="signature"):
        crypto.open(SIGNATURE, TIMESTAMP, "1372623150", ENCRYPTED)
    with pytest.raises(CryptoError, match="signature"):
        WeComCrypto("other", AES_KEY, CORP_ID).open(SIGNATURE, TIMESTAMP, NONCE, ENCRYPTED)
    with pytest.raises(CryptoError, match="corp id"):
        WeComCrypto(TOKEN, AES_KEY, "wwsomebodyelse").decrypt(ENCRYPTED)


@pytest.mark.parametrize("encrypted", ["not base64!", "", "QUJD", ENCRYPTED[:-8] + "AAAAAA=="])
def test_garbage_does_not_decrypt(crypto: WeComCrypto, encrypted: str) -> None:
    with pytest.raises(CryptoError):
        crypto.decrypt(encrypted)


def test_the_key_must_be_43_characters_of_base64() -> None:
    assert len(aes_key(AES_KEY)) == 32
    for bad in ("short", AES_KEY + "A", "!" * 43):
        with pytest.raises(ValueError):
            aes_key(bad)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><Encrypt>&lol3;</Encrypt></xml>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><Encrypt>&secret;</Encrypt></xml>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL, b"<xml><Encrypt>", b"\x00\xff",
                                  b"<notxml/>", b""])
def test_hostile_or_broken_xml_is_refused(body: bytes) -> None:
    with pytest.raises(Rejected):
        parse_xml(body)
