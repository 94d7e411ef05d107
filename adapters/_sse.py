"""Server-Sent Events: items in, frames out (sans-IO), and one thin async wrapper.

Each event is one frame: ``id:`` its ``seq`` (what a reconnecting ``EventSource``
sends back as ``Last-Event-ID``), ``event:`` its ``type``, ``data:`` one line of JSON.
JSON escapes every line break, so no text inside a token (``"\\n\\ndata: x"``, a lone
``"\\r"``) can end a frame early or inject one. Control items are frames too: ``gap``
(its ``id`` is the last seq missed, so a reconnect resumes after the gap), and one
terminal frame, ``done`` when the run completed or ``error`` with a safe message.
A comment frame (``: ping``) keeps idle connections open through proxies.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from eventstream.adapters._runs import Subscription, as_subscription
from eventstream.adapters._signals import Done, Failure, Gap, Item, item_to_json

from eventstream import Event

__all__ = [
    "SSE_HEADERS",
    "SSE_MEDIA_TYPE",
    "sse_comment",
    "sse_frame",
    "sse_retry",
    "sse_stream",
]

SSE_MEDIA_TYPE = "text/event-stream"

SSE_HEADERS: dict[str, str] = {
    # No cache may store or transform a live stream; nginx and its kin must not buffer.
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
"""Headers for a streamed SSE response (besides its media type)."""

PING = ": ping\n\n"


def sse_frame(item: Item) -> str:
    """One item as an SSE frame, ending with the blank line that dispatches it."""
    data = item_to_json(item)
    if isinstance(item, Gap):
        return f"id: {item.last}\nevent: gap\ndata: {data}\n\n"
    if isinstance(item, (Done, Failure)):
        return f"event: {item.type}\ndata: {data}\n\n"
    return f"id: {item.seq}\nevent: {item.type}\ndata: {data}\n\n"


def sse_comment(text: str = "ping") -> str:
    """A comment frame: clients ignore it, proxies see traffic."""
    if "\n" in text or "\r" in text:
        msg = f"an SSE comment is one line: {text!r} has a line break"
        raise ValueError(msg)
    return f": {text}\n\n"


def sse_retry(milliseconds: int) -> str:
    """A frame telling ``EventSource`` how long to wait before reconnecting."""
    if milliseconds < 0:
        msg = f"the reconnection time must be >= 0 ms, got {milliseconds}"
        raise ValueError(msg)
    return f"retry: {milliseconds}\n\n"


async def sse_stream(
    source: Subscription | AsyncIterable[Event],
    *,
    heartbeat: float | None = 15.0,
    retry: int | None = None,
) -> AsyncIterator[str]:
    """The SSE frames of a subscription (or of any event stream, as its own run).

    ``heartbeat``: seconds of silence before a ``: ping`` comment (``None``: never).
    ``retry``: the reconnection time to announce first, in milliseconds.
    """
    subscription = as_subscription(source)
    if retry is not None:
        yield sse_retry(retry)
    async for item in subscription.stream(idle=heartbeat):
        yield PING if item is None else sse_frame(item)
