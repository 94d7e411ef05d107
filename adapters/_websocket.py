"""WebSocket framing: text messages over a Starlette (or FastAPI) ``WebSocket``.

:func:`websocket_session` accepts the connection, sends every text it is given, then
closes with the code ``close_code()`` names (1000 after a normal end, 1011 after a
failure). It listens to the client at the same time: a client that closes ends the
sending at once, which closes the source (under the ``"cancel"`` idle policy that
stops the run; messages the client sends are ignored). Both of its tasks are awaited
before it returns. This module knows no protocol and no registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

__all__ = ["CLOSE_DONE", "CLOSE_FAILED", "websocket_session"]

logger = logging.getLogger("eventstream.adapters")

CLOSE_DONE = 1000
"""Close code after ``done``: a normal closure."""

CLOSE_FAILED = 1011
"""Close code after ``error``: the server met a condition it could not handle."""


async def websocket_session(
    websocket: WebSocket, texts: AsyncIterable[str], *, close_code: Callable[[], int]
) -> None:
    """Accept ``websocket``, send ``texts``, close with ``close_code()`` at their end."""
    await websocket.accept()
    sender = asyncio.ensure_future(_send_all(websocket, texts))
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
        # The client may close at the same moment; there is nobody left to tell.
        with contextlib.suppress(Exception):
            await websocket.close(code=close_code())


async def _send_all(websocket: WebSocket, texts: AsyncIterable[str]) -> None:
    # No early break: the source ends by itself after its terminal message, so it
    # releases what it holds now and not whenever the garbage collector finalizes it.
    async for text in texts:
        await websocket.send_text(text)


async def _until_closed(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


def _is_disconnect(exc: BaseException) -> bool:
    """Whether sending failed because the client had gone (not a bug of ours)."""
    from starlette.websockets import WebSocketDisconnect

    return isinstance(exc, (WebSocketDisconnect, OSError))
