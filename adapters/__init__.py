"""Edges to other systems: the run registry, three protocols, three framings, responses.

Installed as ``eventstream.adapters``; never importable as a top-level ``adapters``
package (that name belongs to an unrelated project on PyPI).

    registry = RunRegistry()
    run = registry.start(agent, {"messages": [("user", question)]})

    @app.get("/runs/{run_id}/events")
    async def events(run_id: str, request: Request) -> Response:
        return sse_response(subscribe_request(registry, run_id, request))

Data flows one way: the registry (``_runs``: fan-out, knows no wire format) → a
protocol (``_native``: our own events; ``_agui``: AG-UI; ``_ai_sdk``: the AI SDK's UI
message stream; each ``feed(event) -> list[message]``, sans-IO) → a framing (``_sse``,
``_ndjson``, ``_websocket``: strings only) → a response (``_starlette``); ``_pipeline``
is where they meet. ``to_ag_ui`` / ``to_ui_message_stream`` run a protocol over any
normalized stream, sync or async; ``messages_from_ag_ui`` / ``messages_from_ui_messages``
turn what a UI sends into LangChain messages. Starlette is needed only by the responses
and the WebSocket helper (``pip install "eventstream[serve]"``).
"""

from eventstream.adapters._agui import AGUI_PROTOCOL_VERSION, AGUIProtocol, to_ag_ui
from eventstream.adapters._ai_sdk import (
    UI_MESSAGE_STREAM_HEADERS,
    UIMessageStreamProtocol,
    to_ui_message_stream,
)
from eventstream.adapters._conversation import (
    ConversationError,
    messages_from_ag_ui,
    messages_from_ui_messages,
)
from eventstream.adapters._limits import (
    DEFAULT_MAX_BODY,
    RequestBodyLimit,
    too_many_runs_response,
)
from eventstream.adapters._native import EventProtocol, item_to_json
from eventstream.adapters._ndjson import NDJSON_MEDIA_TYPE, ndjson_lines
from eventstream.adapters._pipeline import (
    encoded_stream,
    ndjson_line,
    ndjson_stream,
    sse_frame,
    sse_stream,
    stream_websocket,
    ws_message,
)
from eventstream.adapters._protocol import Encoded, ProtocolStream, WireProtocol
from eventstream.adapters._query import (
    SELECTION_PARAMS,
    QueryError,
    parse_resume,
    parse_selection,
)
from eventstream.adapters._redis import RedisRunRegistry
from eventstream.adapters._registry import (
    DEFAULT_BUFFER_BYTES,
    DEFAULT_BUFFER_SIZE,
    DEFAULT_MAX_FINISHED,
    DEFAULT_MAX_RUNS,
    RUN_SOURCES,
    BaseRunRegistry,
    RegistryUnavailableError,
    RunInfo,
    RunSource,
    TooManyRunsError,
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
from eventstream.adapters._signals import Done, Failure, Gap, Item, Signal
from eventstream.adapters._sse import (
    SSE_HEADERS,
    SSE_MEDIA_TYPE,
    sse_comment,
    sse_frames,
    sse_message,
    sse_retry,
)
from eventstream.adapters._starlette import (
    ag_ui_response,
    asubscribe_request,
    ndjson_response,
    sse_response,
    subscribe_request,
    ui_message_stream_response,
)
from eventstream.adapters._ui import (
    FAILED_MESSAGE,
    TOOL_FAILED_MESSAGE,
    UIProtocol,
)
from eventstream.adapters._websocket import CLOSE_DONE, CLOSE_FAILED, websocket_session

__all__ = [
    "AGUI_PROTOCOL_VERSION",
    "CLOSE_DONE",
    "CLOSE_FAILED",
    "DEFAULT_BUFFER_BYTES",
    "DEFAULT_BUFFER_SIZE",
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_FINISHED",
    "DEFAULT_MAX_RUNS",
    "FAILED_MESSAGE",
    "NDJSON_MEDIA_TYPE",
    "RUN_SOURCES",
    "SELECTION_PARAMS",
    "SSE_HEADERS",
    "SSE_MEDIA_TYPE",
    "TOOL_FAILED_MESSAGE",
    "UI_MESSAGE_STREAM_HEADERS",
    "AGUIProtocol",
    "BaseRunRegistry",
    "ConversationError",
    "Done",
    "Encoded",
    "EventProtocol",
    "Failure",
    "Gap",
    "IdlePolicy",
    "Item",
    "ProtocolStream",
    "QueryError",
    "RedisRunRegistry",
    "RegistryUnavailableError",
    "RequestBodyLimit",
    "Run",
    "RunFailedError",
    "RunInfo",
    "RunRegistry",
    "RunSource",
    "RunStatus",
    "Signal",
    "Subscription",
    "TooManyRunsError",
    "UIMessageStreamProtocol",
    "UIProtocol",
    "UnknownRunError",
    "WireProtocol",
    "ag_ui_response",
    "as_subscription",
    "asubscribe_request",
    "encoded_stream",
    "item_to_json",
    "messages_from_ag_ui",
    "messages_from_ui_messages",
    "ndjson_line",
    "ndjson_lines",
    "ndjson_response",
    "ndjson_stream",
    "parse_resume",
    "parse_selection",
    "sse_comment",
    "sse_frame",
    "sse_frames",
    "sse_message",
    "sse_response",
    "sse_retry",
    "sse_stream",
    "stream_websocket",
    "subscribe_request",
    "to_ag_ui",
    "to_ui_message_stream",
    "too_many_runs_response",
    "ui_message_stream_response",
    "websocket_session",
    "ws_message",
]
