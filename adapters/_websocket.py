"""WebSocket: items as JSON text messages over a Starlette (or FastAPI) ``WebSocket``.

``ws_message`` is the sans-IO part: one item, one text message, the same JSON as
NDJSON. ``stream_websocket`` accepts the connection, sends every item of a
subscription, then closes with code 1000 after ``done`` or 1011 after ``error``. It
listens to the client at the same time: a client that closes ends the subscription
at once, which under the ``"cancel"`` idle policy stops the run (messages the client
sends are ignored). Both of its tasks are awaited before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING

from eventstream.adapters._runs import Subscription, as_subscription
from eventstream.adapters._signals import Failure, Item, item_to_json

from eventstream import Event

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

__all__ = ["CLOSE_DONE", "CLOSE_FAILED", "stream_websocket", "ws_message"]

logger = logging.getLogger("eventstream.adapters")

CLOSE_DONE = 1000
"""Close code after ``done``: a normal closure."""

CLOSE_FAILED = 1011
"""Close code after ``error``: the server met a condition it could not handle."""


def ws_message(item: Item) -> str:
    """One item as one WebSocket text message."""
    return item_to_json(item)


async def stream_websocket(
    websocket: WebSocket, source: Subscription | AsyncIterable[Event]
) -> None:
    """Accept ``websocket`` and stream a subscription (or any event stream) over it."""
    subscription = as_subscription(source)
    await websocket.accept()
    sender = asyncio.ensure_future(_send_all(websocket, subscription))
    listener = asyncio.ensure_future(_until_closed(websocket))
    try:
        await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, listener):
            task.cancel()
        await asyncio.gather(sender, listener, return_exceptions=True)
    if sender.cancelled():
        return
    failure = sender.exception()
    if failure is not None:
        if not _is_disconnect(failure):
            logger.error("sending over a WebSocket failed", exc_info=failure)
        return
    if listener.cancelled():
        last = sender.result()
        code = CLOSE_FAILED if isinstance(last, Failure) else CLOSE_DONE
        # The client may close at the same moment; there is nobody left to tell.
        with contextlib.suppress(Exception):
            await websocket.close(code=code)


async def _send_all(websocket: WebSocket, subscription: Subscription) -> Item | None:
    last: Item | None = None
    # No early break: the subscription's generator ends by itself after the terminal
    # item, so it detaches now and not whenever the garbage collector finalizes it.
    async for item in subscription:
        await websocket.send_text(ws_message(item))
        last = item
    return last


async def _until_closed(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


def _is_disconnect(exc: BaseException) -> bool:
    """Whether sending failed because the client had gone (not a bug of ours)."""
    from starlette.websockets import WebSocketDisconnect

    return isinstance(exc, (WebSocketDisconnect, OSError))
