"""``eventstream serve``: the demo service, a FastAPI app other services can copy.

``create_app()`` runs the cat agent on ``ChatOpenAI`` against a local
OpenAI-compatible server that streams scripted answers with a pause between frames
(no API key, no network), so the page visibly streams. The endpoints:

- ``POST /runs`` ``{"input": "<question>"}`` → ``201 {"run_id": ...}``: starts a run in
  the app's :class:`~eventstream.adapters.RunRegistry`.
- ``GET /runs/{run_id}/events``: the run as Server-Sent Events. Query parameters
  ``types``, ``tags``, ``names``, ``inside`` (also ``exclude_tags``, ``run_types``),
  comma-separated, select as :func:`eventstream.select` does; ``Last-Event-ID`` (or
  ``after=<seq>``) resumes.
- ``GET /runs/{run_id}/events.ndjson``: the same as NDJSON.
- ``WS /runs/{run_id}/ws``: the same over a WebSocket.
- ``POST /agui``: an AG-UI ``RunAgentInput`` in, the run's AG-UI events out (SSE), for
  AG-UI clients (``HttpAgent``, CopilotKit).
- ``POST /api/chat``: the body the AI SDK's ``DefaultChatTransport`` sends
  (``{id, messages, trigger}``) in, the run as a UI message stream out, for ``useChat``.
- ``GET /``: the page (``eventstream/static/index.html``).

The two chat endpoints run the conversation the client sends (its messages turned into
LangChain messages) in the registry like any run, so a client that goes away cancels
the run under the registry's idle policy. A malformed conversation is a 422 naming
where it is wrong.

``create_app(runnable_factory)`` serves any other runnable instead: the factory is
called once at startup, ``make_input`` turns the posted text into the runnable's input.
FastAPI and uvicorn come with ``pip install "eventstream[serve]"``.

This module does not use ``from __future__ import annotations``: FastAPI reads the
endpoints' annotations at runtime, and they name classes imported inside
:func:`create_app` (so that importing this module needs no FastAPI).
"""

import argparse
import contextlib
import functools
import importlib.resources
import sys
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from eventstream._demo import seconds
from eventstream.adapters import (
    ConversationError,
    RunRegistry,
    ag_ui_response,
    messages_from_ag_ui,
    messages_from_ui_messages,
    ndjson_response,
    sse_response,
    stream_websocket,
    subscribe_request,
    ui_message_stream_response,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "AGUIRunInput",
    "ChatRequest",
    "RunCreated",
    "RunRequest",
    "add_arguments",
    "create_app",
    "main",
]

INSTALL_HINT = 'eventstream serve needs FastAPI and uvicorn: pip install "eventstream[serve]"'

DEFAULT_DELAY = 0.05
"""Seconds between the scripted model's streamed frames: slow enough to watch."""


class RunRequest(BaseModel):
    """The body of ``POST /runs``."""

    input: str = Field(min_length=1, description="The user's question.")


class RunCreated(BaseModel):
    """The answer of ``POST /runs``."""

    run_id: str


class AGUIRunInput(BaseModel):
    """What ``POST /agui`` reads of an AG-UI ``RunAgentInput`` (other fields are kept)."""

    model_config = ConfigDict(extra="allow")

    threadId: str  # AG-UI's wire names
    runId: str
    messages: list[dict[str, Any]]


class ChatRequest(BaseModel):
    """The body of ``POST /api/chat``, as the AI SDK's ``DefaultChatTransport`` sends it."""

    model_config = ConfigDict(extra="allow")

    id: str
    messages: list[dict[str, Any]]
    trigger: str = "submit-message"
    messageId: str | None = None  # the AI SDK's wire name


def _as_messages(text: str) -> dict[str, Any]:
    return {"messages": [("user", text)]}


@functools.cache
def _page() -> str:
    return importlib.resources.files("eventstream").joinpath("static/index.html").read_text("utf-8")


