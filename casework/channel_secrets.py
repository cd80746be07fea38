"""The key that keeps notification channel URLs (their tokens and passwords) encrypted at rest (Fernet, from the
maintained `cryptography` library).

Where the key comes from, first found wins:
  LOSTCONTACT_CHANNEL_KEY        a Fernet key (urlsafe base64 of 32 bytes), e.g. from the service's secret store
  LOSTCONTACT_CHANNEL_KEY_FILE   a file holding one
  var/channel.key                created (mode 0600) when neither is set, for development and tests only
Rotation: MultiFernet-style — put the new key first and the old ones after it, comma-separated, in the variable or
the file; every key decrypts, the first encrypts; `lostcontact channels rekey` rewrites every channel under the first (then the old key may go).
Back the key up with the database: a store without its key has channels nobody can read (enter them again).
A URL is never logged or printed; `mask` shows the scheme and the last four characters."""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger("lostcontact.casework")

KEY_ENV = "LOSTCONTACT_CHANNEL_KEY"
KEY_FILE_ENV = "LOSTCONTACT_CHANNEL_KEY_FILE"
DEV_KEY_FILE = Path(__file__).resolve().parents[1] / "var" / "channel.key"  # the project's var/, whatever the cwd


class KeyMissing(RuntimeError):
    """A channel was stored under a key this process does not have."""


def _key_text() -> str:
    given = os.environ.get(KEY_ENV, "").strip()
    if given:
        return given
    path = Path(os.environ.get(KEY_FILE_ENV) or DEV_KEY_FILE)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(Fernet.generate_key().decode() + "\n")
        log.warning("no channel key configured; generated a development key file at %s", path)
    return path.read_text().strip()


@lru_cache(maxsize=4)
def _fernet(text: str) -> tuple[MultiFernet, bytes]:
    keys = [k.strip() for k in text.replace("\n", ",").split(",") if k.strip()]
    if not keys:
        raise KeyMissing("the channel key is empty")
    fernets = [Fernet(k.encode()) for k in keys]
    # The fingerprint key is derived from the newest key: a separate purpose, so a hash never equals a ciphertext.
    mac_key = hashlib.sha256(b"lostcontact-channel-fingerprint:" + keys[0].encode()).digest()
    return MultiFernet(fernets), mac_key


def encrypt(url: str) -> str:
    return _fernet(_key_text())[0].encrypt(url.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_key_text())[0].decrypt(token.encode()).decode()
    except InvalidToken:
        raise KeyMissing("a channel cannot be decrypted with the configured key") from None


def rotate(token: str) -> str:
    return _fernet(_key_text())[0].rotate(token.encode()).decode()


def fingerprint(url: str) -> str:
    return hmac.new(_fernet(_key_text())[1], url.strip().encode(), hashlib.sha256).hexdigest()


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].strip().lower() if "://" in url else "?"


def tail_of(url: str) -> str:
    return url.strip().rstrip("/")[-4:]


def mask(scheme: str, tail: str) -> str:
    return f"{scheme}://…{tail}"
