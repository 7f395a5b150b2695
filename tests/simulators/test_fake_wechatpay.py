"""The fake WeChat Pay on the wire, over real sockets: requests signed as the SDK signs them (its own
`build_authorization`), answers and notifications checked with `cryptography` alone, the controls over HTTP."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from wechatpayv3.utils import build_authorization, load_private_key

from simulators.fake_twilio import LocalServer
from simulators.fake_wechatpay import FakeWeChatPay, KeySet, generate_keys
from simulators.fake_wechatpay.wire import BEIJING as ZONE

NATIVE = "/v3/pay/transactions/native"


class Receiver:
    """The merchant's notification endpoint: records each request, answers `statuses` in turn, then 204."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: asyncio.Queue[tuple[dict[str, str], bytes]] = asyncio.Queue()
        self.server = LocalServer(Starlette(routes=[Route("/notify", self.receive, methods=["POST"])]))
        self.url = ""

    async def receive(self, request: Request) -> Response:
        await self.received.put((dict(request.headers), await request.body()))
        return Response(status_code=self.statuses.pop(0) if self.statuses else 204)

    async def next(self) -> tuple[dict[str, str], bytes]:
        async with asyncio.timeout(5):
            return await self.received.get()


@pytest.fixture(scope="module")
def keys() -> KeySet:
    return generate_keys()


@pytest.fixture
async def fake(keys: KeySet) -> AsyncIterator[FakeWeChatPay]:
    async with FakeWeChatPay(keys, notify_retry_delays_s=(0.01, 0.01, 0.01), refund_delay_s=0.01) as running:
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hooks = Receiver()
    hooks.url = f"{await hooks.server.start()}/notify"
    yield hooks
    await hooks.server.stop()


def order(keys: KeySet, receiver: Receiver, no: str = "SO-WIRE-1", **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "appid": keys.appid,
        "mchid": keys.mchid,
        "description": "助浴服务",
        "out_trade_no": no,
        "notify_url": receiver.url,
        "amount": {"total": 8800, "currency": "CNY"},
    }
    return body | changes


