"""A service's limits as HTTP answers: ``413`` for a body too large, ``429`` for too many runs.

:class:`RequestBodyLimit` is plain ASGI middleware: a request whose ``Content-Length``
says more than ``max_bytes`` gets ``413`` before the application sees it; a body sent
without a length (chunked) is counted as it is read, and the read that passes the bound
raises Starlette's ``HTTPException(413)``, which Starlette and FastAPI answer (FastAPI
reads the whole body before calling the endpoint, so nothing of the request was used).

:func:`too_many_runs_response` answers a registry's
:class:`~eventstream.adapters.TooManyRunsError` with ``429`` and ``Retry-After``; give it
to ``app.add_exception_handler(TooManyRunsError, too_many_runs_response)``. Starlette is
imported when first needed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from eventstream.adapters._registry import TooManyRunsError

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["DEFAULT_MAX_BODY", "RequestBodyLimit", "too_many_runs_response"]

DEFAULT_MAX_BODY = 1024 * 1024
"""Bytes a request body may have (1 MiB): a question and a long conversation fit."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _too_large(max_bytes: int) -> str:
    return f"request body too large: more than {max_bytes} bytes (the service's max body)"


class RequestBodyLimit:
    """ASGI middleware: ``413`` for an HTTP request body of more than ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        if max_bytes < 0:
            msg = f"max_bytes must be >= 0, got {max_bytes}"
            raise ValueError(msg)
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        length = _content_length(scope)
        if length is not None and length > limit:
            await _send_413(send, _too_large(limit))
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    from starlette.exceptions import HTTPException

                    raise HTTPException(status_code=413, detail=_too_large(limit))
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server rejects it; counting covers it anyway
    return None


async def _send_413(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def too_many_runs_response(request: Request, exc: Exception) -> Response:
    """``429`` with ``Retry-After`` for a :class:`TooManyRunsError` (an exception handler)."""
    from starlette.responses import JSONResponse

    assert isinstance(exc, TooManyRunsError)
    return JSONResponse(
        {"detail": str(exc)},
        status_code=429,
        headers={"Retry-After": str(exc.retry_after)},
    )
