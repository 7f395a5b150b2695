"""Log format for the server and the CLI."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    """One line per record, with time, level and logger name."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        force=True,
    )
