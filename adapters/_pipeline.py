"""From a run to one client: registry → protocol → framing, the only place they meet.

A subscription (or any normalized stream, run as its own one-reader run) yields events,
control items and, with a heartbeat, ``None`` for a quiet spell; a protocol object turns
each into its messages (``feed`` / ``control``); the messages are encoded, then framed
as SSE, NDJSON or WebSocket text. The registry knows no wire format, the protocols know
no transport, the framings know neither. Every transport speaks our own events unless
given ``protocol=`` (an :class:`~eventstream.adapters.AGUIProtocol`, a
:class:`~eventstream.adapters.UIMessageStreamProtocol`, or anything keeping the
contract of ``_protocol``); a protocol object serves one stream.

If a protocol object raises (a stream it cannot translate, such as one without
ancestry read without ``answer=``), the error goes to the ``eventstream.adapters`` log
with its traceback, the client gets the protocol's failure (a safe message), and the
subscription ends. ``sse_frame`` / ``ndjson_line`` / ``ws_message`` are our own
protocol's frames for one item, as they always were.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any

from eventstream.adapters._native import EventProtocol, item_to_json
from eventstream.adapters._ndjson import ndjson_lines
from eventstream.adapters._protocol import Encoded, WireProtocol
from eventstream.adapters._runs import Subscription, as_subscription
from eventstream.adapters._signals import Done, Failure, Gap, Item
from eventstream.adapters._sse import sse_frames, sse_message
from eventstream.adapters._websocket import CLOSE_DONE, CLOSE_FAILED, websocket_session

from eventstream import Event

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

__all__ = [
    "encoded_stream",
    "ndjson_line",
    "ndjson_stream",
    "sse_frame",
    "sse_stream",
    "stream_websocket",
    "ws_message",
]

logger = logging.getLogger("eventstream.adapters")

UNTRANSLATABLE = "the server could not translate this run for the client; its log has the details"

Source = Subscription | AsyncIterable[Event]


async def encoded_stream(
    source: Source, protocol: WireProtocol[Any], *, idle: float | None = None
) -> AsyncIterator[Encoded | None]:
    """The protocol's encoded messages for a subscription (or any event stream, as its
    own run); with ``idle``, also ``None`` after that many seconds without a message."""
    subscription = as_subscription(source)
    items = subscription.stream(idle=idle)
    try:
        async for item in items:
            if item is None:
                yield None
                continue
            try:
                if isinstance(item, (Gap, Done, Failure)):
                    messages = protocol.control(item)
                else:
                    messages = protocol.feed(item)
            except Exception as exc:
                logger.error(
                    "run %s: %s could not translate an item",
                    subscription.run.id,
                    type(protocol).__name__,
                    exc_info=exc,
                )
                for message in protocol.fail(UNTRANSLATABLE):
                    yield protocol.encode(message)
                return
            for message in messages:
                yield protocol.encode(message)
            if protocol.ended:
                return
    finally:
        # Leaving early (a translation failure, a client gone) detaches now.
        await items.aclose()


def sse_stream(
    source: Source,
    *,
    heartbeat: float | None = 15.0,
    retry: int | None = None,
    protocol: WireProtocol[Any] | None = None,
) -> AsyncIterator[str]:
    """The SSE frames of a subscription (or of any event stream, as its own run).

    ``heartbeat``: seconds of silence before a ``: ping`` comment (``None``: never).
    ``retry``: the reconnection time to announce first, in milliseconds. ``protocol``:
    what to speak (our own events by default).
    """
    speaker = protocol if protocol is not None else EventProtocol()
    return sse_frames(
        encoded_stream(source, speaker, idle=heartbeat), retry=retry, trailer=speaker.trailer
    )


def ndjson_stream(
    source: Source,
    *,
    heartbeat: float | None = None,
    protocol: WireProtocol[Any] | None = None,
) -> AsyncIterator[str]:
    """The lines of a subscription (or of any event stream, as its own run).

    ``heartbeat``: seconds of silence before an empty line (``None``: never).
    """
    speaker = protocol if protocol is not None else EventProtocol()
    return ndjson_lines(encoded_stream(source, speaker, idle=heartbeat))


async def stream_websocket(
    websocket: WebSocket, source: Source, *, protocol: WireProtocol[Any] | None = None
) -> None:
    """Accept ``websocket`` and stream a subscription (or any event stream) over it:
    one text message per protocol message, then a close with 1000 after a normal end or
    1011 after a failure (a client that closes first stops the reading at once)."""
    speaker = protocol if protocol is not None else EventProtocol()
    subscription = as_subscription(source)

    async def texts() -> AsyncIterator[str]:
        async for message in encoded_stream(subscription, speaker):
            if message is not None:
                yield message.data

    def close_code() -> int:
        # Done comes only from a completed run; anything else ended in a failure.
        return CLOSE_DONE if subscription.run.status == "completed" else CLOSE_FAILED

    await websocket_session(websocket, texts(), close_code=close_code)


def sse_frame(item: Item) -> str:
    """One item of our own protocol as an SSE frame."""
    data, event, id_ = EventProtocol().encode(item)
    return sse_message(data, event=event, id=id_)


def ndjson_line(item: Item) -> str:
    """One item of our own protocol as one line of JSON, newline included."""
    return item_to_json(item) + "\n"


def ws_message(item: Item) -> str:
    """One item of our own protocol as one WebSocket text message."""
    return item_to_json(item)
