"""Personal data at rest: ID numbers and phones encrypted (AES-256-GCM, `cryptography`), ID numbers found through a
keyed hash (HMAC-SHA256), member ids derived with a keyed hash so they reveal nothing without the key.

The key is 32 random bytes, base64, from LOSTCONTACT_DATA_KEY or the file named by LOSTCONTACT_DATA_KEY_FILE. Keys
retired by a rotation go, comma-separated, into LOSTCONTACT_DATA_KEY_OLD: they still decrypt, never encrypt. With
none configured (development, the demo, tests) a key file is generated once under the project's var/ and a warning
says so. Two purpose keys are derived from the one secret (HKDF), so encryption and lookups never share a key.

A stored value reads `enc1:<key id>:<base64(nonce | ciphertext | tag)>`; a value without the prefix (a row written
before migration 0005) is returned as it is.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text, TypeDecorator

log = logging.getLogger("lostcontact.protect")

KEY_ENV = "LOSTCONTACT_DATA_KEY"
KEY_FILE_ENV = "LOSTCONTACT_DATA_KEY_FILE"
OLD_KEYS_ENV = "LOSTCONTACT_DATA_KEY_OLD"
DEV_KEY_FILE = Path(__file__).resolve().parents[1] / "var" / "data.key"
PREFIX = "enc1:"


class KeyError_(RuntimeError):
    """The data key is missing, malformed, or not the one the data was written with (English: for logs)."""


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"lostcontact/" + purpose).derive(secret)


@dataclass(frozen=True)
class Keys:
    kid: str  # the current encryption key's id, stored with every value
    aead: AESGCM
    lookup: bytes  # HMAC key of ID-number lookups
    member_ids: bytes  # HMAC key of member ids
    decrypt_by_kid: dict[str, AESGCM]

    @classmethod
    def from_secrets(cls, current: bytes, old: Sequence[bytes] = ()) -> Keys:
        by_kid = {}
        for secret in (current, *old):
            enc = _derive(secret, b"encrypt/v1")
            by_kid[hashlib.sha256(enc).hexdigest()[:8]] = AESGCM(enc)
        kid = next(iter(by_kid))
        return cls(kid, by_kid[kid], _derive(current, b"lookup/v1"), _derive(current, b"member-id/v1"), by_kid)


def generate_secret() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _decode_secret(text: str, where: str) -> bytes:
    try:
        secret = base64.urlsafe_b64decode(text.strip().encode() + b"=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        raise KeyError_(f"{where}: the data key is not base64") from None
    if len(secret) != 32:
        raise KeyError_(f"{where}: the data key must be 32 bytes (base64 of 32 random bytes)")
    return secret


def _read_key_file(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip().splitlines()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        raise KeyError_(f"cannot read the data key file {path}") from None


def _dev_key() -> str:
    """The development key under var/, created once (O_EXCL: concurrent first users agree on one key)."""
    path = DEV_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(generate_secret() + "\n")
            log.warning("no data key configured (%s or %s): generated a development key at %s; configure a key "
                        "kept outside the database in production", KEY_ENV, KEY_FILE_ENV, path)
            return _read_key_file(path)
    for _ in range(50):  # another process may be writing it right now
        text = path.read_text(encoding="ascii").strip()
        if text:
            break
        threading.Event().wait(0.05)
    log.info("no data key configured (%s or %s): using the development key at %s", KEY_ENV, KEY_FILE_ENV, path)
    return _read_key_file(path)


_lock = threading.Lock()
_keys: Keys | None = None


def keys() -> Keys:
    """The configured keys, loaded once per process."""
    global _keys
    if _keys is None:
        with _lock:
            if _keys is None:
                if os.environ.get(KEY_ENV):
                    current = _decode_secret(os.environ[KEY_ENV], KEY_ENV)
                elif os.environ.get(KEY_FILE_ENV):
                    current = _decode_secret(_read_key_file(Path(os.environ[KEY_FILE_ENV])), KEY_FILE_ENV)
                else:
                    current = _decode_secret(_dev_key(), str(DEV_KEY_FILE))
                old = [_decode_secret(t, OLD_KEYS_ENV) for t in os.environ.get(OLD_KEYS_ENV, "").split(",")
                       if t.strip()]
                _keys = Keys.from_secrets(current, old)
    return _keys


def reset_keys() -> None:
    """Forget the loaded keys (tests that switch keys; a rotation in a running process)."""
    global _keys
    with _lock:
        _keys = None


def encrypt(text: str) -> str:
    k = keys()
    nonce = os.urandom(12)
    sealed = k.aead.encrypt(nonce, text.encode("utf-8"), k.kid.encode())
    return f"{PREFIX}{k.kid}:" + base64.b64encode(nonce + sealed).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption at rest (migration 0005 encrypts such rows)
    kid, _, body = stored[len(PREFIX):].partition(":")
    aead = keys().decrypt_by_kid.get(kid)
    if aead is None:
        raise KeyError_(f"personal data was encrypted with key {kid}, which is not configured "
                        f"(add it to {OLD_KEYS_ENV} after a rotation)")
    try:
        raw = base64.b64decode(body)
        return aead.decrypt(raw[:12], raw[12:], kid.encode()).decode("utf-8")
    except Exception:  # noqa: BLE001 — InvalidTag: tampered or wrong key; never say more (no data in errors)
        raise KeyError_(f"personal data under key {kid} failed authentication") from None


def is_encrypted(stored: str | None) -> bool:
    return stored is None or stored.startswith(PREFIX)


def lookup_hash(id18: str) -> str:
    """The keyed hash an ID number is found by (the normalised 18-character form)."""
    return hmac.new(keys().lookup, id18.encode(), hashlib.sha256).hexdigest()


def member_id_for(id18: str) -> str:
    """A member's stable key: a keyed hash of the ID number (one store, one key: one id), which reveals nothing to
    whoever lacks the key (an unsalted hash of an ID number falls to a thousand guesses from a birth date)."""
    return "m" + hmac.new(keys().member_ids, id18.encode(), hashlib.sha256).hexdigest()[:24]


class Encrypted(TypeDecorator):
    """A text column encrypted at rest, clear text in Python. Not comparable in SQL: find rows by a keyed hash."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return encrypt(value)  # always, even a value that looks encrypted: what a person typed is never trusted

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)
