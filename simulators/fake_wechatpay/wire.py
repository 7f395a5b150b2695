"""WeChat Pay API v3's wire format, without I/O: the platform's error JSON, the merchant's `Authorization`
header and its check, signed answers, AEAD_AES_256_GCM resources, ids and times, the body checks of each
request, and the daily trade bill's text."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import string
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256

BEIJING = ZoneInfo("Asia/Shanghai")
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
AUTH_WINDOW_S = 300  # a request's timestamp this far from the platform's clock is refused
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')

# What the API answers while told to fail (`/_fake/faults`).
FAULT_ERRORS = {
    429: ("FREQUENCY_LIMITED", "频率超限"),
    500: ("SYSTEM_ERROR", "系统错误"),
    503: ("SYSTEM_ERROR", "系统繁忙"),
}

BILL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
    "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
    "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
BILL_SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
FEE_RATE = "0.60%"


class WeChatPayError(Exception):
    """An error answer: HTTP status, the platform's code and message (and PARAM_ERROR's `detail`)."""

    def __init__(
        self, status: int, code: str, message: str, detail: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.detail = status, code, message, detail

    def body(self) -> dict[str, object]:
        """The JSON the platform sends."""
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            body["detail"] = dict(self.detail)
        return body


def sign_error(message: str) -> WeChatPayError:
    return WeChatPayError(401, "SIGN_ERROR", message)


def param_error(path: str, issue: str, value: object = None) -> WeChatPayError:
    """400 PARAM_ERROR naming the field (as a JSON pointer) and what is wrong with it."""
    detail = {"field": path, "location": "body", "issue": issue, "value": value}
    return WeChatPayError(400, "PARAM_ERROR", f"参数错误: {path} {issue}", detail)


def invalid_request(message: str) -> WeChatPayError:
    return WeChatPayError(400, "INVALID_REQUEST", message)


def signing_text(*lines: str) -> bytes:
    """The signed message: every line followed by a newline."""
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def sign(key: RSAPrivateKey, *lines: str) -> str:
    """SHA256-RSA2048 (PKCS#1 v1.5) over the lines, base64."""
    return base64.b64encode(key.sign(signing_text(*lines), PKCS1v15(), SHA256())).decode()


def verify(key: RSAPublicKey, signature: str, *lines: str) -> bool:
    """Whether `signature` is `sign(...)` of the lines by the key's owner."""
    try:
        key.verify(base64.b64decode(signature, validate=True), signing_text(*lines), PKCS1v15(), SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class Authorization:
    """The merchant's `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="..",nonce_str="..",...` header."""

    mchid: str
    nonce_str: str
    signature: str
    timestamp: str
    serial_no: str

    @classmethod
    def parse(cls, header: str) -> Authorization:
        scheme, _, params = header.strip().partition(" ")
        if scheme != SIGNATURE_TYPE:
            raise sign_error("Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》")
        fields = dict(AUTH_FIELD.findall(params))
        names = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
        if not all(fields.get(name) for name in names):
            raise sign_error("Http头Authorization缺少字段")
        return cls(**{name: fields[name] for name in names})


@dataclass(frozen=True, slots=True)
class Merchant:
    """The merchant the fake serves: ids and the public key of its API certificate."""

    mchid: str
    appid: str
    serial_no: str
    public_key: RSAPublicKey = field(repr=False)


def check_authorization(
    header: str, *, merchant: Merchant, method: str, target: str, body: str, now: datetime
) -> None:
    """401 SIGN_ERROR unless the header signs `method\\ntarget\\ntimestamp\\nnonce\\nbody\\n` with the
    merchant's key, recently; `target` is the path with its query string, as sent."""
    auth = Authorization.parse(header)
    if auth.mchid != merchant.mchid:
        raise sign_error("商户号与签名信息不匹配")
    if auth.serial_no.upper() != merchant.serial_no.upper():
        raise sign_error("商户证书序列号有误")
    if not auth.timestamp.isdigit() or abs(now.timestamp() - int(auth.timestamp)) > AUTH_WINDOW_S:
        raise sign_error("请求的时间戳已过期或无效")
    if not verify(merchant.public_key, auth.signature, method, target, auth.timestamp, auth.nonce_str, body):
        raise sign_error("签名错误")


def nonce(length: int = 32) -> str:
    """Random upper-case letters and digits."""
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(length))


def signed_headers(key: RSAPrivateKey, key_id: str, body: str, now: datetime) -> dict[str, str]:
    """The headers the platform signs every answer and notification with."""
    timestamp, once = str(int(now.timestamp())), nonce()
    return {
        "Wechatpay-Nonce": once,
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Serial": key_id,
        "Wechatpay-Signature": sign(key, timestamp, once, body),
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
    }


def encrypt_resource(apiv3_key: str, plaintext: str, original_type: str) -> dict[str, str]:
    """A notification's `resource`: AEAD_AES_256_GCM under the API v3 key, associated data the type."""
    once = nonce(12)
    sealed = AESGCM(apiv3_key.encode()).encrypt(once.encode(), plaintext.encode(), original_type.encode())
    return {
        "original_type": original_type,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode(),
        "associated_data": original_type,
        "nonce": once,
    }


def rfc3339(moment: datetime) -> str:
    """`2026-03-02T09:00:00+08:00`: the API's times are Beijing time."""
    return moment.astimezone(BEIJING).isoformat(timespec="seconds")


def parse_rfc3339(value: object, path: str) -> datetime:
    """A request's time, with its offset; PARAM_ERROR otherwise."""
    if not isinstance(value, str) or not re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)", value
    ):
        raise param_error(path, "时间格式应为yyyy-MM-DDTHH:mm:ss+TIMEZONE", value)
    return datetime.fromisoformat(value).astimezone(UTC)


