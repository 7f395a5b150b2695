"""A wire-level fake of WeChat Pay API v3 (Native payments): a merchant's SDK (`wechatpayv3`) talks to it as
to the platform, and it notifies the merchant's server as the platform does.

Layout: `keys` (a key set for both sides), `wire` (signatures, encryption, errors, body checks, the bill
text: pure), `state` (trades, refunds, notifications, faults, bill mismatches), `delivery` (sealed, signed
notifications with retries and their test variants), `server` (the Starlette app and `FakeWeChatPay`).
`python -m simulators.fake_wechatpay --port 8791 --keys-dir DIR` runs it alone.
"""

from simulators.fake_wechatpay.delivery import PLATFORM_RETRY_DELAYS_S, VARIANTS
from simulators.fake_wechatpay.keys import KeySet, generate_keys, load_keys, write_keys
from simulators.fake_wechatpay.server import FakeWeChatPay, create_app
from simulators.fake_wechatpay.state import FakeRefund, FakeTrade, SentNotification

__all__ = [
    "PLATFORM_RETRY_DELAYS_S",
    "VARIANTS",
    "FakeRefund",
    "FakeTrade",
    "FakeWeChatPay",
    "KeySet",
    "SentNotification",
    "create_app",
    "generate_keys",
    "load_keys",
    "write_keys",
]