async def call(
    fake: FakeWeChatPay,
    keys: KeySet,
    method: str,
    target: str,
    body: dict[str, object] | str | None = None,
    *,
    private_key_pem: str | None = None,
    sign_target: str | None = None,
) -> httpx.Response:
    """One request signed as the SDK signs it (by the merchant's key unless another is given)."""
    text = body if isinstance(body, str) else json.dumps(body) if body is not None else ""
    key = load_private_key(private_key_pem or keys.merchant_private_pem)
    authorization = build_authorization(
        sign_target or target, method, keys.mchid, keys.merchant_serial_no, key, data=text
    )
    headers = {
        "Authorization": authorization,
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        return await http.request(method, target, content=text.encode(), headers=headers)


def platform_key(keys: KeySet) -> RSAPublicKey:
    key = load_pem_public_key(keys.platform_public_pem.encode())
    assert isinstance(key, RSAPublicKey)
    return key


def signed_by_platform(keys: KeySet, headers: httpx.Headers | dict[str, str], body: bytes) -> bool:
    """The merchant's check of an answer or notification: the platform key over timestamp, nonce, body."""
    message = f"{headers['wechatpay-timestamp']}\n{headers['wechatpay-nonce']}\n{body.decode()}\n".encode()
    try:
        platform_key(keys).verify(
            base64.b64decode(headers["wechatpay-signature"]), message, PKCS1v15(), SHA256()
        )
    except InvalidSignature:
        return False
    return headers["wechatpay-serial"] == keys.public_key_id


async def test_a_correctly_signed_order_gets_a_code_url_signed_by_the_platform(
    fake: FakeWeChatPay, keys: KeySet, receiver: Receiver
) -> None:
    answer = await call(fake, keys, "POST", NATIVE, order(keys, receiver))
    assert answer.status_code == 200
    assert answer.json()["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    assert answer.headers["wechatpay-signature-type"] == "WECHATPAY2-SHA256-RSA2048"
    assert signed_by_platform(keys, answer.headers, answer.content)


async def test_a_request_signed_with_the_wrong_merchant_key_gets_401(
    fake: FakeWeChatPay, keys: KeySet, receiver: Receiver
) -> None:
    stranger = generate_keys()
    answer = await call(
        fake, keys, "POST", NATIVE, order(keys, receiver), private_key_pem=stranger.merchant_private_pem
    )
    assert answer.status_code == 401
    assert answer.json() == {"code": "SIGN_ERROR", "message": "签名错误"}
    assert signed_by_platform(keys, answer.headers, answer.content)
    assert fake.trades == {}


@pytest.mark.parametrize(
    ("headers", "sign_target"),
    [({"Authorization": ""}, None), ({}, "/v3/pay/transactions/jsapi"), ({}, f"{NATIVE}?x=1")],
    ids=["unsigned", "signed-for-another-path", "signed-for-another-query"],
)
async def test_a_request_not_signed_for_what_it_is_gets_401(
    fake: FakeWeChatPay, keys: KeySet, receiver: Receiver, headers: dict[str, str], sign_target: str | None
) -> None:
    if headers:
        async with httpx.AsyncClient(base_url=fake.base_url) as http:
            answer = await http.post(NATIVE, json=order(keys, receiver), headers=headers)
    else:
        answer = await call(fake, keys, "POST", NATIVE, order(keys, receiver), sign_target=sign_target)
    assert (answer.status_code, answer.json()["code"]) == (401, "SIGN_ERROR")


async def test_a_request_signed_ten_minutes_ago_gets_401(keys: KeySet, receiver: Receiver) -> None:
    later = FakeWeChatPay(keys, now=lambda: datetime.now(UTC) + timedelta(minutes=10))
    async with later:
        answer = await call(later, keys, "POST", NATIVE, order(keys, receiver))
    assert (answer.status_code, answer.json()["code"]) == (401, "SIGN_ERROR")


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"amount": {"total": 0}}, 400, "PARAM_ERROR", "/amount/total"),
        ({"amount": {"total": 100, "currency": "USD"}}, 400, "PARAM_ERROR", "/amount/currency"),
        ({"out_trade_no": "SO1"}, 400, "PARAM_ERROR", "/out_trade_no"),
        ({"description": ""}, 400, "PARAM_ERROR", "/description"),
        ({"notify_url": "http://127.0.0.1:1/notify?order=1"}, 400, "PARAM_ERROR", "/notify_url"),
        ({"time_expire": "2026-03-02 09:00:00"}, 400, "PARAM_ERROR", "/time_expire"),
        ({"appid": "wx_somebody_else"}, 400, "APPID_MCHID_NOT_MATCH", None),
        ({"time_expire": "2020-01-01T00:00:00+08:00"}, 400, "INVALID_REQUEST", None),
    ],
)
async def test_an_order_is_checked_as_the_platform_checks_it(
    fake: FakeWeChatPay,
    keys: KeySet,
    receiver: Receiver,
    changes: dict[str, object],
    status: int,
    code: str,
    field: str | None,
) -> None:
    answer = await call(fake, keys, "POST", NATIVE, order(keys, receiver) | changes)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert answer.json().get("detail", {}).get("field") == field
    assert fake.trades == {}


async def test_a_body_that_is_not_json_is_a_param_error(fake: FakeWeChatPay, keys: KeySet) -> None:
    answer = await call(fake, keys, "POST", NATIVE, "{not json")
    assert (answer.status_code, answer.json()["code"]) == (400, "PARAM_ERROR")


async def test_the_same_order_number_with_other_terms_is_out_trade_no_used(
    fake: FakeWeChatPay, keys: KeySet, receiver: Receiver
) -> None:
    first = await call(fake, keys, "POST", NATIVE, order(keys, receiver))
    same = await call(fake, keys, "POST", NATIVE, order(keys, receiver))
    other = await call(fake, keys, "POST", NATIVE, order(keys, receiver, amount={"total": 1}))
    assert same.json() == first.json()
    assert (other.status_code, other.json()["code"]) == (403, "OUT_TRADE_NO_USED")


async def test_close_answers_204_signed_and_query_wants_the_mchid(
    fake: FakeWeChatPay, keys: KeySet, receiver: Receiver
) -> None:
    await call(fake, keys, "POST", NATIVE, order(keys, receiver))
    closed = await call(
        fake, keys, "POST", "/v3/pay/transactions/out-trade-no/SO-WIRE-1/close", {"mchid": keys.mchid}
    )
    without_mchid = await call(fake, keys, "GET", "/v3/pay/transactions/out-trade-no/SO-WIRE-1")
    queried = await call(fake, keys, "GET", f"/v3/pay/transactions/out-trade-no/SO-WIRE-1?mchid={keys.mchid}")
    assert (closed.status_code, closed.content) == (204, b"")
    assert signed_by_platform(keys, closed.headers, b"")
    assert (without_mchid.status_code, without_mchid.json()["code"]) == (400, "PARAM_ERROR")
    assert (queried.json()["trade_state"], queried.json()["trade_state_desc"]) == ("CLOSED", "订单已关闭")


