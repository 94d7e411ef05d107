"""Edges to other systems: SSE, NDJSON and WebSocket, and the run registry behind them.

Installed as ``eventstream.adapters``; never importable as a top-level ``adapters``
package (that name belongs to an unrelated project on PyPI).

    registry = RunRegistry()
    run = registry.start(agent, {"messages": [("user", question)]})

    @app.get("/runs/{run_id}/events")
    async def events(run_id: str, request: Request) -> Response:
        return sse_response(subscribe_request(registry, run_id, request))

The wire formats are sans-IO (``sse_frame``, ``ndjson_line``, ``ws_message``: one item
in, one frame out); ``sse_stream`` / ``ndjson_stream`` / ``stream_websocket`` and the
Starlette responses are thin async wrappers. Starlette is needed only by the last two
(``pip install "eventstream[serve]"``).
"""

from eventstream.adapters._ndjson import NDJSON_MEDIA_TYPE, ndjson_line, ndjson_stream
from eventstream.adapters._query import (
    SELECTION_PARAMS,
    QueryError,
    parse_resume,
    parse_selection,
)
from eventstream.adapters._runs import (
    IdlePolicy,
    Run,
    RunFailedError,
    RunRegistry,
    RunStatus,
    Subscription,
    UnknownRunError,
    as_subscription,
)
from eventstream.adapters._signals import Done, Failure, Gap, Item, Signal, item_to_json
from eventstream.adapters._sse import (
    SSE_HEADERS,
    SSE_MEDIA_TYPE,
    sse_comment,
    sse_frame,
    sse_retry,
    sse_stream,
)
from eventstream.adapters._starlette import ndjson_response, sse_response, subscribe_request
from eventstream.adapters._websocket import (
    CLOSE_DONE,
    CLOSE_FAILED,
    stream_websocket,
    ws_message,
)

__all__ = [
    "CLOSE_DONE",
    "CLOSE_FAILED",
    "NDJSON_MEDIA_TYPE",
    "SELECTION_PARAMS",
    "SSE_HEADERS",
    "SSE_MEDIA_TYPE",
    "Done",
    "Failure",
    "Gap",
    "IdlePolicy",
    "Item",
    "QueryError",
    "Run",
    "RunFailedError",
    "RunRegistry",
    "RunStatus",
    "Signal",
    "Subscription",
    "UnknownRunError",
    "as_subscription",
    "item_to_json",
    "ndjson_line",
    "ndjson_response",
    "ndjson_stream",
    "parse_resume",
    "parse_selection",
    "sse_comment",
    "sse_frame",
    "sse_response",
    "sse_retry",
    "sse_stream",
    "stream_websocket",
    "subscribe_request",
    "ws_message",
]
