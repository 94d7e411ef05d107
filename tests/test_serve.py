"""The demo service over real HTTP: uvicorn on a free 127.0.0.1 port, real clients.

uvicorn serves ``create_app`` in the test's event loop; the cat agent runs on
``ChatOpenAI`` against the local OpenAI-compatible server. httpx reads SSE (parsed by
the spec parser of ``test_adapters``) and NDJSON (with ``aiter_lines``, as backend
consumers do), ``websockets`` reads the WebSocket. The clients rebuild answers and
tool calls from plain JSON, the way a non-Python client would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from eventstream.adapters import RUN_SOURCES, RunRegistry, RunSource, sse_response
from fastapi import FastAPI, Response
from langchain.agents import create_agent
from langchain_core.callbacks import adispatch_custom_event
from langchain_core.runnables import RunnableConfig, RunnableLambda
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from eventstream import normalize
from eventstream._serve import add_arguments, create_app
from eventstream.testing import (
    ANSWER_TEXT,
    CAT_QUESTION,
    CAT_SCRIPTS,
    HIDING_SPOT,
    ITEMS_TEXT,
    MOOD_TEXT,
    Fail,
    OpenAIServer,
    ScriptedChatModel,
    Step,
    Text,
    chat_model,
    openai_cat_agent,
)
from tests.test_adapters import SSEParser

TOOL_ARGS = {
    "where_cat_is_hiding": {},
    "get_items": {"place": HIDING_SPOT},
    "cat_mood": {"spot": HIDING_SPOT},
}
TOOL_OUTPUTS = {"where_cat_is_hiding": HIDING_SPOT, "get_items": ITEMS_TEXT, "cat_mood": MOOD_TEXT}

Json = dict[str, Any]


@dataclass
class Served:
    url: str
    registry: RunRegistry
    baseline: set[asyncio.Task[Any]]
    """The tasks running once the server is up (uvicorn's own)."""

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30)

    async def tasks_left(self) -> set[asyncio.Task[Any]]:
        """Tasks beyond uvicorn's and the test's, once they had a chance to end."""
        current = asyncio.current_task()
        for _ in range(200):
            extra = {t for t in asyncio.all_tasks() if t is not current} - self.baseline
            if not extra:
                return extra
            await asyncio.sleep(0.01)
        return extra


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port in this loop; its base URL."""
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only
    # on sockets that say they are TCP; with it on, frames stall 20-40 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def demo(
    runnable_factory: Callable[[], Any], *, source: RunSource = "v2", **registry_options: Any
) -> AsyncIterator[Served]:
    registry = RunRegistry(**registry_options)
    async with serving(create_app(runnable_factory, registry=registry, source=source)) as url:
        current = asyncio.current_task()
        yield Served(url, registry, {t for t in asyncio.all_tasks() if t is not current})


@pytest.fixture
def cat_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(CAT_SCRIPTS, delay=0.01) as server:
        yield server


async def start(client: httpx.AsyncClient, question: str = CAT_QUESTION) -> str:
    response = await client.post("/runs", json={"input": question})
    assert response.status_code == 201, response.text
    run_id = response.json()["run_id"]
    assert isinstance(run_id, str)
    assert response.headers["location"] == f"/runs/{run_id}/events"
    return run_id


@dataclass
class Frame:
    event: str
    id: str
    data: Json


async def read_sse(
    client: httpx.AsyncClient,
    path: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    until: Callable[[Frame], bool] | None = None,
) -> list[Frame]:
    """SSE frames until the stream ends (or ``until`` says stop: then disconnect)."""
    frames: list[Frame] = []
    parser = SSEParser()
    async with client.stream("GET", path, params=params, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        async for text in response.aiter_text():
            for message in parser.feed(text):
                frame = Frame(message.event, message.last_event_id, json.loads(message.data))
                frames.append(frame)
                if until is not None and until(frame):
                    return frames
    return frames


def events(frames: list[Frame]) -> list[Json]:
    return [f.data for f in frames if f.event not in ("gap", "done", "error")]


async def read_every_transport(
    served: Served, client: httpx.AsyncClient, run_id: str
) -> tuple[list[Frame], list[Json], list[Json]]:
    """One run read to its end over SSE (frames), NDJSON (lines) and a WebSocket (messages)."""
    frames = await read_sse(client, f"/runs/{run_id}/events")
    async with client.stream("GET", f"/runs/{run_id}/events.ndjson") as response:
        lines = [json.loads(line) async for line in response.aiter_lines()]
    ws_url = served.url.replace("http://", "ws://") + f"/runs/{run_id}/ws"
    async with connect(ws_url) as websocket:
        messages = [json.loads(message) async for message in websocket]
    return frames, lines, messages


def answer_of(items: list[Json]) -> str:
    return "".join(e["text"] for e in items if e["type"] == "token" and "agent_llm" in e["tags"])


def check_cat_run(items: list[Json]) -> None:
    """The whole cat run, rebuilt from plain JSON: answer, tool calls, tool results."""
    assert [e["seq"] for e in items] == list(range(len(items)))
    assert answer_of(items) == ANSWER_TEXT
    calls = {e["name"]: e["args"] for e in items if e["type"] == "tool_call"}
    assert calls == TOOL_ARGS
    streamed: dict[tuple[str, int], list[str]] = {}
    names: dict[tuple[str, int], str] = {}
    for e in items:
        if e["type"] == "tool_call_chunk":
            key = (e["run_id"], e["index"])
            streamed.setdefault(key, []).append(e["args_delta"])
            names[key] = e["name"] or names.get(key, "")
    assert {names[k]: json.loads("".join(v)) for k, v in streamed.items()} == TOOL_ARGS
    ids = {e["tool_call_id"]: e["name"] for e in items if e["type"] == "tool_call"}
    results = {ids[e["tool_call_id"]]: e["output"] for e in items if e["type"] == "tool_result"}
    assert results == TOOL_OUTPUTS


def first_token(frame: Frame) -> bool:
    return frame.event == "token"


# -- each transport rebuilds the run -----------------------------------------------------


@pytest.mark.parametrize("source", RUN_SOURCES)
async def test_sse_client_rebuilds_the_answer_and_the_tool_calls(
    cat_server: OpenAIServer, source: RunSource
) -> None:
    async with (
        demo(lambda: openai_cat_agent(cat_server), source=source) as served,
        served.client() as client,
    ):
        run_id = await start(client)
        frames = await read_sse(client, f"/runs/{run_id}/events")
    items = events(frames)
    check_cat_run(items)
    assert [f.id for f in frames[:-1]] == [str(e["seq"]) for e in items]
    assert [f.event for f in frames[:-1]] == [e["type"] for e in items]
    assert frames[-1].event == "done"
    assert frames[-1].data == {"type": "done", "last_seq": len(items) - 1}


async def test_ndjson_client_rebuilds_the_answer_and_the_tool_calls(
    cat_server: OpenAIServer,
) -> None:
    async with demo(lambda: openai_cat_agent(cat_server)) as served, served.client() as client:
        run_id = await start(client)
        async with client.stream("GET", f"/runs/{run_id}/events.ndjson") as response:
            assert response.headers["content-type"] == "application/x-ndjson"
            lines = [json.loads(line) async for line in response.aiter_lines()]
    check_cat_run(lines[:-1])
    assert lines[-1] == {"type": "done", "last_seq": len(lines) - 2}


async def test_websocket_client_rebuilds_the_answer_and_the_tool_calls(
    cat_server: OpenAIServer,
) -> None:
    async with demo(lambda: openai_cat_agent(cat_server)) as served, served.client() as client:
        run_id = await start(client)
        ws_url = served.url.replace("http://", "ws://") + f"/runs/{run_id}/ws"
        async with connect(ws_url) as websocket:
            messages = [json.loads(message) async for message in websocket]
            assert websocket.close_code == 1000
    check_cat_run(messages[:-1])
    assert messages[-1] == {"type": "done", "last_seq": len(messages) - 2}


# -- many subscribers, selections, resume ------------------------------------------------


async def test_subscribers_with_different_selections_get_exactly_their_selection(
    cat_server: OpenAIServer,
) -> None:
    async with demo(lambda: openai_cat_agent(cat_server)) as served, served.client() as client:
        run_id = await start(client)
        path = f"/runs/{run_id}/events"
        full, answer_only, items_llm, items_tool = await asyncio.gather(
            read_sse(client, path),
            read_sse(client, path, params={"types": "token", "tags": "agent_llm"}),
            read_sse(client, path, params={"types": "token", "inside": "get_items"}),
            read_sse(client, path, params={"types": "tool_call,tool_result", "names": "get_items"}),
        )
    everything = events(full)
    check_cat_run(everything)
    # Each selection, worked out here from the full stream with plain JSON.
    expected_answer = [e for e in everything if e["type"] == "token" and "agent_llm" in e["tags"]]
    assert events(answer_only) == expected_answer
    assert answer_of(events(answer_only)) == ANSWER_TEXT
    (tool_run,) = [
        e["run_id"]
        for e in everything
        if e["type"] == "start" and e["run_type"] == "tool" and e["name"] == "get_items"
    ]
    expected_inside = [
        e
        for e in everything
        if e["type"] == "token" and (e["run_id"] == tool_run or tool_run in e["parent_ids"])
    ]
    assert events(items_llm) == expected_inside
    assert "".join(e["text"] for e in events(items_llm)) == ITEMS_TEXT
    assert [(e["type"], e["name"]) for e in events(items_tool)] == [
        ("tool_call", "get_items"),
        ("tool_result", "get_items"),
    ]
    for frames in (answer_only, items_llm, items_tool):
        assert frames[-1].data == full[-1].data == {"type": "done", "last_seq": len(everything) - 1}


async def test_reconnecting_with_last_event_id_mid_run_gets_no_duplicate_and_no_gap() -> None:
    with OpenAIServer(CAT_SCRIPTS, delay=0.03) as server:
        async with (
            demo(lambda: openai_cat_agent(server), when_idle="cancel", idle_grace=60) as served,
            served.client() as client,
        ):
            run_id = await start(client)
            path = f"/runs/{run_id}/events"
            before = await read_sse(client, path, until=lambda f: f.data["seq"] == 30)
            run = served.registry.get(run_id)
            for _ in range(500):  # the server notices the disconnect
                if run.subscribers == 0:
                    break
                await asyncio.sleep(0.01)
            assert run.subscribers == 0
            assert run.status == "running", "the reconnect must happen mid-run"
            after = await read_sse(client, path, headers={"Last-Event-ID": before[-1].id})
            assert served.registry.get(run_id).status == "completed"
        assert server.disconnects == 0
    assert after[0].data["seq"] == 31
    check_cat_run(events(before) + events(after))


async def test_a_stale_after_beyond_the_buffer_is_told_what_it_missed(
    cat_server: OpenAIServer,
) -> None:
    async with (
        demo(lambda: openai_cat_agent(cat_server), buffer_size=20) as served,
        served.client() as client,
    ):
        run_id = await start(client)
        await served.registry.get(run_id).wait()
        frames = await read_sse(client, f"/runs/{run_id}/events", params={"after": "3"})
    total = frames[-1].data["last_seq"] + 1
    assert frames[0].event == "gap"
    assert frames[0].data == {"type": "gap", "first": 4, "last": total - 21, "missed": total - 24}
    assert frames[0].id == str(total - 21)
    assert [e["seq"] for e in events(frames)] == list(range(total - 20, total))


# -- leaving: cancellation reaches the model's HTTP request ---------------------------------


async def test_a_client_leaving_mid_run_cancels_it_and_its_model_request() -> None:
    with OpenAIServer(CAT_SCRIPTS, delay=0.03) as server:
        async with (
            demo(lambda: openai_cat_agent(server), when_idle="cancel", idle_grace=0) as served,
            served.client() as client,
        ):
            run_id = await start(client)
            await read_sse(client, f"/runs/{run_id}/events", until=first_token)
            assert await asyncio.to_thread(server.wait_for_disconnect, 10)
            run = served.registry.get(run_id)
            await asyncio.wait_for(run.wait(), 10)
            assert run.status == "cancelled"
            assert await served.tasks_left() == set()
            late = await read_sse(client, f"/runs/{run_id}/events", params={"after": "1000"})
        assert late[-1].event == "error"
        assert late[-1].data == {
            "type": "error",
            "message": "the run was cancelled",
            "reason": "cancelled",
        }


async def test_a_websocket_client_closing_mid_run_cancels_it() -> None:
    with OpenAIServer(CAT_SCRIPTS, delay=0.03) as server:
        async with (
            demo(lambda: openai_cat_agent(server), when_idle="cancel", idle_grace=0) as served,
            served.client() as client,
        ):
            run_id = await start(client)
            ws_url = served.url.replace("http://", "ws://") + f"/runs/{run_id}/ws"
            async with connect(ws_url) as websocket:
                async for message in websocket:
                    if json.loads(message)["type"] == "token":
                        break
            assert await asyncio.to_thread(server.wait_for_disconnect, 10)
            run = served.registry.get(run_id)
            await asyncio.wait_for(run.wait(), 10)
            assert run.status == "cancelled"
            assert await served.tasks_left() == set()


async def test_with_when_idle_finish_a_client_leaving_lets_the_run_finish() -> None:
    with OpenAIServer(CAT_SCRIPTS, delay=0.01) as server:
        async with (
            demo(lambda: openai_cat_agent(server), when_idle="finish") as served,
            served.client() as client,
        ):
            run_id = await start(client)
            await read_sse(client, f"/runs/{run_id}/events", until=first_token)
            run = served.registry.get(run_id)
            await asyncio.wait_for(run.wait(), 30)
            assert run.status == "completed"
            check_cat_run(events(await read_sse(client, f"/runs/{run_id}/events")))
        assert server.disconnects == 0


async def test_the_one_line_endpoint_over_a_plain_stream_also_cancels_on_disconnect(
    cat_server: OpenAIServer,
) -> None:
    agent = openai_cat_agent(cat_server)
    app = FastAPI()

    @app.get("/chat")
    async def chat(q: str) -> Response:
        return sse_response(
            normalize(agent.astream_events({"messages": [("user", q)]}, version="v2"))
        )

    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        current = asyncio.current_task()
        baseline = {t for t in asyncio.all_tasks() if t is not current}
        frames = await read_sse(client, "/chat", params={"q": CAT_QUESTION})
        check_cat_run(events(frames))
        assert frames[-1].event == "done"

        await read_sse(client, "/chat", params={"q": CAT_QUESTION}, until=first_token)
        assert await asyncio.to_thread(cat_server.wait_for_disconnect, 10)
        for _ in range(200):
            left = {t for t in asyncio.all_tasks() if t is not current} - baseline
            if not left:
                break
            await asyncio.sleep(0.01)
        assert left == set()


# -- what reaches the client, whatever the text ---------------------------------------------


TRICKY: list[Step] = [
    Text("Hello\n\ndata: x"),
    Text("\r\nevent: done\r\n\r\n"),
    Text("id: 99\n\n: ping\n"),
    Text(" \u2028line\u2029separators\x85"),
]
TRICKY_TEXT = "".join(step.text for step in TRICKY if isinstance(step, Text))


async def test_a_token_with_sse_syntax_in_it_arrives_intact_over_every_transport() -> None:
    with OpenAIServer({"agent": [TRICKY]}) as server:
        async with (
            demo(lambda: create_agent(chat_model(server, "agent"), [])) as served,
            served.client() as client,
        ):
            run_id = await start(client, "say something tricky")
            frames, lines, messages = await read_every_transport(served, client, run_id)
    for items in (events(frames), lines[:-1], messages[:-1]):
        assert [e["seq"] for e in items] == list(range(len(items)))
        tokens = [e["text"] for e in items if e["type"] == "token"]
        assert tokens == [step.text for step in TRICKY if isinstance(step, Text)]
        assert "".join(tokens) == TRICKY_TEXT
    assert frames[-1].event == "done"
    assert {f.event for f in frames} <= {"start", "token", "end", "done"}


class NoStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")


async def test_an_event_json_cannot_carry_as_it_is_arrives_over_every_transport() -> None:
    # Lone surrogates in a token, a cycle and a value whose str() raises once cut SSE and
    # NDJSON mid-body and closed the WebSocket with 1006, again on every reconnect.
    async def odd(inputs: dict[str, Any], config: RunnableConfig) -> Any:
        loop: list[Any] = []
        loop.append(loop)
        await adispatch_custom_event("odd", {"loop": loop, "bad": NoStr()}, config=config)
        return inputs["messages"]

    model = ScriptedChatModel(turns=[[Text("a\ud800b"), Text(" fine")]])
    async with (
        demo(lambda: RunnableLambda(odd) | model) as served,
        served.client() as client,
    ):
        run_id = await start(client, "anything")
        frames, lines, messages = await read_every_transport(served, client, run_id)
        custom = next(f for f in frames if f.event == "custom")
        resumed = await read_sse(
            client, f"/runs/{run_id}/events", headers={"Last-Event-ID": str(int(custom.id) - 1)}
        )
    bad = f"<unserializable {__name__}.NoStr>"
    assert custom.data["data"] == {"loop": ["<cycle>"], "bad": bad}
    assert frames[-1].event == "done"
    assert lines[-1]["type"] == messages[-1]["type"] == "done"
    assert events(frames) == lines[:-1] == messages[:-1]
    tokens = [e["text"] for e in events(frames) if e["type"] == "token"]
    assert tokens == ["a\ufffdb", " fine"]
    assert [f.event for f in resumed][:1] == ["custom"]
    assert resumed[-1].event == "done"


async def test_a_failing_model_ends_the_stream_with_a_safe_error_frame(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="eventstream.adapters")
    failing: list[Step] = [Fail("secret-key-123 in /srv/app/settings.py")]
    with OpenAIServer({"agent": [failing]}) as server:
        async with (
            demo(lambda: create_agent(chat_model(server, "agent"), [])) as served,
            served.client() as client,
        ):
            run_id = await start(client)
            async with client.stream("GET", f"/runs/{run_id}/events") as response:
                body = (await response.aread()).decode()
    (*_, last) = SSEParser().feed(body)
    assert last.event == "error"
    assert json.loads(last.data) == {
        "type": "error",
        "message": "the run failed; the server log has the details",
        "reason": "failed",
    }
    assert "secret-key-123" not in body and "Traceback" not in body and ".py" not in body
    assert "secret-key-123" in caplog.text and "Traceback" in caplog.text


# -- the edges of the API -------------------------------------------------------------------


async def test_unknown_runs_bad_queries_and_bad_bodies_get_clear_answers(
    cat_server: OpenAIServer,
) -> None:
    async with demo(lambda: openai_cat_agent(cat_server)) as served, served.client() as client:
        for path in ("/runs/nope/events", "/runs/nope/events.ndjson"):
            response = await client.get(path)
            assert response.status_code == 404
            assert "no run 'nope'" in response.json()["detail"]
        run_id = await start(client)
        response = await client.get(f"/runs/{run_id}/events", params={"types": "tokens"})
        assert response.status_code == 400
        assert response.json()["detail"].startswith("types: unknown event type(s) tokens")
        response = await client.get(f"/runs/{run_id}/events", headers={"Last-Event-ID": "x"})
        assert response.status_code == 400
        assert response.json()["detail"].startswith("Last-Event-ID: expected the seq")
        assert (await client.post("/runs", json={"input": ""})).status_code == 422
        assert (await client.post("/runs", json={"question": "hi"})).status_code == 422
        with pytest.raises(InvalidStatus):
            async with connect(served.url.replace("http://", "ws://") + "/runs/nope/ws"):
                pass
        await served.registry.get(run_id).wait()


async def test_the_page_is_served_at_the_root(cat_server: OpenAIServer) -> None:
    async with demo(lambda: openai_cat_agent(cat_server)) as served, served.client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "new EventSource(" in response.text


# -- `eventstream serve`: the default app, as the command line starts it ----------------------

SERVE = """
import argparse, sys
from eventstream._serve import add_arguments, main
parser = argparse.ArgumentParser(prog="eventstream serve")
add_arguments(parser)
sys.exit(main(parser.parse_args(sys.argv[1:])))
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_defaults_to_loopback_port_8000() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.when_idle) == ("127.0.0.1", 8000, "cancel")
    assert args.source == "v2"
    assert parser.parse_args(["--source", "modes"]).source == "modes"
    args = parser.parse_args(["--host", "0.0.0.0", "--port", "9001", "--when-idle", "finish"])
    assert (args.host, args.port, args.when_idle) == ("0.0.0.0", 9001, "finish")


