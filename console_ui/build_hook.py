"""Hatchling build hook: installs the console's browser assets (map, font, UI library) with `npm ci`.

It runs whenever the project is installed (`pip install -e .` or a wheel build), so the console never
fetches anything from the internet at run time. Set DISPATCH_SKIP_CONSOLE_ASSETS=1 to install a server
without the console (the API and the device gateway do not need it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class ConsoleAssetsHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if os.environ.get("DISPATCH_SKIP_CONSOLE_ASSETS"):
            return
        console = Path(self.root) / "console_ui"
        if _stale(console):
            npm = shutil.which("npm")
            if npm is None:
                raise RuntimeError(
                    "npm (Node.js) is needed to install the console's assets; install Node.js, "
                    "or set DISPATCH_SKIP_CONSOLE_ASSETS=1 to install without the console"
                )
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=console, check=True)  # noqa: S603 - our own lock file
        if version != "editable":  # a wheel carries the assets; an editable install serves them in place
            build_data["artifacts"].append("console_ui/node_modules/")


def _stale(console: Path) -> bool:
    installed = console / "node_modules" / ".package-lock.json"
    lock = console / "package-lock.json"
    return not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime
