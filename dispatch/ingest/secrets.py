"""Device secrets at rest: sealed with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`).

Keys come from `DISPATCH_DEVICE_SECRET_KEYS`, a comma-separated list of Fernet keys, newest first: the
first seals, any of them opens, so keys rotate with an overlap window (add the new key in front, run
`dispatch rotate-device-secrets`, then drop the old one). A key derived from `DISPATCH_SECRET_KEY` is
always last: it is the only key of the embedded default, and it still opens what was sealed before keys
were configured."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dispatch.settings import Settings

_DERIVATION_INFO = b"dispatch device secrets v1"


class UnreadableSecret(Exception):
    """A stored secret that none of the configured keys opens."""


def derived_key(secret_key: str) -> bytes:
    """The Fernet key derived from the server's secret key (HKDF-SHA256)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DERIVATION_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


def configured_keys(value: str) -> list[bytes]:
    """The keys of `DISPATCH_DEVICE_SECRET_KEYS`, each checked (ValueError names the bad one by position)."""
    keys = [part.strip().encode() for part in value.split(",") if part.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ValueError(
                f"key {position} of DISPATCH_DEVICE_SECRET_KEYS is not a Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from None
    return keys


class DeviceSecretBox:
    """Seals device secrets with the first key, opens them with any."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._primary = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])

    def seal(self, secret: str) -> str:
        return self._all.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._all.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise UnreadableSecret("no configured key opens this device secret") from None

    def reseal(self, sealed: str) -> str | None:
        """The secret sealed with the newest key, or None if it already is."""
        try:
            self._primary.decrypt(sealed.encode())
        except InvalidToken:
            try:
                return self._all.rotate(sealed.encode()).decode()
            except InvalidToken:
                raise UnreadableSecret("no configured key opens this device secret") from None
        return None


@lru_cache(maxsize=8)
def _box(keys: tuple[bytes, ...]) -> DeviceSecretBox:
    return DeviceSecretBox(keys)


def box_for(settings: Settings) -> DeviceSecretBox:
    """The box of these settings: the configured keys, then the one derived from the secret key."""
    keys = [*configured_keys(settings.device_secret_keys), derived_key(settings.secret_key)]
    return _box(tuple(dict.fromkeys(keys)))
