"""Ready Starlette responses, so a FastAPI (or Starlette) endpoint is one line.

    @app.get("/runs/{run_id}/events")
    async def events(run_id: str, request: Request) -> Response:
        return sse_response(subscribe_request(registry, run_id, request))

``sse_response`` / ``ndjson_response`` stream a subscription (or any event stream:
``sse_response(normalize(agent.astream_events(...)))``) with the headers that stop
proxy buffering. When the client goes away, Starlette cancels the response, the
subscription detaches, and the run follows its idle policy. ``subscribe_request``
reads the selection and the resume point from the request (see
``eventstream.adapters._query``); an unknown run is a 404, a malformed parameter a 400
(a close with code 1008 on a WebSocket). Starlette is imported when first needed:
``pip install "eventstream[serve]"``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from typing import TYPE_CHECKING, Any

from eventstream.adapters._ndjson import NDJSON_MEDIA_TYPE, ndjson_stream
from eventstream.adapters._query import QueryError, parse_resume, parse_selection
from eventstream.adapters._runs import RunRegistry, Subscription, UnknownRunError
from eventstream.adapters._sse import SSE_HEADERS, SSE_MEDIA_TYPE, sse_stream

from eventstream import Event

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection
    from starlette.responses import StreamingResponse

__all__ = ["ndjson_response", "sse_response", "subscribe_request"]

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
) -> StreamingResponse:
    """A ``text/event-stream`` response of a subscription (see :func:`sse_stream`)."""
    starlette = _starlette()
    response: StreamingResponse = starlette.responses.StreamingResponse(
        sse_stream(source, heartbeat=heartbeat, retry=retry),
        media_type=SSE_MEDIA_TYPE,
        headers={**SSE_HEADERS, **(headers or {})},
    )
    return response


def ndjson_response(
    source: Subscription | AsyncIterable[Event],
    *,
    heartbeat: float | None = None,
    headers: Mapping[str, str] | None = None,
) -> StreamingResponse:
    """An ``application/x-ndjson`` response of a subscription (see :func:`ndjson_stream`)."""
    starlette = _starlette()
    response: StreamingResponse = starlette.responses.StreamingResponse(
        ndjson_stream(source, heartbeat=heartbeat),
        media_type=NDJSON_MEDIA_TYPE,
        headers={**SSE_HEADERS, **(headers or {})},
    )
    return response


def subscribe_request(
    registry: RunRegistry, run_id: str, connection: HTTPConnection
) -> Subscription:
    """A subscription to ``run_id`` with the selection and resume point of the request.

    Raises Starlette's ``HTTPException`` (404, 400) for a request and
    ``WebSocketException`` (1008) for a WebSocket, which Starlette and FastAPI turn
    into the answer.
    """
    _starlette()
    from starlette.exceptions import HTTPException, WebSocketException

    websocket = connection.scope["type"] == "websocket"
    try:
        selector = parse_selection(connection.query_params.multi_items())
        after = parse_resume(
            connection.query_params.get("after"), connection.headers.get("last-event-id")
        )
        return registry.subscribe(run_id, selector=selector, after=after)
    except UnknownRunError as exc:
        if websocket:
            raise WebSocketException(code=1008, reason=str(exc)) from exc
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except QueryError as exc:
        if websocket:
            raise WebSocketException(code=1008, reason=str(exc)) from exc
        raise HTTPException(status_code=400, detail=str(exc)) from exc