async def test_serve_runs_the_demo_app_on_the_given_port_until_interrupted() -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SERVE,
        "--port",
        str(port),
        "--delay",
        "0",
        "--log-level",
        "warning",
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            run_id = await start(client)
            frames = await read_sse(client, f"/runs/{run_id}/events")
        check_cat_run(events(frames))
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert f"open http://127.0.0.1:{port}/" in stderr.decode()


def test_serve_tunes_the_garbage_collector_and_an_app_of_yours_is_left_alone(
    cat_server: OpenAIServer,
) -> None:
    from fastapi.testclient import TestClient

    saved = gc.get_threshold()
    try:
        with TestClient(create_app(lambda: openai_cat_agent(cat_server))):
            assert gc.get_threshold() == saved
        with TestClient(create_app(lambda: openai_cat_agent(cat_server), tune_gc=True)):
            # What startup made is out of the collector's passes; young passes are rarer.
            assert gc.get_freeze_count() > 10_000
            assert gc.get_threshold()[0] == 20_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)


# -- limits: 413, 429, and the status and cancel endpoints ---------------------------------


JSON = {"content-type": "application/json"}


async def test_a_body_over_max_body_is_refused_with_413_at_the_bound(
    cat_server: OpenAIServer,
) -> None:
    registry = RunRegistry()
    app = create_app(lambda: openai_cat_agent(cat_server), registry=registry, max_body=100)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        fits = json.dumps({"input": "x" * (100 - len('{"input": ""}'))})
        assert len(fits) == 100
        response = await client.post("/runs", content=fits, headers=JSON)
        assert response.status_code == 201
        await registry.ajoin(response.json()["run_id"])
        over = json.dumps({"input": "x" * (101 - len('{"input": ""}'))})
        response = await client.post("/runs", content=over, headers=JSON)
        assert response.status_code == 413
        assert "more than 100 bytes" in response.json()["detail"]

        async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
            yield over[:50].encode()
            yield over[50:].encode()

        response = await client.post("/runs", content=chunked(), headers=JSON)
        assert response.status_code == 413
        assert "more than 100 bytes" in response.json()["detail"]
        assert len(registry) == 1


