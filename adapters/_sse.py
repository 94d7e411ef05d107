"""Server-Sent Events framing: strings in, frames out (sans-IO), and one thin async wrapper.

A frame is ``data:`` one line of JSON (a text with line breaks becomes one ``data:``
line per line, as the spec joins them), optionally preceded by ``event:`` (a name)
and ``id:`` (what a reconnecting ``EventSource`` sends back as ``Last-Event-ID``).
JSON escapes every line break, so no text inside a message can end a frame early or
inject one. A comment frame (``: ping``) keeps idle connections open through proxies.
This module knows no protocol and no registry: ``_pipeline`` hands it encoded messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from eventstream.adapters._protocol import Encoded

__all__ = [
    "SSE_HEADERS",
    "SSE_MEDIA_TYPE",
    "sse_comment",
    "sse_frames",
    "sse_message",
    "sse_retry",
]

SSE_MEDIA_TYPE = "text/event-stream"

SSE_HEADERS: dict[str, str] = {
    # No cache may store or transform a live stream; nginx and its kin must not buffer.
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
"""Headers for a streamed SSE response (besides its media type)."""

PING = ": ping\n\n"


def sse_message(data: str, *, event: str | None = None, id: str | None = None) -> str:  # noqa: A002
    """One message as an SSE frame, ending with the blank line that dispatches it."""
    if "\n" in data or "\r" in data:
        data = "\ndata: ".join(data.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    if event is None and id is None:
        return f"data: {data}\n\n"
    if event is None:
        return f"id: {_field('id', id)}\ndata: {data}\n\n"
    if id is None:
        return f"event: {_field('event', event)}\ndata: {data}\n\n"
    return f"id: {_field('id', id)}\nevent: {_field('event', event)}\ndata: {data}\n\n"


def _field(name: str, value: str | None) -> str | None:
    if value is not None and ("\n" in value or "\r" in value):
        msg = f"an SSE {name} is one line: {value!r} has a line break"
        raise ValueError(msg)
    return value


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


async def sse_frames(
    messages: AsyncIterable[Encoded | None],
    *,
    retry: int | None = None,
    trailer: str | None = None,
) -> AsyncIterator[str]:
    """The frames of encoded messages; ``None`` (a quiet spell) becomes ``: ping``.

    ``retry``: the reconnection time to announce first, in milliseconds. ``trailer``: a
    last ``data:`` line some protocols end with (the AI SDK's ``[DONE]``).
    """
    if retry is not None:
        yield sse_retry(retry)
    async for message in messages:
        if message is None:
            yield PING
        else:
            yield sse_message(message.data, event=message.event, id=message.id)
    if trailer is not None:
        yield sse_message(trailer)
