"""The AI SDK's UI message stream out (``eventstream.adapters._ai_sdk``), read by ``ai``.

Whole streams go through the ``ai`` package's own client code: ``DefaultChatTransport``
(the request ``useChat`` sends; the response parsed by ``parseJsonEventStream`` with the
UI message chunk schema) and ``readUIMessageStream`` (the assistant message rebuilt,
snapshot by snapshot): live against the demo service's ``POST /api/chat`` on uvicorn,
and offline on every shipped recording and on each edge case.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from eventstream.adapters import (
    FAILED_MESSAGE,
    TOOL_FAILED_MESSAGE,
    RunRegistry,
    UIMessageStreamProtocol,
    to_ui_message_stream,
)

from eventstream import normalize, replay
from eventstream._serve import create_app
from eventstream.testing import (
    ANSWER_TEXT,
    CAT_SCRIPTS,
    Fail,
    OpenAIServer,
    Text,
    openai_cat_agent,
    reasoning,
    text,
    tool_call,
)
from tests.test_serve import serving

from .clients import Json, no_nulls, run_clients, sse_body
from .conftest import (
    FIXTURES,
    TOOL_ARGS,
    TOOL_INNER_TEXT,
    TOOL_OUTPUTS,
    USER,
    answer_for,
    recorded_events,
    run_sync,
    scripted_events,
)

HEADERS = {"x-vercel-ai-ui-message-stream": "v1"}


def chunks_of(
    events: list[Any], *, raised: BaseException | None = None, **options: Any
) -> list[Json]:
    protocol = UIMessageStreamProtocol(**options)
    out = [chunk for event in events for chunk in protocol.feed(event)]
    return out + (protocol.fail(raised) if raised is not None else protocol.close())


def tool_parts(message: Json) -> dict[str, Json]:
    return {
        p["type"].removeprefix("tool-"): p
        for p in message["parts"]
        if p["type"].startswith("tool-")
    }


def answer_of(message: Json) -> str:
    return "".join(p["text"] for p in message["parts"] if p["type"] == "text")


def check_cat_message(result: Json) -> None:
    """The cat run as useChat shows it: answer, three tool parts, tool text as progress only."""
    assert result["ok"], result["error"]
    assert result["errors"] == [] and result["warnings"] == []
    message = result["message"]
    assert answer_of(message) == ANSWER_TEXT
    parts = tool_parts(message)
    assert {name: p["input"] for name, p in parts.items()} == TOOL_ARGS
    assert {name: p["output"] for name, p in parts.items()} == TOOL_OUTPUTS
    assert {p["state"] for p in parts.values()} == {"output-available"}
    assert not any(p.get("preliminary") for p in parts.values())
    # While streaming: each tool's own LLM text showed as its preliminary output, growing,
    # and never in the answer.
    for name, inner in TOOL_INNER_TEXT.items():
        shown = [
            tool_parts(s)[name]["output"]
            for s in result["snapshots"]
            if tool_parts(s).get(name, {}).get("preliminary")
        ]
        assert shown, f"no progress shown for {name}"
        assert all(inner.startswith(s) for s in shown) and shown[-1] == inner
    for snapshot in result["snapshots"]:
        assert ANSWER_TEXT.startswith(answer_of(snapshot))
    steps = [p for p in message["parts"] if p["type"] == "step-start"]
    assert len(steps) == 3  # the agent's three model turns


# -- the real client against the demo service -----------------------------------------------


async def test_use_chat_transport_runs_the_cat_agent_through_post_api_chat(
    cat_server: OpenAIServer,
) -> None:
    app = create_app(lambda: openai_cat_agent(cat_server), registry=RunRegistry())
    user = {"id": "user-1", "role": "user", "parts": [{"type": "text", "text": USER}]}
    async with serving(app) as url:
        [result] = await run_clients(
            [{"client": "ai-sdk", "url": f"{url}/api/chat", "messages": [user]}]
        )
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            raw = await client.post(
                "/api/chat", json={"id": "c", "messages": [user], "trigger": "submit-message"}
            )
    assert result["status"] == 200
    assert result["headers"]["x-vercel-ai-ui-message-stream"] == "v1"
    assert result["headers"]["content-type"].startswith("text/event-stream")
    check_cat_message(result)
    assert result["message"]["id"].startswith("msg-")
    chunks = result["chunks"]
    assert chunks[0]["type"] == "start" and chunks[-1] == {"type": "finish", "finishReason": "stop"}
    assert raw.text.endswith("data: [DONE]\n\n")


async def test_a_client_leaving_post_api_chat_mid_run_cancels_the_run() -> None:
    with OpenAIServer(CAT_SCRIPTS, delay=0.03) as server:
        registry = RunRegistry(when_idle="cancel", idle_grace=0)
        app = create_app(lambda: openai_cat_agent(server), registry=registry)
        body = {
            "id": "c",
            "trigger": "submit-message",
            "messages": [{"id": "u", "role": "user", "parts": [{"type": "text", "text": USER}]}],
        }
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            async with client.stream("POST", "/api/chat", json=body) as response:
                assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
                async for line in response.aiter_lines():
                    if "tool-input-start" in line:
                        break
            assert await asyncio.to_thread(server.wait_for_disconnect, 10)
            [run] = registry.runs.values()
            await asyncio.wait_for(run.wait(), 10)
            assert run.status == "cancelled"


# -- every shipped recording ------------------------------------------------------------------


@pytest.fixture(scope="module")
def recordings() -> dict[str, tuple[list[Json], Json]]:
    """Each recording's chunks, and what the real client made of them (one Node run)."""
    streams = {}
    for path in FIXTURES:
        events, raised = recorded_events(path)
        streams[path.name] = chunks_of(events, raised=raised, answer=answer_for(path))
    jobs = [
        {"client": "ai-sdk", "body": sse_body(stream, done=True), "headers": HEADERS}
        for stream in streams.values()
    ]
    results = run_sync(run_clients(jobs))
    return {name: (streams[name], result) for name, result in zip(streams, results, strict=True)}


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_every_recording_gives_chunks_the_client_accepts(
    path: Path, recordings: dict[str, tuple[list[Json], Json]]
) -> None:
    stream, result = recordings[path.name]
    assert all(no_nulls(chunk) == [] for chunk in stream)
    assert result["ok"], result["error"]
    assert result["warnings"] == []
    assert result["chunks"] == stream  # every chunk passed the schema, unchanged
    if path.name == "tool_crash.v2.jsonl":
        assert result["errors"] == [f"Error: {FAILED_MESSAGE}"]
    else:
        assert result["errors"] == []


