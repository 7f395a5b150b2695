"""A simulated elder phone / app using the signed HTTP API (`POST /api/v1/device-events`).

python -m simulators.phone --url http://127.0.0.1:8000 --device phone-000001 --secret ... --sos
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from devices.http_api import signature

logger = logging.getLogger(__name__)


class SimulatedPhone:
    """Sends signed events for one device; a retry reuses the idempotency key."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        device_id: str,
        secret: str,
        home: tuple[float, float],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.now = clock  # Unix seconds for the signature: the phone's own clock
        self.device_id = device_id
        self.secret = secret
        self.home = home
        self.rng = random.Random(device_id)

    async def send(self, body: dict[str, Any], *, retries: int = 3) -> httpx.Response:
        """POST one event, retrying on network errors and 5xx with the same idempotency key."""
        raw = json.dumps(body).encode()
        response: httpx.Response | None = None
        for attempt in range(retries):
            timestamp = str(int(self.now()))
            headers = {
                "X-Device-Id": self.device_id,
                "X-Timestamp": timestamp,
                "X-Signature": signature(self.secret, timestamp, raw),
                "Content-Type": "application/json",
            }
            try:
                response = await self.client.post("/api/v1/device-events", content=raw, headers=headers)
            except httpx.TransportError:
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            if response.status_code < 500:
                return response
        if response is None:
            raise ConnectionError("the server could not be reached")
        return response

    def _position(self) -> dict[str, Any]:
        angle, metres = self.rng.uniform(0, 2 * math.pi), abs(self.rng.gauss(0, 200))
        lon, lat = self.home
        return {
            "lon": lon + metres * math.cos(angle) / (111_320 * math.cos(math.radians(lat))),
            "lat": lat + metres * math.sin(angle) / 111_320,
            "fixed": True,
            "accuracy_m": 15.0,
        }

    def event(self, event_type: str, **extra: Any) -> dict[str, Any]:
        return {
            "event_type": event_type,
            "time": datetime.now(UTC).isoformat(),
            "idempotency_key": uuid.uuid4().hex,
            "position": self._position(),
            **extra,
        }

    async def run(self, *, period_s: float = 300.0, sos_rate_per_hour: float = 0.0) -> None:
        """Report positions and vitals until cancelled, with occasional SOS."""
        await asyncio.sleep(self.rng.uniform(0, min(period_s, 30)))
        while True:
            try:
                await self.send(self.event("position", battery=self.rng.randint(30, 100)))
                await self.send(self.event("vitals", vitals={"heart_rate": self.rng.randint(58, 96)}))
                if sos_rate_per_hour and self.rng.random() < sos_rate_per_hour * period_s / 3600:
                    await self.send(self.event("sos"))
            except ConnectionError:
                logger.debug("phone %s: server unreachable, will retry", self.device_id)
            await asyncio.sleep(period_s)


async def _main(args: argparse.Namespace) -> None:
    async with httpx.AsyncClient(base_url=args.url) as client:
        phone = SimulatedPhone(client, args.device, args.secret, (args.lon, args.lat))
        response = await phone.send(phone.event("sos" if args.sos else "position"))
        print(response.status_code, response.text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--device", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--lon", type=float, default=119.30)
    parser.add_argument("--lat", type=float, default=26.08)
    parser.add_argument("--sos", action="store_true")
    asyncio.run(_main(parser.parse_args()))