def open_resource(keys: KeySet, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """A notification's envelope and its decrypted resource."""
    envelope = json.loads(body)
    resource = envelope["resource"]
    plain = AESGCM(keys.apiv3_key.encode()).decrypt(
        resource["nonce"].encode(),
        base64.b64decode(resource["ciphertext"]),
        resource["associated_data"].encode(),
    )
    return envelope, json.loads(plain)


async def test_a_payment_notification_is_sealed_and_signed_as_the_platform_does(
    fake: FakeWeChatPay, keys: KeySet, receiver: Receiver
) -> None:
    await call(fake, keys, "POST", NATIVE, order(keys, receiver))
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        paid = await http.post("/_fake/trades/SO-WIRE-1/pay", json={"openid": "o-family"})
    headers, body = await receiver.next()
    envelope, resource = open_resource(keys, body)
    assert paid.status_code == 200
    assert signed_by_platform(keys, headers, body)
    assert headers["content-type"] == "application/json"
    assert envelope["id"] == paid.json()["notification_id"]
    assert (envelope["event_type"], envelope["resource_type"], envelope["summary"]) == (
        "TRANSACTION.SUCCESS",
        "encrypt-resource",
        "支付成功",
    )
    assert envelope["resource"]["algorithm"] == "AEAD_AES_256_GCM"
    assert envelope["resource"]["associated_data"] == "transaction"
    assert resource["out_trade_no"] == "SO-WIRE-1"
    assert (resource["trade_state"], resource["trade_type"], resource["payer"]) == (
        "SUCCESS",
        "NATIVE",
        {"openid": "o-family"},
    )
    assert resource["amount"] == {
        "total": 8800,
        "payer_total": 8800,
        "currency": "CNY",
        "payer_currency": "CNY",
    }
    assert len(str(resource["transaction_id"])) == 28


async def test_a_notification_is_tried_again_until_the_merchant_answers_2xx(
    fake: FakeWeChatPay, keys: KeySet, receiver: Receiver
) -> None:
    receiver.statuses = [500, 404]
    await call(fake, keys, "POST", NATIVE, order(keys, receiver))
    sent = fake.pay("SO-WIRE-1")
    tries = [await receiver.next() for _ in range(3)]
    await asyncio.sleep(0.05)
    assert sent.answers == [500, 404, 204]
    assert sent.delivered
    assert {body for _headers, body in tries} == {sent.body}
    assert receiver.received.empty()


async def test_resends_over_http_are_recorded_with_their_answers(
    fake: FakeWeChatPay, keys: KeySet, receiver: Receiver
) -> None:
    await call(fake, keys, "POST", NATIVE, order(keys, receiver))
    sent = fake.pay("SO-WIRE-1")
    original_headers, original_body = await receiver.next()
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        replay = await http.post(f"/_fake/notifications/{sent.id}/resend", json={"variant": "replay"})
        await http.post(f"/_fake/notifications/{sent.id}/resend", json={"variant": "stale", "age_s": 900})
        unknown = await http.post(f"/_fake/notifications/{sent.id}/resend", json={"variant": "louder"})
        listed = await http.get("/_fake/notifications")
    replay_headers, replay_body = await receiver.next()
    stale_headers, _stale_body = await receiver.next()
    assert (replay.status_code, replay.json()["answers"], replay.json()["variant"]) == (200, [204], "replay")
    assert (replay_body, replay_headers["wechatpay-signature"]) == (
        original_body,
        original_headers["wechatpay-signature"],
    )
    assert int(original_headers["wechatpay-timestamp"]) - int(stale_headers["wechatpay-timestamp"]) in range(
        899, 902
    )
    assert signed_by_platform(keys, stale_headers, _stale_body)
    assert unknown.status_code == 400
    assert [(item["id"], item["variant"]) for item in listed.json()["items"]] == [
        (sent.id, "original"),
        (sent.id, "replay"),
        (sent.id, "stale"),
    ]


async def test_a_refund_notification_carries_the_refund(
    fake: FakeWeChatPay, keys: KeySet, receiver: Receiver
) -> None:
    await call(fake, keys, "POST", NATIVE, order(keys, receiver))
    fake.pay("SO-WIRE-1")
    await receiver.next()
    refund: dict[str, object] = {
        "out_trade_no": "SO-WIRE-1",
        "out_refund_no": "RF-W-1",
        "notify_url": receiver.url,
        "amount": {"refund": 800, "total": 8800, "currency": "CNY"},
    }
    answer = await call(fake, keys, "POST", "/v3/refund/domestic/refunds", refund)
    headers, body = await receiver.next()
    envelope, resource = open_resource(keys, body)
    assert (answer.status_code, answer.json()["status"]) == (200, "PROCESSING")
    assert signed_by_platform(keys, headers, body)
    assert (envelope["event_type"], envelope["resource"]["associated_data"]) == ("REFUND.SUCCESS", "refund")
    assert (resource["refund_status"], resource["out_refund_no"], resource["refund_id"]) == (
        "SUCCESS",
        "RF-W-1",
        answer.json()["refund_id"],
    )
    assert resource["amount"] == {
        "total": 8800,
        "refund": 800,
        "payer_total": 8800,
        "payer_refund": 800,
        "currency": "CNY",
    }


async def test_the_bill_is_a_gzip_download_with_the_announced_sha1(
    fake: FakeWeChatPay, keys: KeySet, receiver: Receiver
) -> None:
    await call(fake, keys, "POST", NATIVE, order(keys, receiver, description="助浴, 上门"))
    fake.pay("SO-WIRE-1")
    paid_at = fake.trades["SO-WIRE-1"].success_time
    assert paid_at is not None
    day = paid_at.astimezone(ZONE).date()
    listing = await call(fake, keys, "GET", f"/v3/bill/tradebill?bill_date={day}&bill_type=ALL&tar_type=GZIP")
    url = listing.json()["download_url"]
    download = await call(fake, keys, "GET", url.removeprefix(fake.base_url))
    text = gzip.decompress(download.content).decode()
    lines = text.splitlines()
    assert signed_by_platform(keys, listing.headers, listing.content)
    assert listing.json()["hash_type"] == "SHA1"
    assert hashlib.sha1(text.encode()).hexdigest() == listing.json()["hash_value"]  # noqa: S324
    assert lines[0].startswith("交易时间,公众账号ID,商户号")
    assert lines[1].startswith("`")
    assert "`SO-WIRE-1,`" in lines[1]
    assert "`助浴, 上门,`" in lines[1]  # a comma inside a field, as descriptions have
    assert lines[2].startswith("总交易单数")
    assert lines[3].startswith("`1,`88.00,`0.00")


async def test_a_day_without_trades_has_no_statement(fake: FakeWeChatPay, keys: KeySet) -> None:
    answer = await call(fake, keys, "GET", "/v3/bill/tradebill?bill_date=2026-01-05&bill_type=ALL")
    assert (answer.status_code, answer.json()["code"]) == (400, "NO_STATEMENT_EXIST")


async def test_faults_over_http_refuse_the_next_requests_then_stop(
    fake: FakeWeChatPay, keys: KeySet, receiver: Receiver
) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        set_fault = await http.post("/_fake/faults", json={"status": 429, "count": 2})
        bad_fault = await http.post("/_fake/faults", json={"status": 418})
    statuses = [(await call(fake, keys, "POST", NATIVE, order(keys, receiver))).status_code for _ in range(3)]
    assert (set_fault.status_code, set_fault.json()) == (200, {"status": 429, "remaining": 2})
    assert bad_fault.status_code == 400
    assert statuses == [429, 429, 200]


async def test_a_mismatch_over_http_needs_a_known_kind(fake: FakeWeChatPay) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        good = await http.post(
            "/_fake/bills/2026-03-02/mismatches",
            json={"kind": "extra", "out_trade_no": "X1", "amount_fen": 5},
        )
        bad = await http.post(
            "/_fake/bills/2026-03-02/mismatches", json={"kind": "odd", "out_trade_no": "X1"}
        )
    assert (good.status_code, bad.status_code) == (204, 400)


async def test_the_command_line_makes_keys_and_prints_the_settings(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "simulators.fake_wechatpay", "--port", "0", "--keys-dir", str(tmp_path)],
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(20):
            while not lines or "DISPATCH_WECHATPAY_BASE_URL" not in lines[-1]:
                line = (await process.stdout.readline()).decode()
                assert line, f"the fake stopped after printing {lines}"
                lines.append(line)
    finally:
        process.terminate()
        await process.wait()
    printed = "".join(lines)
    assert "fake WeChat Pay listening on http://127.0.0.1:" in printed
    assert f"DISPATCH_WECHATPAY_PRIVATE_KEY_PATH={tmp_path}/apiclient_key.pem" in printed
    assert "DISPATCH_WECHATPAY_APIV3_KEY=(in keyset.json)" in printed
    assert (tmp_path / "keyset.json").stat().st_mode & 0o077 == 0
