"""Voice clips from watches: the quota a device's clips must fit (pure), and what a device has saved today.

A clip over the size limit, or one that would take the device past its bytes for the (UTC) day, is not
saved: its event is stored with `dropped` saying why, and the watch is acknowledged as usual."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CLIP_SUFFIX = ".amr"


@dataclass(frozen=True, slots=True)
class MediaQuota:
    """Limits on one device's voice clips."""

    clip_max_bytes: int = 32 * 1024
    device_daily_bytes: int = 2 * 1024 * 1024

    def refusal(self, clip_bytes: int, used_today: int) -> str | None:
        """Why a clip of this size may not be saved after `used_today` bytes, or None."""
        if clip_bytes > self.clip_max_bytes:
            return f"clip over {self.clip_max_bytes} bytes"
        if used_today + clip_bytes > self.device_daily_bytes:
            return f"over the device's {self.device_daily_bytes} bytes a day"
        return None


def bytes_saved(directory: Path, day_prefix: str) -> int:
    """Bytes of the clips in a device's folder whose names start with the day (YYYYMMDD); blocking."""
    if not directory.is_dir():
        return 0
    return sum(
        path.stat().st_size
        for path in directory.iterdir()
        if path.name.startswith(day_prefix) and path.suffix == CLIP_SUFFIX
    )