def test_the_cat_recording_rebuilds_the_message_with_tool_progress(
    recordings: dict[str, tuple[list[Json], Json]],
) -> None:
    check_cat_message(recordings["cat_agent.v2.jsonl"][1])


@pytest.mark.parametrize("name", ["cat_agent.v1.jsonl", "cat_agent.log.jsonl"])
def test_sources_without_ancestry_give_the_same_message_without_progress(
    name: str, recordings: dict[str, tuple[list[Json], Json]]
) -> None:
    stream, result = recordings[name]
    assert answer_of(result["message"]) == ANSWER_TEXT
    parts = tool_parts(result["message"])
    assert {n: p["output"] for n, p in parts.items()} == TOOL_OUTPUTS
    assert not any(c.get("preliminary") for c in stream)


def test_tool_errors_handled_and_raised(recordings: dict[str, tuple[list[Json], Json]]) -> None:
    handled = tool_parts(recordings["tool_error.v2.jsonl"][1]["message"])["lookup_order"]
    assert handled["state"] == "output-error"
    assert handled["errorText"] == "order A-17 does not exist"
    stream, result = recordings["tool_crash.v2.jsonl"]
    crashed = tool_parts(result["message"])["read_sensor"]
    assert (crashed["state"], crashed["errorText"]) == ("output-error", TOOL_FAILED_MESSAGE)
    assert stream[-1] == {"type": "error", "errorText": FAILED_MESSAGE}
    assert "offline" not in json.dumps(stream)


def test_parallel_calls_whose_fragments_interleave_each_stay_whole(
    recordings: dict[str, tuple[list[Json], Json]],
) -> None:
    parts = [
        p
        for p in recordings["parallel_tools.v2.jsonl"][1]["message"]["parts"]
        if p["type"] == "tool-get_weather"
    ]
    assert [p["input"] for p in parts] == [{"city": "Paris"}, {"city": "Tokyo"}, {"city": "Lima"}]
    assert [p["output"] for p in parts] == [
        "Paris: 18°C, light rain",
        "Tokyo: 24°C, clear",
        "Lima: 21°C, cloudy",
    ]


# -- edge cases, through the real client ------------------------------------------------------


async def check_with_client(stream: list[Json], *, errors: tuple[str, ...] = ()) -> Json:
    """The client applies every chunk: no schema or ordering error, only ``errors``."""
    assert all(no_nulls(chunk) == [] for chunk in stream)
    [result] = await run_clients(
        [{"client": "ai-sdk", "body": sse_body(stream, done=True), "headers": HEADERS}]
    )
    assert result["ok"], result["error"]
    assert result["warnings"] == []
    assert result["errors"] == list(errors)
    return result


