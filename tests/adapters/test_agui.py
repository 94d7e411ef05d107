"""AG-UI out (``eventstream.adapters._agui``), checked by the protocol's own tools.

Every event is validated by the official ``ag-ui-protocol`` pydantic models, and whole
streams go through ``@ag-ui/client``'s ``HttpAgent.runAgent`` (schemas, then
``verifyEvents``' ordering rules, then the rebuilt conversation): live against the demo
service's ``POST /agui`` on uvicorn, and offline on every shipped recording and on each
edge case (one-chunk tool call, interleaved parallel calls, reasoning, a failing run).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from ag_ui.core import Event as AGUIEvent
from eventstream.adapters import (
    FAILED_MESSAGE,
    TOOL_FAILED_MESSAGE,
    AGUIProtocol,
    RunRegistry,
    to_ag_ui,
)
from pydantic import TypeAdapter

from eventstream import (
    End,
    NoAncestryError,
    Selector,
    Start,
    Token,
    ToolCall,
    ToolResult,
    normalize,
    replay,
)
from eventstream._serve import create_app
from eventstream.testing import (
    ANSWER_TEXT,
    CAT_SCRIPTS,
    Fail,
    OpenAIServer,
    Text,
    interleave,
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

AGUI_EVENT: TypeAdapter[Any] = TypeAdapter(AGUIEvent)


def agui(events: list[Any], *, raised: BaseException | None = None, **options: Any) -> list[Json]:
    """The AG-UI events of a stream (and of its source raising at the end)."""
    protocol = AGUIProtocol(thread_id="thread-1", run_id="run-1", **options)
    out = [message for event in events for message in protocol.feed(event)]
    return out + (protocol.fail(raised) if raised is not None else protocol.close())


def assert_valid(messages: list[Json]) -> None:
    """Each event is valid for the official models, with no ``null`` anywhere."""
    for message in messages:
        AGUI_EVENT.validate_python(message)
        assert no_nulls(message) == [], message


def conversation(result: Json) -> dict[str, Any]:
    """What the client rebuilt: answer, calls, results, tool progress, by tool name."""
    messages = result["messages"]
    assistant = [m for m in messages if m["role"] == "assistant"]
    names = {c["id"]: c["function"]["name"] for m in assistant for c in m.get("toolCalls", [])}
    return {
        "answer": "".join(m.get("content") or "" for m in assistant),
        "calls": {
            c["function"]["name"]: json.loads(c["function"]["arguments"])
            for m in assistant
            for c in m.get("toolCalls", [])
        },
        "results": {names[m["toolCallId"]]: m["content"] for m in messages if m["role"] == "tool"},
        "progress": {
            m["content"]["toolName"]: "".join(m["content"]["deltas"])
            for m in messages
            if m["role"] == "activity"
        },
    }


# -- the real client against the demo service -----------------------------------------------


async def test_http_agent_runs_the_cat_agent_through_post_agui(cat_server: OpenAIServer) -> None:
    app = create_app(lambda: openai_cat_agent(cat_server), registry=RunRegistry())
    async with serving(app) as url:
        [result] = await run_clients(
            [
                {
                    "client": "ag-ui",
                    "url": f"{url}/agui",
                    "threadId": "thread-7",
                    "runId": "run-7",
                    "messages": [{"id": "user-1", "role": "user", "content": USER}],
                }
            ]
        )
    assert result["ok"], result["error"]
    assert result["warnings"] == []
    assert result["headers"]["content-type"].startswith("text/event-stream")
    assert result["headers"]["cache-control"] == "no-cache"
    seen = conversation(result)
    assert seen["answer"] == ANSWER_TEXT
    assert seen["calls"] == TOOL_ARGS
    assert seen["results"] == TOOL_OUTPUTS
    # The tools' own LLM text is there, as each tool's progress, and nowhere else.
    assert seen["progress"] == TOOL_INNER_TEXT
    streamed = "".join(e["delta"] for e in result["events"] if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert streamed == ANSWER_TEXT
    events = result["events"]
    assert events[0] == {
        "type": "RUN_STARTED",
        "threadId": "thread-7",
        "runId": "run-7",
        "protocolVersion": "1.0",
    }
    assert events[-1]["type"] == "RUN_FINISHED"
    assert_valid(events)
    # The user's message kept its id; the assistant's are LangChain's message ids.
    assert result["messages"][0]["id"] == "user-1"
    assert all(m["id"].startswith("lc_run--") for m in result["messages"][1:])


async def test_a_client_leaving_post_agui_mid_run_cancels_the_run_and_its_model_request() -> None:
    with OpenAIServer(CAT_SCRIPTS, delay=0.03) as server:
        registry = RunRegistry(when_idle="cancel", idle_grace=0)
        app = create_app(lambda: openai_cat_agent(server), registry=registry)
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            body = {
                "threadId": "t",
                "runId": "r",
                "messages": [{"id": "u", "role": "user", "content": USER}],
            }
            async with client.stream("POST", "/agui", json=body) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                async for line in response.aiter_lines():
                    if "TOOL_CALL_START" in line:
                        break
            assert await asyncio.to_thread(server.wait_for_disconnect, 10)
            [run] = registry.runs.values()
            await asyncio.wait_for(run.wait(), 10)
            assert run.status == "cancelled"


async def test_a_malformed_conversation_is_a_422_naming_where(cat_server: OpenAIServer) -> None:
    app = create_app(lambda: openai_cat_agent(cat_server), registry=RunRegistry())
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        bad = {"threadId": "t", "runId": "r", "messages": [{"id": "u", "role": "robot"}]}
        response = await client.post("/agui", json=bad)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("body.messages[0].role: unknown role 'robot'")
        response = await client.post("/agui", json={"threadId": "t", "messages": []})
        assert response.status_code == 422


# -- every shipped recording ------------------------------------------------------------------


@pytest.fixture(scope="module")
def recordings() -> dict[str, tuple[list[Json], Json]]:
    """Each recording's AG-UI events, and what the real client made of them (one Node run)."""
    streams = {}
    for path in FIXTURES:
        events, raised = recorded_events(path)
        streams[path.name] = agui(events, raised=raised, answer=answer_for(path))
    jobs = [{"client": "ag-ui", "body": sse_body(stream)} for stream in streams.values()]
    results = run_sync(run_clients(jobs))
    return {name: (streams[name], result) for name, result in zip(streams, results, strict=True)}


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_every_recording_gives_valid_events_the_client_accepts(
    path: Path, recordings: dict[str, tuple[list[Json], Json]]
) -> None:
    stream, result = recordings[path.name]
    assert_valid(stream)
    assert result["ok"], result["error"]
    assert result["warnings"] == []
    assert [e["type"] for e in result["events"]] == [m["type"] for m in stream]