def create_app(
    runnable_factory: Callable[[], Any] | None = None,
    *,
    registry: RunRegistry | None = None,
    make_input: Callable[[str], Any] = _as_messages,
    delay: float = DEFAULT_DELAY,
    heartbeat: float = 15.0,
) -> "FastAPI":
    """The demo app; with ``runnable_factory``, the same endpoints for another runnable.

    ``registry``: where runs live (its TTL and idle policy); a new default one when
    ``None``. ``delay``: the demo model's pause between frames. ``heartbeat``: seconds
    of silence before an SSE ``: ping``. At shutdown every run still going is
    cancelled and awaited.
    """
    try:
        from fastapi import FastAPI, HTTPException, Request, Response, WebSocket
        from fastapi.responses import HTMLResponse
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(INSTALL_HINT) from exc

    runs = registry if registry is not None else RunRegistry()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if runnable_factory is None:
                from eventstream.testing import CAT_SCRIPTS, OpenAIServer, openai_cat_agent

                server = await stack.enter_async_context(OpenAIServer(CAT_SCRIPTS, delay=delay))
                app.state.runnable = openai_cat_agent(server)
            else:
                app.state.runnable = runnable_factory()
            # Runs first (their model requests close), then the model server.
            stack.push_async_callback(runs.aclose)
            yield

    app = FastAPI(title="eventstream demo", lifespan=lifespan)
    app.state.registry = runs

    @app.post("/runs", status_code=201)
    async def start_run(body: RunRequest, response: Response) -> RunCreated:
        run = runs.start(app.state.runnable, make_input(body.input))
        response.headers["Location"] = f"/runs/{run.id}/events"
        return RunCreated(run_id=run.id)

    @app.get("/runs/{run_id}/events")
    async def events_sse(run_id: str, request: Request) -> Response:
        return sse_response(subscribe_request(runs, run_id, request), heartbeat=heartbeat)

    @app.get("/runs/{run_id}/events.ndjson")
    async def events_ndjson(run_id: str, request: Request) -> Response:
        return ndjson_response(subscribe_request(runs, run_id, request))

    @app.websocket("/runs/{run_id}/ws")
    async def events_ws(run_id: str, websocket: WebSocket) -> None:
        await stream_websocket(websocket, subscribe_request(runs, run_id, websocket))

    def conversation(read: Callable[[Any], list[Any]], messages: list[dict[str, Any]]) -> Any:
        try:
            return {"messages": read(messages)}
        except ConversationError as exc:
            raise HTTPException(status_code=422, detail=f"body.{exc}") from exc

    @app.post("/agui")
    async def agui(body: AGUIRunInput) -> Response:
        run = runs.start(app.state.runnable, conversation(messages_from_ag_ui, body.messages))
        return ag_ui_response(
            runs.subscribe(run.id), thread_id=body.threadId, run_id=body.runId, heartbeat=heartbeat
        )

    @app.post("/api/chat")
    async def chat(body: ChatRequest) -> Response:
        run = runs.start(app.state.runnable, conversation(messages_from_ui_messages, body.messages))
        return ui_message_stream_response(
            runs.subscribe(run.id), message_id=f"msg-{run.id}", heartbeat=heartbeat
        )

    @app.get("/", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        return HTMLResponse(_page())

    return app


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``eventstream serve``."""
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--delay",
        type=seconds,
        default=DEFAULT_DELAY,
        help=f"seconds between the demo model's streamed frames (default {DEFAULT_DELAY})",
    )
    parser.add_argument(
        "--when-idle",
        choices=["cancel", "finish"],
        default="cancel",
        help="when a run's last subscriber leaves: cancel it (after a grace period) "
        "or let it finish (default cancel)",
    )
    parser.add_argument("--log-level", default="info", help="uvicorn's log level (default info)")


def main(args: argparse.Namespace) -> int:
    """Serve the demo app with uvicorn until interrupted; the exit code."""
    try:
        import uvicorn
    except ImportError:
        sys.stderr.write(f"{INSTALL_HINT}\n")
        return 2
    try:
        app = create_app(delay=args.delay, registry=RunRegistry(when_idle=args.when_idle))
    except ImportError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    sys.stderr.write(f"eventstream serve: open http://{args.host}:{args.port}/\n")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