def transaction_id(now: datetime) -> str:
    """A 28-digit WeChat Pay order number: `4200`, the Beijing date, digits."""
    return (
        "4200"
        + now.astimezone(BEIJING).strftime("%Y%m%d")
        + "".join(secrets.choice(string.digits) for _ in range(16))
    )


def refund_id() -> str:
    """A 29-digit refund number."""
    return "50" + "".join(secrets.choice(string.digits) for _ in range(27))


def notification_id() -> str:
    return str(uuid.uuid4())


def require_text(
    data: Mapping[str, object], name: str, *, max_chars: int, pattern: re.Pattern[str] | None = None
) -> str:
    """A required string field within its length (and pattern)."""
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise param_error(f"/{name}", "字段缺失或不是字符串", value)
    if len(value) > max_chars or (pattern is not None and not pattern.fullmatch(value)):
        raise param_error(f"/{name}", "格式或长度不符合要求", value)
    return value


def require_notify_url(value: object, path: str) -> str:
    """A callback address: http(s), without a query (the platform refuses parameters in it)."""
    parts = urlsplit(value) if isinstance(value, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or len(str(value)) > 256
    ):
        raise param_error(path, "通知地址必须为http(s)地址且不能携带参数", value)
    return str(value)


def require_fen(amount: object, name: str, *, minimum: int = 1) -> int:
    """`amount.<name>`: an integer number of fen, at least `minimum`."""
    value = amount.get(name) if isinstance(amount, Mapping) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise param_error(f"/amount/{name}", f"应为不小于{minimum}的整数(分)", value)
    if isinstance(amount, Mapping) and amount.get("currency", "CNY") != "CNY":
        raise param_error("/amount/currency", "仅支持CNY", amount.get("currency"))
    return value


def yuan(fen: int) -> str:
    """Fen as the bill writes amounts: `12.30`."""
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass(frozen=True, slots=True)
class BillLine:
    """One row of the bill: a payment (state SUCCESS) or a refund (REFUND)."""

    time: datetime
    transaction_id: str
    out_trade_no: str
    openid: str
    state: str
    total_fen: int
    description: str
    refund_id: str = "0"
    out_refund_no: str = "0"
    refund_fen: int = 0


def _bill_fields(line: BillLine, merchant: Merchant) -> list[str]:
    refund = line.state == "REFUND"
    return [
        line.time.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        merchant.appid,
        merchant.mchid,
        "0",
        "",
        line.transaction_id,
        line.out_trade_no,
        line.openid,
        "NATIVE",
        line.state,
        "OTHERS",
        "CNY",
        yuan(0 if refund else line.total_fen),
        "0.00",
        line.refund_id,
        line.out_refund_no,
        yuan(line.refund_fen),
        "0.00",
        "ORIGINAL" if refund else "",
        "SUCCESS" if refund else "",
        line.description,
        "",
        "0.00000",
        FEE_RATE,
        yuan(line.total_fen),
        yuan(line.refund_fen),
        "",
    ]


def bill_text(lines: Iterable[BillLine], merchant: Merchant) -> str:
    """The trade bill (`bill_type=ALL`): a header, one backtick-prefixed row per line, then the summary."""
    rows = list(lines)
    body = [",".join(f"`{value}" for value in _bill_fields(line, merchant)) for line in rows]
    paid = sum(line.total_fen for line in rows if line.state != "REFUND")
    refunded = sum(line.refund_fen for line in rows)
    summary = [str(len(rows)), yuan(paid), yuan(refunded), "0.00", "0.00000", yuan(paid), yuan(refunded)]
    return (
        "\r\n".join([BILL_HEADER, *body, BILL_SUMMARY_HEADER, ",".join(f"`{value}" for value in summary)])
        + "\r\n"
    )
