"""NDJSON framing: one JSON message per line (sans-IO), and one thin async wrapper.

For backend consumers and ``curl --no-buffer``: every line is one message of the
protocol being spoken (our own events by default: see ``_native``). JSON escapes line
breaks, so a line is always exactly one message. An optional heartbeat is an empty
line, which NDJSON readers skip. This module knows no protocol and no registry.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from eventstream.adapters._protocol import Encoded

__all__ = ["NDJSON_MEDIA_TYPE", "ndjson_lines"]

NDJSON_MEDIA_TYPE = "application/x-ndjson"


async def ndjson_lines(messages: AsyncIterable[Encoded | None]) -> AsyncIterator[str]:
    """One line per encoded message, newline included; ``None`` (quiet) an empty line."""
    async for message in messages:
        yield "\n" if message is None else message.data + "\n"
