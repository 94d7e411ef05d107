"""Registry → protocol → framing (``eventstream.adapters._pipeline``): the direction of the
dependencies, and what a client gets when the middle step cannot do its job."""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import pytest
from eventstream.adapters import (
    AGUIProtocol,
    RunRegistry,
    UIMessageStreamProtocol,
    ndjson_stream,
    sse_stream,
    stream_websocket,
)
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from eventstream import normalize, replay
from tests.test_adapters import SSEParser

from .conftest import FIXTURES

ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"

PROTOCOLS = {"_ui", "_agui", "_ai_sdk", "_native"}
FRAMINGS = {"_sse", "_ndjson", "_websocket"}
REGISTRIES = {"_registry", "_runs"}


def parse_sse(body: str) -> list[str]:
    """The data of each SSE message, as an ``EventSource`` dispatches them."""
    return [message.data for message in SSEParser().feed(body)]


def imports_of(module: str) -> set[str]:
    """The ``eventstream.adapters`` modules a module imports."""
    tree = ast.parse((ADAPTERS / f"{module}.py").read_text())
    names = {
        node.module.rsplit(".", 1)[-1]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module is not None
        and node.module.startswith("eventstream.adapters.")
    }
    return names


def test_data_flows_one_way_registry_protocol_framing() -> None:
    # The registries know no wire format: the interface, signals and each other only.
    for registry in REGISTRIES:
        assert imports_of(registry) <= REGISTRIES | {"_signals"}, registry
    for framing in FRAMINGS:
        assert imports_of(framing) <= {"_protocol"}, framing  # strings only
    for protocol in PROTOCOLS:
        assert imports_of(protocol) <= {"_protocol", "_signals", "_ui"}, protocol
    assert {"_runs", "_native", "_sse", "_ndjson", "_websocket"} <= imports_of("_pipeline")


def cat(name: str) -> Path:
    return next(p for p in FIXTURES if p.name == name)


async def test_a_stream_the_protocol_cannot_translate_ends_with_its_safe_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="eventstream.adapters")
    registry = RunRegistry()
    run = registry.start_events(normalize(replay(cat("cat_agent.v1.jsonl"))))
    protocol = AGUIProtocol(thread_id="t", run_id="r")  # v1 has no ancestry, no answer=
    frames = [f async for f in sse_stream(run.subscribe(), protocol=protocol)]
    events = [json.loads(data) for data in parse_sse("".join(frames))]
    assert [e["type"] for e in events] == ["RUN_STARTED", "RUN_ERROR"]
    assert "could not translate" in events[-1]["message"]
    assert "NoAncestryError" in caplog.text and "answer=Selector" in caplog.text
    await registry.aclose()


async def test_a_reader_that_lost_events_is_told_the_ui_cannot_rebuild_them() -> None:
    registry = RunRegistry(buffer_size=5)
    run = registry.start_events(normalize(replay(cat("cat_agent.v2.jsonl"))))
    await run.wait()
    frames = [f async for f in sse_stream(run.subscribe(), protocol=UIMessageStreamProtocol())]
    body = "".join(frames)
    chunks = [json.loads(data) for data in parse_sse(body) if data != "[DONE]"]
    assert chunks[-1]["type"] == "error" and "fell behind" in chunks[-1]["errorText"]
    assert body.endswith("data: [DONE]\n\n")
    await registry.aclose()


async def test_any_protocol_over_ndjson() -> None:
    registry = RunRegistry()
    run = registry.start_events(normalize(replay(cat("parallel_tools.v2.jsonl"))))
    protocol = AGUIProtocol(thread_id="t", run_id="r")
    lines = [line async for line in ndjson_stream(run.subscribe(), protocol=protocol)]
    events = [json.loads(line) for line in lines]
    assert events[0]["type"] == "RUN_STARTED" and events[-1]["type"] == "RUN_FINISHED"
    assert sum(e["type"] == "TOOL_CALL_RESULT" for e in events) == 3
    await registry.aclose()


def test_any_protocol_over_a_websocket_closes_1000_after_a_completed_run() -> None:
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        events = normalize(replay(cat("tool_error.v2.jsonl")))
        await stream_websocket(websocket, events, protocol=UIMessageStreamProtocol())

    chunks = []
    with (
        TestClient(app) as client,
        client.websocket_connect("/ws") as websocket,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        while True:
            chunks.append(json.loads(websocket.receive_text()))
    assert closed.value.code == 1000
    assert chunks[0] == {"type": "start"} and chunks[-1]["type"] == "finish"
    assert any(c["type"] == "tool-output-error" for c in chunks)
