"""The baseline of the gateway benchmark: a minimal asyncio server that parses and acknowledges watch
frames with the same codec, and stores nothing. The gap to the real gateway is the cost of durability.

    python -m simulators.load.baseline_server --port 5094
"""

from __future__ import annotations

import argparse
import asyncio
from typing import cast

from devices.watch import codec


class ParseAndAck(asyncio.Protocol):
    def __init__(self) -> None:
        self.decoder = codec.FrameDecoder()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.decoder.feed(data)
        while (item := self.decoder.next_event()) is not None:
            if isinstance(item, codec.Frame):
                message = codec.parse_message(item)
                codec.events_for(message)
                reply = codec.reply_for(item, message)
                if reply is not None and self.transport is not None:
                    self.transport.write(reply)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(ParseAndAck, "127.0.0.1", port, backlog=4096, reuse_port=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=5094)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(serve(args.port))
    except ImportError:
        asyncio.run(serve(args.port))