@pytest.mark.parametrize(
    "name", ["cat_agent.v2.jsonl", "cat_agent.v1.jsonl", "cat_agent.log.jsonl"]
)
def test_the_cat_recordings_rebuild_the_same_conversation(
    name: str, recordings: dict[str, tuple[list[Json], Json]]
) -> None:
    seen = conversation(recordings[name][1])
    assert seen["answer"] == ANSWER_TEXT
    assert seen["calls"] == TOOL_ARGS
    assert seen["results"] == TOOL_OUTPUTS
    if name.endswith(".v2.jsonl"):
        assert seen["progress"] == TOOL_INNER_TEXT
    else:  # without ancestry, a model's tool cannot be known: its text is not shown at all
        assert seen["progress"] == {}


def test_handled_and_raised_tool_errors(recordings: dict[str, tuple[list[Json], Json]]) -> None:
    handled = conversation(recordings["tool_error.v2.jsonl"][1])
    assert handled["results"] == {"lookup_order": "order A-17 does not exist"}
    assert handled["answer"] == "I could not find order A-17. Could you check the number?"
    stream, result = recordings["tool_crash.v2.jsonl"]
    assert conversation(result)["results"] == {"read_sensor": TOOL_FAILED_MESSAGE}
    assert stream[-1] == {"type": "RUN_ERROR", "message": FAILED_MESSAGE}
    assert "offline" not in json.dumps(stream)  # the exception's text stays server side


