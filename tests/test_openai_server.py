"""The local OpenAI-compatible server, driven by the real ChatOpenAI over HTTP.

Every test here goes through ``langchain_openai.ChatOpenAI`` → the ``openai`` SDK →
a TCP connection to the server, except the wire test, which reads the raw SSE frames
with the standard library's HTTP client to check them against OpenAI's format.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
from collections.abc import AsyncGenerator, Generator, Iterator, Sequence
from typing import Any, cast

import openai
import pytest
from langchain_core.messages import AIMessageChunk

from eventstream import Start, Token, ToolCall, ToolResult, normalize, select
from eventstream.testing import (
    ANSWER_TEXT,
    CAT_QUESTION,
    CAT_SCRIPTS,
    ITEMS_TEXT,
    Fail,
    OpenAIServer,
    Step,
    Text,
    ToolCallPiece,
    chat_model,
    interleave,
    openai_cat_agent,
    reasoning,
    text,
    tool_call,
)

GREETING = "Hello there, curious cat!"


def _merge(chunks: Sequence[AIMessageChunk]) -> AIMessageChunk:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged


def _post(server: OpenAIServer, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/v1/chat/completions",
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# -- the wire format -----------------------------------------------------------------------


def test_wire_frames_are_openai_chat_completion_chunks() -> None:
    scripts = {"echo": [[Text("Hi"), Text(" you")]]}
    with OpenAIServer(scripts) as server:
        status, headers, raw = _post(
            server,
            {
                "model": "echo",
                "stream": True,
                "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "say hi"}],
            },
        )

    assert status == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    frames = raw.decode().split("\n\n")
    assert frames[-1] == ""  # every frame ends with a blank line
    assert all(frame.startswith("data: ") for frame in frames[:-1])
    assert frames[-2] == "data: [DONE]"
    chunks = [json.loads(frame.removeprefix("data: ")) for frame in frames[:-2]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert {c["model"] for c in chunks} == {"echo"}
    assert all(isinstance(c["created"], int) for c in chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    assert deltas[0]["role"] == "assistant"
    assert [d.get("content") for d in deltas] == ["", "Hi", " you", None]
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None, None, None, "stop"]
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == 2


def test_wire_tool_call_fragments_carry_id_and_name_on_the_first_fragment_only() -> None:
    scripts = {"caller": [tool_call("lookup", {"q": "socks"}, id="call_1", pieces=2)]}
    with OpenAIServer(scripts) as server:
        _, _, raw = _post(
            server,
            {"model": "caller", "stream": True, "messages": [{"role": "user", "content": "?"}]},
        )

    frames = [f.removeprefix("data: ") for f in raw.decode().split("\n\n") if f]
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    fragments = [c["choices"][0]["delta"].get("tool_calls") for c in chunks]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert fragments[0] == [
        {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": "lookup", "arguments": ""},
        }
    ]
    assert [f[0] for f in fragments[1:-1] if f] == [
        {"index": 0, "function": {"arguments": '{"q": "'}},
        {"index": 0, "function": {"arguments": 'socks"}'}},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert "usage" not in chunks[-1]  # not asked for


# -- text ------------------------------------------------------------------------------------


def test_text_streams_token_by_token_through_chat_openai() -> None:
    with OpenAIServer({"talker": [text(GREETING)]}) as server:
        chunks = list(chat_model(server, "talker").stream("greet the cat"))

    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    # The role frame comes first with empty content, then one chunk per token.
    assert chunks[0].content == ""
    assert [c.content for c in chunks if c.content] == ["Hello", " there,", " curious", " cat!"]
    merged = _merge(chunks)
    assert merged.content == GREETING
    assert merged.tool_calls == []
    assert merged.response_metadata["finish_reason"] == "stop"
    assert merged.response_metadata["model_name"] == "talker"


async def test_text_streams_async_and_turns_follow_the_conversation() -> None:
    scripts = {"talker": [text("first answer"), text("second one")]}
    async with OpenAIServer(scripts) as server:
        model = chat_model(server, "talker")
        first = [c.content async for c in model.astream("one")]
        second = [
            c.content
            async for c in model.astream(
                [("user", "one"), ("assistant", "first answer"), ("user", "two")]
            )
        ]

    assert [t for t in first if t] == ["first", " answer"]
    assert [t for t in second if t] == ["second", " one"]
    assert [len(r["messages"]) for r in server.requests] == [1, 3]


# -- tool calls ------------------------------------------------------------------------------


def _expected(*calls: tuple[str, dict[str, Any], str]) -> list[dict[str, Any]]:
    return [{"name": n, "args": a, "id": i, "type": "tool_call"} for n, a, i in calls]


@pytest.mark.parametrize(
    ("steps", "calls"),
    [
        pytest.param(
            [
                *tool_call("get_items", {"place": "the shed"}, id="call_a", index=0),
                *tool_call("cat_mood", {"spot": "the shed"}, id="call_b", index=1),
            ],
            _expected(
                ("get_items", {"place": "the shed"}, "call_a"),
                ("cat_mood", {"spot": "the shed"}, "call_b"),
            ),
            id="sequential",
        ),
        pytest.param(
            interleave(
                tool_call("get_items", {"place": "under the bed"}, id="call_a", index=0),
                tool_call("cat_mood", {"spot": "under the bed"}, id="call_b", index=1),
            ),
            _expected(
                ("get_items", {"place": "under the bed"}, "call_a"),
                ("cat_mood", {"spot": "under the bed"}, "call_b"),
            ),
            id="parallel-interleaved",
        ),
        pytest.param(
            tool_call("get_items", {"place": "attic", "limit": 3}, id="call_one", pieces=0),
            _expected(("get_items", {"place": "attic", "limit": 3}, "call_one")),
            id="one-shot",
        ),
    ],
)
def test_tool_call_fragments_reassemble_in_chat_openai(
    steps: list[Step], calls: list[dict[str, Any]]
) -> None:
    with OpenAIServer({"caller": [steps]}) as server:
        chunks = list(chat_model(server, "caller").stream("find things"))

    fragments = [tc for c in chunks for tc in c.tool_call_chunks]
    assert len(fragments) == len(steps)
    # What LangChain received, fragment by fragment, is what the script streamed.
    assert [(f["index"], f["id"], f["name"], f["args"]) for f in fragments] == [
        (s.index, s.id, s.name, s.args) for s in steps if isinstance(s, ToolCallPiece)
    ]
    merged = _merge(chunks)
    assert merged.tool_calls == calls
    assert merged.invalid_tool_calls == []
    assert merged.response_metadata["finish_reason"] == "tool_calls"


# -- usage, reasoning, non-streaming ---------------------------------------------------------


def test_usage_chunk_only_when_asked() -> None:
    steps: list[Step] = [*reasoning("think it over"), *text("Two words")]
    with OpenAIServer({"talker": [steps]}) as server:
        with_usage = list(chat_model(server, "talker", stream_usage=True).stream("count this"))
        without = list(chat_model(server, "talker").stream("count this"))

    usages = [c.usage_metadata for c in with_usage if c.usage_metadata]
    assert len(usages) == 1
    usage = usages[0]
    # Reasoning is not streamed (Chat Completions has no reasoning delta) but counted,
    # as OpenAI counts its reasoning models' hidden tokens.
    assert usage["output_tokens"] == 5
    assert usage.get("output_token_details", {}).get("reasoning") == 3
    assert usage["input_tokens"] == 2
    assert usage["total_tokens"] == 7
    assert "".join(str(c.content) for c in with_usage) == "Two words"
    assert all(c.usage_metadata is None for c in without)
    assert server.requests[0]["stream_options"] == {"include_usage": True}
    assert "stream_options" not in server.requests[1]


def test_non_streaming_invoke_gets_one_chat_completion() -> None:
    scripts: dict[str, list[list[Step]]] = {
        "talker": [list(text(GREETING))],
        "caller": [
            interleave(
                tool_call("get_items", {"place": "sofa"}, id="call_x", index=0),
                tool_call("cat_mood", {"spot": "sofa"}, id="call_y", index=1),
            )
        ],
    }
    with OpenAIServer(scripts) as server:
        answer = chat_model(server, "talker", streaming=False).invoke("hello")
        calls = chat_model(server, "caller", streaming=False).invoke("hello")

    assert answer.content == GREETING
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["output_tokens"] == 4
    assert calls.content == ""
    assert calls.tool_calls == _expected(
        ("get_items", {"place": "sofa"}, "call_x"), ("cat_mood", {"spot": "sofa"}, "call_y")
    )
    assert [r.get("stream", False) for r in server.requests] == [False, False]


# -- failures --------------------------------------------------------------------------------


async def test_fail_mid_stream_drops_the_connection_and_the_client_raises() -> None:
    steps: list[Step] = [Text("Half"), Text(" an"), Fail("provider went away"), Text(" answer")]
    received: list[str] = []
    async with OpenAIServer({"flaky": [steps]}) as server:
        with pytest.raises(openai.APIConnectionError):
            async for chunk in chat_model(server, "flaky").astream("go"):
                received.append(str(chunk.content))
        # The server still answers on fresh connections afterwards.
        status, _, _ = await asyncio.to_thread(_post, server, {"model": "nope", "messages": []})

    assert [t for t in received if t] == ["Half", " an"]
    assert status == 400


def test_fail_first_is_an_http_500_with_the_message() -> None:
    with OpenAIServer({"broken": [[Fail("the model is overloaded")]]}) as server:
        with pytest.raises(openai.InternalServerError) as streamed:
            list(chat_model(server, "broken").stream("go"))
        with pytest.raises(openai.InternalServerError) as invoked:
            chat_model(server, "broken", streaming=False).invoke("go")

    for raised in (streamed.value, invoked.value):
        assert raised.status_code == 500
        assert "the model is overloaded" in raised.message


def test_unknown_model_is_a_400_naming_the_scripts() -> None:
    scripts = {"talker": [text("hi")], "caller": [text("yo")]}
    with OpenAIServer(scripts) as server, pytest.raises(openai.BadRequestError) as raised:
        list(chat_model(server, "gpt-7").stream("hello"))

    error = raised.value
    assert error.status_code == 400
    assert "unknown model 'gpt-7'" in error.message
    assert "'talker'" in error.message
    assert "'caller'" in error.message
    assert isinstance(error.body, dict)
    assert error.body["param"] == "model"


def test_missing_turn_is_a_400_saying_which_turn() -> None:
    with OpenAIServer({"talker": [text("only one turn")]}) as server:
        model = chat_model(server, "talker")
        with pytest.raises(openai.BadRequestError) as raised:
            model.invoke([("user", "a"), ("assistant", "only one turn"), ("user", "b")])

    assert "'talker' has 1 turn(s)" in raised.value.message
    assert "turn 2" in raised.value.message


def test_other_paths_and_bad_bodies_get_openai_style_errors() -> None:
    def send(port: int, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("POST", path, body=body)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    with OpenAIServer({"talker": [text("hi")]}) as server:
        missing = send(server.port, "/v1/completions", b"{}")
        not_json = send(server.port, "/v1/chat/completions", b"{not json")
        no_messages = send(server.port, "/v1/chat/completions", b'{"model": "talker"}')

    assert missing[0] == 404
    assert "POST /v1/chat/completions" in missing[1]["error"]["message"]
    assert not_json[0] == 400
    assert "not valid JSON" in not_json[1]["error"]["message"]
    assert no_messages[0] == 400
    assert no_messages[1]["error"]["param"] == "messages"


# -- disconnects -----------------------------------------------------------------------------


def test_client_closing_the_stream_early_is_counted() -> None:
    long_text = " ".join(f"word{i}" for i in range(200))
    with OpenAIServer({"talker": [text("short one"), text(long_text)]}, delay=0.01) as server:
        model = chat_model(server, "talker")
        list(model.stream("a complete stream"))
        assert server.disconnects == 0

        # ChatOpenAI.stream returns a generator: closing it closes the HTTP response.
        stream = cast(
            Generator[AIMessageChunk, None, None],
            model.stream([("user", "a"), ("assistant", "short one"), ("user", "b")]),
        )
        got = [str(next(stream).content) for _ in range(3)]
        stream.close()

        assert server.wait_for_disconnect(timeout=10)
        assert server.disconnects == 1
    assert got == ["", "word0", " word1"]


async def test_async_client_closing_the_stream_early_is_counted() -> None:
    long_text = " ".join(f"word{i}" for i in range(200))
    async with OpenAIServer({"talker": [text(long_text)]}, delay=0.01) as server:
        got = []
        source = cast(
            AsyncGenerator[AIMessageChunk, None], chat_model(server, "talker").astream("go")
        )
        async with contextlib.aclosing(source) as stream:
            async for chunk in stream:
                got.append(chunk.content)
                if len(got) == 3:
                    break
        assert await asyncio.to_thread(server.wait_for_disconnect, 10)
    assert got == ["", "word0", " word1"]


def test_stop_ends_a_stream_in_flight_without_counting_a_disconnect() -> None:
    server = OpenAIServer({"talker": [text("word " * 500)]}, delay=0.05).start()
    base_url = server.base_url
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/v1/chat/completions",
            body=json.dumps({"model": "talker", "stream": True, "messages": []}),
        )
        response = connection.getresponse()
        assert response.status == 200
        assert response.readline().startswith(b"data: ")
        server.stop()
        # The server ended the connection: the chunked body is cut short.
        with pytest.raises(http.client.IncompleteRead):
            response.read()
    finally:
        connection.close()

    assert server.disconnects == 0
    assert base_url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
    server.stop()  # idempotent


# -- the cat agent ---------------------------------------------------------------------------


async def test_cat_agent_on_chat_openai_streams_through_eventstream() -> None:
    async with OpenAIServer(CAT_SCRIPTS) as server:
        agent = openai_cat_agent(server)
        raw = agent.astream_events({"messages": [("user", CAT_QUESTION)]}, version="v2")
        events = [event async for event in normalize(raw)]

    answer = "".join(
        t.text for t in select(events, types="token", tags="agent_llm") if isinstance(t, Token)
    )
    items = "".join(
        t.text for t in select(events, types="token", inside="get_items") if isinstance(t, Token)
    )
    assert answer == ANSWER_TEXT
    assert items == ITEMS_TEXT

    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, c.tool_call_id, c.args) for c in calls] == [
        ("where_cat_is_hiding", "call_hide_1", {}),
        ("get_items", "call_items_2", {"place": "the laundry basket"}),
        ("cat_mood", "call_mood_3", {"spot": "the laundry basket"}),
    ]
    results = {e.name: e for e in events if isinstance(e, ToolResult)}
    assert {name: r.tool_call_id for name, r in results.items()} == {
        "where_cat_is_hiding": "call_hide_1",
        "get_items": "call_items_2",
        "cat_mood": "call_mood_3",
    }
    assert results["where_cat_is_hiding"].output == "the laundry basket"
    assert results["get_items"].output == ITEMS_TEXT
    assert all(r.error is None for r in results.values())
    tool_starts = {
        e.name: e.tool_call_id for e in events if isinstance(e, Start) and e.run_type == "tool"
    }
    assert tool_starts == {name: r.tool_call_id for name, r in results.items()}

    # Three agent turns and one request per tool LLM, all streamed.
    models = sorted(r["model"] for r in server.requests)
    assert models == ["agent", "agent", "agent", "hiding", "items", "mood"]
    assert all(r["stream"] is True for r in server.requests)
    assert server.disconnects == 0


# -- many connections at once -------------------------------------------------------------


CONNECTIONS = 1_000


@pytest.fixture
def descriptors() -> Iterator[None]:
    """Both ends of every connection live in this process: raise its soft RLIMIT_NOFILE
    to what 1,000 connections need if it is lower (the hard limit allowing), and put it
    back afterwards."""
    resource = pytest.importorskip("resource")
    needed = 3 * CONNECTIONS + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        yield
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} file descriptors; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.usefixtures("descriptors")
async def test_a_thousand_concurrent_streams_each_get_their_whole_answer() -> None:
    # select.select fails once a descriptor passes 1,023: with both ends here, that was
    # at about 500 connections (about 200 concurrent agent runs in the demo service).
    import httpx

    connections = CONNECTIONS
    words = [f"w{i} " for i in range(8)]
    scripts = {"talker": [[Text(word) for word in words]]}
    all_streaming = asyncio.Event()
    streaming = 0

    async def one(http: httpx.AsyncClient, number: int) -> str:
        nonlocal streaming
        body = {
            "model": "talker",
            "stream": True,
            "messages": [{"role": "user", "content": f"client {number}"}],
        }
        text: list[str] = []
        async with http.stream("POST", "/chat/completions", json=body) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            async for line in lines:
                if line.startswith("data: {"):
                    break  # the first frame: this stream is open and answering
            streaming += 1
            if streaming == connections:
                all_streaming.set()
            # No stream goes on until all have begun.
            await asyncio.wait_for(all_streaming.wait(), timeout=120)
            async for line in lines:
                if line == "data: [DONE]":
                    return "".join(text)
                if line.startswith("data: "):
                    delta = json.loads(line[6:])["choices"][0]["delta"]
                    text.append(delta.get("content") or "")
        return "(no [DONE])"

    async with OpenAIServer(scripts, delay=0.05) as server:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=120) as http:
            answers = await asyncio.gather(*(one(http, n) for n in range(connections)))
        assert server.disconnects == 0
        assert len(server.requests) == connections
    assert answers == ["".join(words)] * connections
