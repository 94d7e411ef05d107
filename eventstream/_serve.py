"""``eventstream serve``: the demo service, a FastAPI app other services can copy.

``create_app()`` runs the cat agent on ``ChatOpenAI`` against a local
OpenAI-compatible server that streams scripted answers with a pause between frames
(no API key, no network), so the page visibly streams. The endpoints:

- ``POST /runs`` ``{"input": "<question>"}`` → ``201 {"run_id": ...}``: starts a run in
  the app's registry (:class:`~eventstream.adapters.RunRegistry`, or
  :class:`~eventstream.adapters.RedisRunRegistry` with ``--redis``). ``429`` with
  ``Retry-After`` when ``max_runs`` runs are running; ``413`` for a body over
  ``max_body`` bytes (on every endpoint).
- ``GET /runs/{run_id}``: the run's status (``RunInfo`` as JSON).
- ``DELETE /runs/{run_id}``: cancels the run, wherever it runs →
  ``{"run_id": ..., "cancelled": true}`` (``false``: it had already finished).
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

With ``--redis redis://HOST:PORT/DB`` several ``eventstream serve`` processes on one
Redis act as one service: a run started on one is readable, resumable and cancellable
on every other (see ``eventstream.adapters._redis``).

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
import asyncio
import contextlib
import dataclasses
import functools
import gc
import importlib.resources
import sys
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from eventstream._demo import seconds
from eventstream.adapters import (
    DEFAULT_MAX_BODY,
    RUN_SOURCES,
    BaseRunRegistry,
    ConversationError,
    RegistryUnavailableError,
    RequestBodyLimit,
    RunRegistry,
    RunSource,
    TooManyRunsError,
    UnknownRunError,
    ag_ui_response,
    asubscribe_request,
    messages_from_ag_ui,
    messages_from_ui_messages,
    ndjson_response,
    sse_response,
    stream_websocket,
    too_many_runs_response,
    ui_message_stream_response,
)
from eventstream.adapters._redis import safe_url
from eventstream.adapters._registry import (
    DEFAULT_BUFFER_BYTES,
    DEFAULT_BUFFER_SIZE,
    DEFAULT_MAX_FINISHED,
    DEFAULT_MAX_RUNS,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "AGUIRunInput",
    "ChatRequest",
    "RunCancelled",
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


class RunCancelled(BaseModel):
    """The answer of ``DELETE /runs/{run_id}``."""

    run_id: str
    cancelled: bool
    """``False`` when the run had already finished."""


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
    registry: BaseRunRegistry | None = None,
    make_input: Callable[[str], Any] = _as_messages,
    delay: float = DEFAULT_DELAY,
    heartbeat: float = 15.0,
    max_body: int = DEFAULT_MAX_BODY,
    source: RunSource = "v2",
    tune_gc: bool = False,
) -> "FastAPI":
    """The demo app; with ``runnable_factory``, the same endpoints for another runnable.

    ``registry``: where runs live (in this process or on Redis; its TTL, idle policy
    and limits); a new default :class:`~eventstream.adapters.RunRegistry` when ``None``.
    ``delay``: the demo model's pause between frames. ``heartbeat``: seconds of silence
    before an SSE ``: ping``. ``max_body``: the largest request body, in bytes (``413``
    beyond). ``source``: how runs are streamed (``"v2"``: ``astream_events``;
    ``"modes"``: LangGraph's stream modes, the same events for less CPU). ``tune_gc``:
    :func:`collect_less` once started (``eventstream serve`` does). At startup the
    registry is opened (a Redis registry that cannot reach Redis fails the startup); at
    shutdown every run still going here is cancelled and awaited.
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
            await runs.open()
            # Closed first (the stack unwinds last in, first out): the runs are cancelled
            # and their model requests closed, then the model server stops.
            stack.push_async_callback(runs.aclose)
            if tune_gc:
                collect_less()
            yield

    app = FastAPI(title="eventstream demo", lifespan=lifespan)
    app.state.registry = runs
    app.add_middleware(RequestBodyLimit, max_bytes=max_body)
    app.add_exception_handler(TooManyRunsError, too_many_runs_response)

    async def unavailable(request: Request, exc: Exception) -> Response:
        from fastapi.responses import JSONResponse

        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "1"})

    app.add_exception_handler(RegistryUnavailableError, unavailable)

    def unknown(exc: UnknownRunError) -> HTTPException:
        return HTTPException(status_code=404, detail=str(exc))

    @app.post("/runs", status_code=201)
    async def start_run(body: RunRequest, response: Response) -> RunCreated:
        run_id = await runs.astart(app.state.runnable, make_input(body.input), source=source)
        response.headers["Location"] = f"/runs/{run_id}/events"
        return RunCreated(run_id=run_id)

    @app.get("/runs/{run_id}")
    async def run_info(run_id: str) -> dict[str, Any]:
        try:
            info = await runs.ainfo(run_id)
        except UnknownRunError as exc:
            raise unknown(exc) from exc
        return dataclasses.asdict(info)

    @app.delete("/runs/{run_id}")
    async def cancel_run(run_id: str) -> RunCancelled:
        try:
            return RunCancelled(run_id=run_id, cancelled=await runs.acancel(run_id))
        except UnknownRunError as exc:
            raise unknown(exc) from exc

    @app.get("/runs/{run_id}/events")
    async def events_sse(run_id: str, request: Request) -> Response:
        subscription = await asubscribe_request(runs, run_id, request)
        return sse_response(subscription, heartbeat=heartbeat)

    @app.get("/runs/{run_id}/events.ndjson")
    async def events_ndjson(run_id: str, request: Request) -> Response:
        return ndjson_response(await asubscribe_request(runs, run_id, request))

    @app.websocket("/runs/{run_id}/ws")
    async def events_ws(run_id: str, websocket: WebSocket) -> None:
        await stream_websocket(websocket, await asubscribe_request(runs, run_id, websocket))

    def conversation(read: Callable[[Any], list[Any]], messages: list[dict[str, Any]]) -> Any:
        try:
            return {"messages": read(messages)}
        except ConversationError as exc:
            raise HTTPException(status_code=422, detail=f"body.{exc}") from exc

    async def subscribe_or_cancel(run_id: str) -> Any:
        """The run's one reader; the run is cancelled when it cannot be had (a run nobody
        ever subscribed to would not be cancelled for being idle)."""
        try:
            return await runs.asubscribe(run_id)
        except BaseException:
            with contextlib.suppress(Exception):
                await runs.acancel(run_id)
            raise

    @app.post("/agui")
    async def agui(body: AGUIRunInput) -> Response:
        run_id = await runs.astart(
            app.state.runnable, conversation(messages_from_ag_ui, body.messages), source=source
        )
        return ag_ui_response(
            await subscribe_or_cancel(run_id),
            thread_id=body.threadId,
            run_id=body.runId,
            heartbeat=heartbeat,
        )

    @app.post("/api/chat")
    async def chat(body: ChatRequest) -> Response:
        run_id = await runs.astart(
            app.state.runnable,
            conversation(messages_from_ui_messages, body.messages),
            source=source,
        )
        return ui_message_stream_response(
            await subscribe_or_cancel(run_id), message_id=f"msg-{run_id}", heartbeat=heartbeat
        )

    @app.get("/", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        return HTMLResponse(_page())

    return app


def collect_less() -> None:
    """Tune Python's garbage collector for a process that serves runs: freeze what startup
    made (modules, the agent: it lives as long as the process, yet every full collection
    scans it again), and collect the young generation every 20,000 allocations instead of
    700 (a streaming agent allocates fast, and each young collection that finds little
    still costs a pass). Process-wide, so only ``eventstream serve`` does it.

    Measured with ``bench/load_sse.py`` (200 concurrent runs, one worker): time in the
    collector 4.8–5.9 s → 1.3–1.5 s, events delivered per second 942–999 → 1,218–1,331.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        msg = f"expected a whole number >= 1, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return number


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
    parser.add_argument(
        "--idle-grace",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="with --when-idle cancel: how long a run nobody reads may wait for a "
        "reader to come back (default 5)",
    )
    parser.add_argument(
        "--source",
        choices=RUN_SOURCES,
        default="v2",
        help="how runs are streamed: v2 (astream_events, any runnable) or modes "
        "(LangGraph's stream modes: the same events for less CPU) (default v2)",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="keep runs on Redis Streams (redis://HOST:PORT/DB), so several serve "
        "processes on one Redis act as one service (default: in this process)",
    )
    limits = parser.add_argument_group("limits")
    limits.add_argument(
        "--max-body",
        type=_positive,
        default=DEFAULT_MAX_BODY,
        metavar="BYTES",
        help=f"largest request body; 413 beyond (default {DEFAULT_MAX_BODY})",
    )
    limits.add_argument(
        "--max-runs",
        type=_positive,
        default=DEFAULT_MAX_RUNS,
        metavar="N",
        help=f"runs running at once in this process; 429 beyond (default {DEFAULT_MAX_RUNS})",
    )
    limits.add_argument(
        "--max-finished",
        type=int,
        default=DEFAULT_MAX_FINISHED,
        metavar="N",
        help="finished runs held for late readers, the oldest dropped first "
        f"(default {DEFAULT_MAX_FINISHED})",
    )
    limits.add_argument(
        "--buffer-events",
        type=_positive,
        default=DEFAULT_BUFFER_SIZE,
        metavar="N",
        help=f"events kept per run; a reader behind gets a gap (default {DEFAULT_BUFFER_SIZE})",
    )
    limits.add_argument(
        "--buffer-bytes",
        type=_positive,
        default=DEFAULT_BUFFER_BYTES,
        metavar="BYTES",
        help=f"bytes of event JSON kept per run (default {DEFAULT_BUFFER_BYTES})",
    )
    limits.add_argument(
        "--ttl",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="how long a finished run stays readable (default 600)",
    )
    parser.add_argument("--log-level", default="info", help="uvicorn's log level (default info)")


def make_registry(args: argparse.Namespace) -> BaseRunRegistry:
    """The registry ``eventstream serve`` runs on, from its options."""
    options: dict[str, Any] = {
        "when_idle": args.when_idle,
        "idle_grace": args.idle_grace,
        "max_runs": args.max_runs,
        "max_finished": args.max_finished,
        "buffer_size": args.buffer_events,
        "buffer_bytes": args.buffer_bytes,
        "ttl": args.ttl,
    }
    if args.redis is None:
        return RunRegistry(**options)
    from eventstream.adapters import RedisRunRegistry

    return RedisRunRegistry(args.redis, **options)


def main(args: argparse.Namespace, runnable_factory: Callable[[], Any] | None = None) -> int:
    """Serve the demo app (or ``runnable_factory``'s) with uvicorn until interrupted.

    The exit code: 2 when a dependency is missing or Redis cannot be reached.
    """
    try:
        import uvicorn
    except ImportError:
        sys.stderr.write(f"{INSTALL_HINT}\n")
        return 2
    try:
        registry = make_registry(args)
        if args.redis is not None:
            # Fail before serving, with the URL, not inside uvicorn's startup traceback.
            asyncio.run(_check_reachable(make_registry(args)))
        app = create_app(
            runnable_factory,
            delay=args.delay,
            registry=registry,
            max_body=args.max_body,
            source=args.source,
            tune_gc=True,
        )
    except (ImportError, ValueError, RegistryUnavailableError) as exc:
        sys.stderr.write(f"eventstream serve: {exc}\n")
        return 2
    where = f", runs on Redis at {safe_url(args.redis)}" if args.redis is not None else ""
    sys.stderr.write(f"eventstream serve: open http://{args.host}:{args.port}/{where}\n")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


async def _check_reachable(registry: BaseRunRegistry) -> None:
    await registry.open()
    await registry.aclose()
