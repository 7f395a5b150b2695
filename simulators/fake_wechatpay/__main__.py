"""python -m simulators.fake_wechatpay --port 8791 [--host 127.0.0.1] [--keys-dir ./var/fake-wechatpay]
[--retry-delays 15,15,30,...] [--refund-delay 0.5]: the fake WeChat Pay on its own, until Ctrl-C or SIGTERM.
The keys in --keys-dir are made there on the first run; the DISPATCH_WECHATPAY_* settings to use are printed."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from simulators.fake_wechatpay.delivery import PLATFORM_RETRY_DELAYS_S
from simulators.fake_wechatpay.keys import KEYSET_FILE, KeySet, generate_keys, load_keys, write_keys
from simulators.fake_wechatpay.server import FakeWeChatPay


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m simulators.fake_wechatpay", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8791, help="0: any free port")
    parser.add_argument("--keys-dir", type=Path, default=Path("./var/fake-wechatpay"))
    parser.add_argument(
        "--retry-delays",
        default=",".join(str(delay) for delay in PLATFORM_RETRY_DELAYS_S),
        help="seconds between a notification's tries (default: the platform's schedule)",
    )
    parser.add_argument("--refund-delay", type=float, default=0.5, help="seconds until a refund succeeds")
    return parser.parse_args(argv)


def keys_in(directory: Path) -> KeySet:
    """The key set kept in `directory`, made on first use."""
    if (directory / KEYSET_FILE).exists():
        return load_keys(directory)
    keys = generate_keys()
    write_keys(keys, directory)
    return keys


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGINT or SIGTERM."""
    keys = keys_in(args.keys_dir)
    fake = FakeWeChatPay(
        keys,
        host=args.host,
        port=args.port,
        notify_retry_delays_s=[float(delay) for delay in args.retry_delays.split(",") if delay],
        refund_delay_s=args.refund_delay,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    base_url = await fake.start()
    print(f"fake WeChat Pay listening on {base_url} (merchant {keys.mchid}); settings:", flush=True)
    for name, value in keys.settings_env(args.keys_dir.resolve(), base_url).items():
        shown = "(in keyset.json)" if name.endswith("APIV3_KEY") else value
        print(f"  {name}={shown}", flush=True)
    try:
        await stopping.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