def test_an_agent_inside_a_tool_is_that_tool_call_s_progress(
    recordings: dict[str, tuple[list[Json], Json]],
) -> None:
    seen = conversation(recordings["nested_agent.v2.jsonl"][1])
    assert seen["calls"] == {"ask_cat_expert": {"question": USER}}
    assert seen["answer"] == "The expert says: laundry basket, with a sock, a towel and a hoodie."
    progress = recordings["nested_agent.v2.jsonl"][1]["messages"]
    inner = ["".join(m["content"]["deltas"]) for m in progress if m["role"] == "activity"]
    assert all(
        m["content"]["toolName"] == "ask_cat_expert" for m in progress if m["role"] == "activity"
    )
    assert set(inner) == {ANSWER_TEXT, *TOOL_INNER_TEXT.values()}


def test_parallel_calls_whose_fragments_interleave_each_stay_whole(
    recordings: dict[str, tuple[list[Json], Json]],
) -> None:
    stream, result = recordings["parallel_tools.v2.jsonl"]
    args = [e for e in stream if e["type"] == "TOOL_CALL_ARGS"]
    assert [e["toolCallId"] for e in args[:3]] == ["call_w0", "call_w1", "call_w2"]
    calls = [
        json.loads(c["function"]["arguments"])
        for m in result["messages"]
        if m["role"] == "assistant"
        for c in m.get("toolCalls", [])
    ]
    assert calls == [{"city": "Paris"}, {"city": "Tokyo"}, {"city": "Lima"}]


def test_without_ancestry_the_answer_selection_is_required() -> None:
    events, _ = recorded_events(FIXTURES[0].with_name("cat_agent.v1.jsonl"))
    with pytest.raises(NoAncestryError, match=r"^event 1 .*pass answer=Selector\(") as caught:
        agui(events)
    assert isinstance(caught.value, ValueError)


# -- edge cases, through the real client ------------------------------------------------------


async def check_with_client(stream: list[Json]) -> Json:
    assert_valid(stream)
    [result] = await run_clients([{"client": "ag-ui", "body": sse_body(stream)}])
    assert result["ok"], result["error"]
    assert result["warnings"] == []
    return result


async def test_a_tool_call_sent_in_one_chunk_still_gives_its_arguments() -> None:
    turns = [list(tool_call("lookup", {"id": 7}, id="call_1", pieces=0)), list(text("done"))]
    events = await scripted_events(turns[:1])
    stream = agui(events)
    args = [e for e in stream if e["type"] == "TOOL_CALL_ARGS"]
    assert args == [{"type": "TOOL_CALL_ARGS", "toolCallId": "call_1", "delta": '{"id": 7}'}]
    result = await check_with_client(stream)
    assert conversation(result)["calls"] == {"lookup": {"id": 7}}


def test_a_call_that_was_never_streamed_still_gives_its_arguments() -> None:
    events = [
        Start(seq=0, run_id="m", name="model", run_type="chat_model"),
        ToolCall(seq=1, run_id="m", run_type="chat_model", index=0, tool_call_id="c", name="f",
                 args={"x": 1}),
        End(seq=2, run_id="m", name="model", run_type="chat_model"),
    ]  # fmt: skip
    types = [(m["type"], m.get("delta")) for m in agui(events)]
    assert types[1:4] == [
        ("TOOL_CALL_START", None),
        ("TOOL_CALL_ARGS", '{"x": 1}'),
        ("TOOL_CALL_END", None),
    ]


def test_a_tool_result_of_text_blocks_is_their_text_and_anything_else_json() -> None:
    def result(output: Any) -> Json:
        events = [
            Start(seq=0, run_id="t", name="f", run_type="tool", tool_call_id="c"),
            ToolResult(seq=1, run_id="t", name="f", run_type="tool", tool_call_id="c",
                       output=output),
            End(seq=2, run_id="t", name="f", run_type="tool"),
        ]  # fmt: skip
        [message] = [m for m in agui(events) if m["type"] == "TOOL_CALL_RESULT"]
        return message

    blocks = [{"type": "text", "text": "one, "}, {"type": "text", "text": "two"}]
    assert result(blocks)["content"] == "one, two"
    assert result({"rows": [1, 2]})["content"] == '{"rows": [1, 2]}'
    # A tool run no model call announced (called by code) is announced at its start.
    assert result("x")["toolCallId"] == "c"


