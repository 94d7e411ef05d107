"""Ready Starlette responses, so a FastAPI (or Starlette) endpoint is one line.

    @app.get("/runs/{run_id}/events")
    async def events(run_id: str, request: Request) -> Response:
        return sse_response(subscribe_request(registry, run_id, request))

``sse_response`` / ``ndjson_response`` stream a subscription (or any event stream:
``sse_response(normalize(agent.astream_events(...)))``) with the headers that stop
proxy buffering, in our own protocol or the one given as ``protocol=``.
``ag_ui_response`` speaks AG-UI; ``ui_message_stream_response`` speaks the AI SDK's UI
message stream (its header ``x-vercel-ai-ui-message-stream: v1``, its closing
``data: [DONE]``). When the client goes away, Starlette cancels the response, the
subscription detaches, and the run follows its idle policy. ``subscribe_request``
reads the selection and the resume point from the request (see
``eventstream.adapters._query``); an unknown run is a 404, a malformed parameter a 400
(a close with code 1008 on a WebSocket). ``await asubscribe_request(...)`` does the same
with any registry (:class:`~eventstream.adapters.BaseRunRegistry`: the Redis one too).
Starlette is imported when first needed: ``pip install "eventstream[serve]"``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from typing import TYPE_CHECKING, Any

from eventstream.adapters._agui import AGUIProtocol
from eventstream.adapters._ai_sdk import UI_MESSAGE_STREAM_HEADERS, UIMessageStreamProtocol
from eventstream.adapters._ndjson import NDJSON_MEDIA_TYPE
from eventstream.adapters._pipeline import ndjson_stream, sse_stream
from eventstream.adapters._protocol import WireProtocol
from eventstream.adapters._query import QueryError, parse_resume, parse_selection
from eventstream.adapters._registry import BaseRunRegistry
from eventstream.adapters._runs import RunRegistry, Subscription, UnknownRunError
from eventstream.adapters._sse import SSE_HEADERS, SSE_MEDIA_TYPE

from eventstream import Event, Selector

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection
    from starlette.responses import StreamingResponse

__all__ = [
    "ag_ui_response",
    "asubscribe_request",
    "ndjson_response",
    "sse_response",
    "subscribe_request",
    "ui_message_stream_response",
]

INSTALL_HINT = 'the HTTP adapters need Starlette: pip install "eventstream[serve]"'


def _starlette() -> Any:
    try:
        import starlette.responses
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(INSTALL_HINT) from exc
    return starlette


def sse_response(
    source: Subscription | AsyncIterable[Event],
    *,
    heartbeat: float | None = 15.0,
    retry: int | None = None,
    headers: Mapping[str, str] | None = None,
    protocol: WireProtocol[Any] | None = None,
) -> StreamingResponse:
    """A ``text/event-stream`` response of a subscription (see :func:`sse_stream`)."""
    starlette = _starlette()
    response: StreamingResponse = starlette.responses.StreamingResponse(
        sse_stream(source, heartbeat=heartbeat, retry=retry, protocol=protocol),
        media_type=SSE_MEDIA_TYPE,
        headers={**SSE_HEADERS, **(headers or {})},
    )
    return response


def ndjson_response(
    source: Subscription | AsyncIterable[Event],
    *,
    heartbeat: float | None = None,
    headers: Mapping[str, str] | None = None,
    protocol: WireProtocol[Any] | None = None,
) -> StreamingResponse:
    """An ``application/x-ndjson`` response of a subscription (see :func:`ndjson_stream`)."""
    starlette = _starlette()
    response: StreamingResponse = starlette.responses.StreamingResponse(
        ndjson_stream(source, heartbeat=heartbeat, protocol=protocol),
        media_type=NDJSON_MEDIA_TYPE,
        headers={**SSE_HEADERS, **(headers or {})},
    )
    return response


def ag_ui_response(
    source: Subscription | AsyncIterable[Event],
    *,
    thread_id: str,
    run_id: str,
    answer: Selector | None = None,
    heartbeat: float | None = 15.0,
    headers: Mapping[str, str] | None = None,
) -> StreamingResponse:
    """An AG-UI event stream (SSE) of a subscription or any event stream.

    ``thread_id`` / ``run_id``: the ``RunAgentInput``'s; ``answer``: see ``to_ag_ui``.
    """
    protocol = AGUIProtocol(thread_id=thread_id, run_id=run_id, answer=answer)
    return sse_response(source, heartbeat=heartbeat, headers=headers, protocol=protocol)


def ui_message_stream_response(
    source: Subscription | AsyncIterable[Event],
    *,
    message_id: str | None = None,
    answer: Selector | None = None,
    heartbeat: float | None = 15.0,
    headers: Mapping[str, str] | None = None,
) -> StreamingResponse:
    """An AI SDK UI message stream (SSE, ``x-vercel-ai-ui-message-stream: v1``, ending
    with ``data: [DONE]``) of a subscription or any event stream, for ``useChat``.

    ``message_id``: the assistant message's id; ``answer``: see ``to_ui_message_stream``.
    """
    protocol = UIMessageStreamProtocol(message_id=message_id, answer=answer)
    return sse_response(
        source,
        heartbeat=heartbeat,
        headers={**UI_MESSAGE_STREAM_HEADERS, **(headers or {})},
        protocol=protocol,
    )


def subscribe_request(
    registry: RunRegistry, run_id: str, connection: HTTPConnection
) -> Subscription:
    """A subscription to ``run_id`` with the selection and resume point of the request.

    Raises Starlette's ``HTTPException`` (404, 400) for a request and
    ``WebSocketException`` (1008) for a WebSocket, which Starlette and FastAPI turn
    into the answer. In-process registry only: :func:`asubscribe_request` takes any.
    """
    selector, after = _read_request(connection)
    try:
        return registry.subscribe(run_id, selector=selector, after=after)
    except UnknownRunError as exc:
        raise _refusal(connection, 404, exc) from exc


async def asubscribe_request(
    registry: BaseRunRegistry, run_id: str, connection: HTTPConnection
) -> Subscription:
    """:func:`subscribe_request` for any registry (the Redis one looks the run up there)."""
    selector, after = _read_request(connection)
    try:
        return await registry.asubscribe(run_id, selector=selector, after=after)
    except UnknownRunError as exc:
        raise _refusal(connection, 404, exc) from exc


def _read_request(connection: HTTPConnection) -> tuple[Selector | None, int | None]:
    _starlette()
    try:
        selector = parse_selection(connection.query_params.multi_items())
        after = parse_resume(
            connection.query_params.get("after"), connection.headers.get("last-event-id")
        )
    except QueryError as exc:
        raise _refusal(connection, 400, exc) from exc
    return selector, after


def _refusal(connection: HTTPConnection, status: int, exc: Exception) -> Exception:
    """Starlette's answer to a refused subscription: HTTP ``status``, or 1008 on a WebSocket."""
    from starlette.exceptions import HTTPException, WebSocketException

    if connection.scope["type"] == "websocket":
        return WebSocketException(code=1008, reason=str(exc))
    return HTTPException(status_code=status, detail=str(exc))
