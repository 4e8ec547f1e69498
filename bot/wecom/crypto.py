"""WeCom callback crypto (加解密方案): the msg_signature, and AES-256-CBC with PKCS#7 to 32.

plaintext = 16 random bytes + 4-byte big-endian length + message + receiveid (the corp id);
key = base64(EncodingAESKey + "="), IV = key[:16].
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class CryptoError(Exception):
    """A callback that fails the signature, the decryption or the receiver check."""


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise ValueError("the EncodingAESKey has 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("the EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise ValueError("the EncodingAESKey does not decode to 32 bytes")
    return key


class WeComCrypto:
    """One app's token, key and corp id (the receiveid every message must carry)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.key = aes_key(encoding_aes_key)
        self.receive_id = receive_id

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self.token, timestamp, nonce, encrypted)

    def check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = self.sign(timestamp, nonce, encrypted)
        # Compared as bytes: compare_digest refuses non-ASCII str with a TypeError.
        given = (msg_signature or "").lower().encode("utf-8", "replace")
        if not hmac.compare_digest(expected.encode(), given):
            raise CryptoError("wrong signature")

    def encrypt(self, message: str | bytes, *, random: bytes | None = None) -> str:
        body = message.encode() if isinstance(message, str) else message
        plain = ((random or os.urandom(16)) + struct.pack(">I", len(body)) + body
                 + self.receive_id.encode())
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside ``encrypted``, after checking padding, length and corp id."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("not base64") from exc
        if not raw or len(raw) % 16:
            raise CryptoError("not whole AES blocks")
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CryptoError("too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length:
            raise CryptoError("bad length")
        if not hmac.compare_digest(receive_id, self.receive_id.encode()):
            raise CryptoError("wrong corp id")
        return message

    def open(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> bytes:
        """Verify, then decrypt (the order WeCom's own libraries use)."""
        self.check(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def seal(self, message: str, timestamp: str, nonce: str) -> tuple[str, str]:
        """(encrypted, msg_signature): what WeCom sends, for the tests and the fake."""
        encrypted = self.encrypt(message)
        return encrypted, self.sign(timestamp, nonce, encrypted)