async def test_reasoning_blocks_become_a_reasoning_message_before_the_text() -> None:
    turn = [*reasoning("Cats like warm places."), *text("The basket.")]
    stream = agui(await scripted_events([turn], content_format="blocks"))
    kinds = [m["type"] for m in stream if m["type"] != "REASONING_MESSAGE_CONTENT"]
    assert kinds[1:5] == [
        "REASONING_START",
        "REASONING_MESSAGE_START",
        "REASONING_MESSAGE_END",
        "REASONING_END",
    ]
    result = await check_with_client(stream)
    [thought] = [m for m in result["messages"] if m["role"] == "reasoning"]
    assert thought["content"] == "Cats like warm places."
    assert conversation(result)["answer"] == "The basket."


async def test_interleaved_parallel_calls_from_a_scripted_model() -> None:
    turn = interleave(
        tool_call("a", {"q": "first"}, id="call_a", index=0, pieces=4),
        tool_call("b", {"q": "second"}, id="call_b", index=1, pieces=4),
    )
    result = await check_with_client(agui(await scripted_events([turn])))
    assert conversation(result)["calls"] == {"a": {"q": "first"}, "b": {"q": "second"}}


async def test_a_run_failing_mid_text_ends_with_a_safe_run_error() -> None:
    turn = [Text("Hello"), Text(" wor"), Fail("secret-key-123 in settings.py")]
    raw = create_failing_stream(turn)
    stream: list[Json] = []
    with pytest.raises(RuntimeError, match="secret-key-123"):
        async for message in to_ag_ui(normalize(raw), thread_id="t", run_id="r"):
            stream.append(message)
    assert stream[-1] == {"type": "RUN_ERROR", "message": FAILED_MESSAGE}
    assert "secret" not in json.dumps(stream)
    result = await check_with_client(stream)
    assert conversation(result)["answer"] == "Hello wor"
    assert result["events"][-1]["type"] == "RUN_ERROR"


def create_failing_stream(turn: list[Any]) -> Any:
    from langchain.agents import create_agent

    from eventstream.testing import ScriptedChatModel

    agent = create_agent(ScriptedChatModel(turns=[turn]), [], name="failing")
    return agent.astream_events({"messages": [("user", "hi")]}, version="v2")


# -- the Python API -----------------------------------------------------------------------------


def test_to_ag_ui_iterates_as_its_input_sync_or_async() -> None:
    path = FIXTURES[0].with_name("parallel_tools.v2.jsonl")
    sync = list(to_ag_ui(normalize(replay(path)), thread_id="t", run_id="r"))

    async def read() -> list[Json]:
        return [m async for m in to_ag_ui(normalize(replay(path)), thread_id="t", run_id="r")]

    assert asyncio.run(read()) == sync
    assert sync[0]["type"] == "RUN_STARTED" and sync[-1]["type"] == "RUN_FINISHED"


def test_answer_selects_the_assistant_text_and_tool_text_stays_progress() -> None:
    events, _ = recorded_events(FIXTURES[0].with_name("cat_agent.v2.jsonl"))
    stream = agui(events, answer=Selector(types="token", names="where_cat_at"))
    text_ = "".join(m["delta"] for m in stream if m["type"] == "TEXT_MESSAGE_CONTENT")
    assert text_ == "the laundry basket"  # the answer is now that model's text


def test_a_protocol_object_reads_one_stream() -> None:
    protocol = AGUIProtocol(thread_id="t", run_id="r")
    assert [m["type"] for m in protocol.close()] == ["RUN_STARTED", "RUN_FINISHED"]
    with pytest.raises(RuntimeError, match="reads one stream"):
        protocol.feed(Token(seq=0, run_id="x", text="late"))