async def test_a_tool_call_sent_in_one_chunk_still_gives_its_input() -> None:
    events = await scripted_events([list(tool_call("lookup", {"id": 7}, id="call_1", pieces=0))])
    stream = chunks_of(events)
    deltas = [c for c in stream if c["type"] == "tool-input-delta"]
    assert deltas == [
        {"type": "tool-input-delta", "toolCallId": "call_1", "inputTextDelta": '{"id": 7}'}
    ]
    result = await check_with_client(stream)
    part = tool_parts(result["message"])["lookup"]
    assert (part["state"], part["input"]) == ("input-available", {"id": 7})
    assert stream[-1] == {"type": "finish", "finishReason": "tool-calls"}


async def test_reasoning_blocks_become_a_reasoning_part_before_the_text() -> None:
    turn = [*reasoning("Cats like warm places."), *text("The basket.")]
    result = await check_with_client(
        chunks_of(await scripted_events([turn], content_format="blocks"))
    )
    kinds = [(p["type"], p.get("text")) for p in result["message"]["parts"]]
    assert kinds == [
        ("step-start", None),
        ("reasoning", "Cats like warm places."),
        ("text", "The basket."),
    ]


async def test_a_run_failing_mid_text_ends_with_a_safe_error_chunk() -> None:
    from langchain.agents import create_agent

    from eventstream.testing import ScriptedChatModel

    turn = [Text("Hello"), Text(" wor"), Fail("secret-key-123 in settings.py")]
    agent = create_agent(ScriptedChatModel(turns=[turn]), [], name="failing")
    raw = agent.astream_events({"messages": [("user", "hi")]}, version="v2")
    stream: list[Json] = []
    with pytest.raises(RuntimeError, match="secret-key-123"):
        async for chunk in to_ui_message_stream(normalize(raw)):
            stream.append(chunk)
    assert stream[-1] == {"type": "error", "errorText": FAILED_MESSAGE}
    assert "secret" not in json.dumps(stream)
    result = await check_with_client(stream, errors=(f"Error: {FAILED_MESSAGE}",))
    assert answer_of(result["message"]) == "Hello wor"


def test_a_cancelled_stream_aborts_and_a_lost_one_fails() -> None:
    from eventstream.adapters import Failure, Gap

    protocol = UIMessageStreamProtocol(message_id="m1")
    assert protocol.control(Failure(message="x", reason="cancelled")) == [
        {"type": "start", "messageId": "m1"},
        {"type": "abort", "reason": "the run was cancelled"},
    ]
    lost = UIMessageStreamProtocol().control(Gap(first=3, last=9))
    assert lost[-1]["type"] == "error" and "fell behind" in lost[-1]["errorText"]


def test_to_ui_message_stream_iterates_as_its_input_sync_or_async() -> None:
    path = FIXTURES[0].with_name("parallel_tools.v2.jsonl")
    sync = list(to_ui_message_stream(normalize(replay(path)), message_id="m"))

    async def read() -> list[Json]:
        return [c async for c in to_ui_message_stream(normalize(replay(path)), message_id="m")]

    assert asyncio.run(read()) == sync
    assert sync[0] == {"type": "start", "messageId": "m"}


async def test_an_answer_tool_s_argument_is_the_assistant_text() -> None:
    # Seed 001's agent answers through a final_answer tool: with answer= an AnswerReader
    # for it, the UI shows that argument as the assistant's text, streamed as it is
    # written, and no final_answer tool part; the agent's own words before it stay out.
    from eventstream import AnswerReader
    from eventstream.testing import (
        MATH_ANSWER,
        MATH_INTRO,
        MATH_SCRIPTS,
        ScriptedChatModel,
        build_math_agent,
    )

    agent = build_math_agent(lambda role: ScriptedChatModel(turns=MATH_SCRIPTS[role]))
    raw = agent.astream_events({"messages": [("user", "10 + 10?")]}, version="v2")
    events = [e async for e in normalize(raw, strict=True)]
    chunks = chunks_of(events, answer=AnswerReader(tool="final_answer", field="answer"))
    deltas = [c["delta"] for c in chunks if c["type"] == "text-delta"]
    assert "".join(deltas) == MATH_ANSWER and len(deltas) > 3
    assert MATH_INTRO not in "".join(deltas)
    assert not [c for c in chunks if c.get("toolName") == "final_answer"]
    [result] = await run_clients(
        [{"client": "ai-sdk", "body": sse_body(chunks, done=True), "headers": HEADERS}]
    )
    assert result["ok"], result["error"]
    assert answer_of(result["message"]) == MATH_ANSWER
    assert "final_answer" not in tool_parts(result["message"])
    assert "add" in tool_parts(result["message"])