async def test_one_run_over_max_runs_is_refused_with_429_and_retry_after() -> None:
    with OpenAIServer(CAT_SCRIPTS, delay=0.05) as server:
        async with (
            demo(lambda: openai_cat_agent(server), max_runs=3) as served,
            served.client() as client,
        ):
            ids = [await start(client) for _ in range(3)]
            refused = await client.post("/runs", json={"input": CAT_QUESTION})
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "1"
            assert "3 are running" in refused.json()["detail"]
            cancelled = await client.delete(f"/runs/{ids[0]}")
            assert cancelled.json() == {"run_id": ids[0], "cancelled": True}
            await served.registry.ajoin(ids[0])
            ids.append(await start(client))  # a place freed
            info = (await client.get(f"/runs/{ids[0]}")).json()
            assert info["status"] == "cancelled" and info["id"] == ids[0]
            assert (await client.get("/runs/nope")).status_code == 404
            assert (await client.delete("/runs/nope")).status_code == 404
            for run_id in ids[1:]:
                await client.delete(f"/runs/{run_id}")


def test_serve_limits_default_and_are_checked() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.max_body, args.max_runs, args.max_finished) == (1024 * 1024, 1000, 1000)
    assert (args.buffer_events, args.buffer_bytes, args.ttl) == (10_000, 4 * 1024 * 1024, 600.0)
    assert args.redis is None
    with pytest.raises(SystemExit):
        parser.parse_args(["--max-runs", "0"])


def test_a_limit_that_is_no_number_is_refused_in_the_users_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--max-runs", "abc"])
    error = capsys.readouterr().err
    assert "argument --max-runs: expected a whole number >= 1, got abc" in error
    assert "_positive" not in error
