"""A key set for the fake WeChat Pay and the merchant that talks to it: the merchant's API key pair (its
requests are signed with it), the platform's key pair (answers and notifications are signed with it, its
public key has an id) and the API v3 key (notifications are encrypted under it). Made with `cryptography`;
written to a directory as the PEM files the settings point at, plus `keyset.json` for the fake itself."""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["KeySet", "generate_keys", "load_keys", "write_keys"]

KEYSET_FILE = "keyset.json"
MERCHANT_KEY_FILE = "apiclient_key.pem"  # the name the merchant platform gives the file
PLATFORM_PUBLIC_KEY_FILE = "pub_key.pem"
DEFAULT_MCHID = "1900000109"
DEFAULT_APPID = "wx0123456789abcdef"


@dataclass(frozen=True, slots=True)
class KeySet:
    """Everything both sides need; PEM texts."""

    mchid: str
    appid: str
    merchant_serial_no: str
    public_key_id: str
    merchant_private_pem: str = field(repr=False)
    merchant_public_pem: str = field(repr=False)
    platform_private_pem: str = field(repr=False)
    platform_public_pem: str = field(repr=False)
    apiv3_key: str = field(repr=False)

    def settings_env(self, directory: Path, base_url: str) -> dict[str, str]:
        """The DISPATCH_WECHATPAY_* variables for a merchant using these keys, written to `directory`."""
        return {
            "DISPATCH_WECHATPAY_MCHID": self.mchid,
            "DISPATCH_WECHATPAY_APPID": self.appid,
            "DISPATCH_WECHATPAY_PRIVATE_KEY_PATH": str(directory / MERCHANT_KEY_FILE),
            "DISPATCH_WECHATPAY_CERT_SERIAL_NO": self.merchant_serial_no,
            "DISPATCH_WECHATPAY_APIV3_KEY": self.apiv3_key,
            "DISPATCH_WECHATPAY_PUBLIC_KEY_PATH": str(directory / PLATFORM_PUBLIC_KEY_FILE),
            "DISPATCH_WECHATPAY_PUBLIC_KEY_ID": self.public_key_id,
            "DISPATCH_WECHATPAY_BASE_URL": base_url,
        }

    def settings_update(self, directory: Path, base_url: str) -> dict[str, str]:
        """The same as Settings fields, for `settings.model_copy(update=...)` (the key files written first)."""
        write_keys(self, directory)
        return {
            k.removeprefix("DISPATCH_").lower(): v for k, v in self.settings_env(directory, base_url).items()
        }


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


def generate_keys(*, mchid: str = DEFAULT_MCHID, appid: str = DEFAULT_APPID) -> KeySet:
    """Fresh keys: two RSA-2048 pairs, a 40-hex-digit certificate serial, a key id, a 32-character v3 key."""
    merchant_private, merchant_public = _key_pair()
    platform_private, platform_public = _key_pair()
    alphabet = string.ascii_letters + string.digits
    return KeySet(
        mchid=mchid,
        appid=appid,
        merchant_serial_no=secrets.token_hex(20).upper(),
        public_key_id="PUB_KEY_ID_" + "".join(secrets.choice(string.digits) for _ in range(28)),
        merchant_private_pem=merchant_private,
        merchant_public_pem=merchant_public,
        platform_private_pem=platform_private,
        platform_public_pem=platform_public,
        apiv3_key="".join(secrets.choice(alphabet) for _ in range(32)),
    )


def write_keys(keys: KeySet, directory: Path) -> None:
    """The merchant's PEM files and the whole set as `keyset.json`, readable by the owner only."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        MERCHANT_KEY_FILE: keys.merchant_private_pem,
        PLATFORM_PUBLIC_KEY_FILE: keys.platform_public_pem,
        KEYSET_FILE: json.dumps(asdict(keys), indent=2),
    }
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)


def load_keys(directory: Path) -> KeySet:
    """A set written by `write_keys`."""
    data = json.loads((directory / KEYSET_FILE).read_text(encoding="utf-8"))
    return KeySet(**data)
