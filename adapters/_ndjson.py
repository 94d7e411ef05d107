"""NDJSON: one JSON item per line (sans-IO), and one thin async wrapper.

For backend consumers and ``curl --no-buffer``: every line is one event as
:func:`eventstream.event_to_json` writes it, or a control item (``{"type": "gap"}``,
``{"type": "done"}``, ``{"type": "error"}``); the stream ends after ``done`` or
``error``. JSON escapes line breaks, so a line is always exactly one item. Resume with
``after=<seq>`` (the ``seq`` of the last event read). An optional heartbeat is an empty
line, which NDJSON readers skip.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from eventstream.adapters._runs import Subscription, as_subscription
from eventstream.adapters._signals import Item, item_to_json

from eventstream import Event

__all__ = ["NDJSON_MEDIA_TYPE", "ndjson_line", "ndjson_stream"]

NDJSON_MEDIA_TYPE = "application/x-ndjson"


def ndjson_line(item: Item) -> str:
    """One item as one line of JSON, newline included."""
    return item_to_json(item) + "\n"


async def ndjson_stream(
    source: Subscription | AsyncIterable[Event], *, heartbeat: float | None = None
) -> AsyncIterator[str]:
    """The lines of a subscription (or of any event stream, as its own run).

    ``heartbeat``: seconds of silence before an empty line (``None``: never).
    """
    subscription = as_subscription(source)
    async for item in subscription.stream(idle=heartbeat):
        yield "\n" if item is None else ndjson_line(item)
