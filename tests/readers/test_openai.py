"""Raw OpenAI chat completion streams: the real ``openai`` client, read by ``normalize``.

Streams come from the test kit's local OpenAI-compatible server over HTTP (sync and
async clients), and, for what that server does not send (reasoning deltas, ``n > 1``,
an error object mid-stream), from SSE bodies that the same client parses through an
``httpx`` mock transport. Each is compared with what ``ChatOpenAI`` makes of the same
answer through ``astream_events`` v2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage
from openai import APIError, AsyncOpenAI, OpenAI
from openai.types.chat import ChatCompletionChunk

from eventstream import (
    End,
    MalformedItemError,
    Normalizer,
    RunStateError,
    Start,
    Token,
    ToolCall,
    ToolCallChunk,
    Usage,
    normalize,
)
from eventstream.testing import (
    CAT_SCRIPTS,
    Fail,
    OpenAIServer,
    chat_model,
    text,
)

from ..conftest import assert_events_or_our_error, collect, script_text

QUESTION = [{"role": "user", "content": "What items are where the cat is hiding?"}]
# The agent's three turns: one call; two parallel calls with interleaved fragments; text.
TURNS = [
    QUESTION,
    [*QUESTION, {"role": "assistant", "content": "x"}],
    [*QUESTION, {"role": "assistant", "content": "x"}, {"role": "assistant", "content": "y"}],
]
ANSWER = script_text("agent", 2)


@pytest.fixture(scope="module")
def server() -> Any:
    with OpenAIServer({**CAT_SCRIPTS, "broken": [[*text("half an"), Fail("gone")]]}) as running:
        yield running


def client(server: OpenAIServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="test", max_retries=0)


def chunks_of(server: OpenAIServer, turn: int, **options: Any) -> list[ChatCompletionChunk]:
    """One streamed answer, as the SDK yields it."""
    with client(server) as openai:
        stream = openai.chat.completions.create(
            model="agent", messages=TURNS[turn], stream=True, **options
        )
        return list(stream)


def shape(events: list[Any]) -> list[tuple[Any, ...]]:
    """What a source must give alike: types, texts, fragments, calls, usage."""
    out: list[tuple[Any, ...]] = []
    for e in events:
        if isinstance(e, Token):
            out.append(("token", e.kind, e.text))
        elif isinstance(e, ToolCallChunk):
            out.append(("chunk", e.index, e.tool_call_id, e.name, e.args_delta))
        elif isinstance(e, ToolCall):
            out.append(("call", e.index, e.tool_call_id, e.name, e.args, e.args_text, e.error))
        elif isinstance(e, End):
            out.append(("end", e.error, e.usage, e.output.content, e.output.tool_calls))
        else:
            out.append((e.type,))
    return out


# -- the real client against the local server ---------------------------------------


def test_a_text_answer_gives_start_tokens_and_end_with_usage(server: OpenAIServer) -> None:
    chunks = chunks_of(server, 2, stream_options={"include_usage": True})
    stream = normalize(chunks, strict=True)
    events = list(stream)
    assert stream.normalizer.format == "OpenAI chat completion chunks"
    start, *tokens, end = events
    assert isinstance(start, Start) and start.run_type == "chat_model" and start.name == "agent"
    assert start.run_id == chunks[0].id and start.parent_ids == () and start.input is None
    assert all(isinstance(t, Token) and t.kind == "text" for t in tokens)
    assert "".join(t.text for t in tokens) == ANSWER
    assert len(tokens) == len(CAT_SCRIPTS["agent"][2])
    assert isinstance(end, End) and end.error is None
    usage = chunks[-1].usage
    assert usage is not None and end.usage == Usage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )
    message = end.output
    assert isinstance(message, AIMessage) and message.content == ANSWER
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] == usage.completion_tokens


def test_the_live_sync_stream_is_read_as_it_arrives_and_closed(server: OpenAIServer) -> None:
    with client(server) as openai:
        stream = openai.chat.completions.create(model="agent", messages=TURNS[2], stream=True)
        events = list(normalize(stream, strict=True))
        assert stream.response.is_closed
    assert shape(events) == shape(list(normalize(chunks_of(server, 2), strict=True)))
    # Without include_usage the stream carries no usage: none is invented.
    assert isinstance(events[-1], End) and events[-1].usage is None


async def test_the_async_client_gives_the_same_events(server: OpenAIServer) -> None:
    async with AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0) as openai:
        stream = await openai.chat.completions.create(
            model="agent",
            messages=TURNS[1],
            stream=True,
            stream_options={"include_usage": True},
        )
        events = await collect(normalize(stream, strict=True))
    expected = list(normalize(chunks_of(server, 1, stream_options={"include_usage": True})))
    assert shape(events) == shape(expected)


def test_parallel_tool_calls_stream_fragments_then_complete_calls(server: OpenAIServer) -> None:
    events = list(normalize(chunks_of(server, 1), strict=True))
    fragments = [e for e in events if isinstance(e, ToolCallChunk)]
    assert [(f.index, f.name) for f in fragments[:2]] == [(0, "get_items"), (1, "cat_mood")]
    assert {f.tool_call_id for f in fragments} == {"call_items_2", "call_mood_3"}
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.index, c.tool_call_id, c.name, c.args) for c in calls] == [
        (0, "call_items_2", "get_items", {"place": "the laundry basket"}),
        (1, "call_mood_3", "cat_mood", {"spot": "the laundry basket"}),
    ]
    assert calls[0].args_text == "".join(f.args_delta for f in fragments if f.index == 0)
    end = events[-1]
    assert isinstance(end, End) and [c["id"] for c in end.output.tool_calls] == [
        "call_items_2",
        "call_mood_3",
    ]
    assert end.output.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("turn", [0, 1, 2])
async def test_the_same_answer_through_chat_openai_gives_the_same_events(
    server: OpenAIServer, turn: int
) -> None:
    """The raw stream and ChatOpenAI's astream_events v2 of the same answer."""
    raw = list(normalize(chunks_of(server, turn, stream_options={"include_usage": True})))
    model = chat_model(server, "agent", stream_usage=True)
    messages = [(m["role"], m["content"]) for m in TURNS[turn]]
    v2 = await collect(normalize(model.astream_events(messages, version="v2"), strict=True))
    assert shape(raw) == shape(v2)
    assert raw[-1].output.tool_calls == v2[-1].output.tool_calls


def test_a_dropped_connection_ends_the_run_with_the_error_and_raises_it(
    server: OpenAIServer,
) -> None:
    events: list[Any] = []
    with client(server) as openai:
        stream = openai.chat.completions.create(model="broken", messages=QUESTION, stream=True)
        with pytest.raises(Exception) as raised:  # noqa: PT011 - whatever httpx raises
            events.extend(normalize(stream, strict=True))
    assert "".join(e.text for e in events if isinstance(e, Token)) == "half an"
    end = events[-1]
    assert isinstance(end, End) and end.error is not None
    assert type(raised.value).__name__ in end.error


# -- dict forms: model_dump(), and each data: line's JSON (a relay's) ------------------


@pytest.mark.parametrize(
    "form",
    [
        lambda c: c.model_dump(),
        lambda c: c.model_dump(exclude_unset=True),
        lambda c: json.loads(c.model_dump_json(exclude_unset=True)),
    ],
    ids=["model_dump", "exclude_unset", "json"],
)
def test_dict_forms_give_the_same_events(
    server: OpenAIServer, form: Callable[[Any], dict[str, Any]]
) -> None:
    for turn in (1, 2):
        chunks = chunks_of(server, turn, stream_options={"include_usage": True})
        objects = list(normalize(chunks, strict=True))
        dicts = list(normalize([form(c) for c in chunks], strict=True))
        assert shape(dicts) == shape(objects)
        assert [(e.seq, e.run_id, e.name) for e in dicts] == [
            (e.seq, e.run_id, e.name) for e in objects
        ]


# -- what the local server does not send, through the same client ------------------------


def sse(frames: list[dict[str, Any]]) -> OpenAI:
    """An OpenAI client whose chat completion streams ``frames`` (SDK-parsed)."""
    body = b"".join(f"data: {json.dumps(frame)}\n\n".encode() for frame in frames)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=body + b"data: [DONE]\n\n"
        )

    return OpenAI(
        base_url="http://provider.test/v1",
        api_key="test",
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
    )


def frame(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> Any:
    choice = {"index": extra.pop("index", 0), "delta": delta or {}, "finish_reason": finish}
    return {
        "id": extra.pop("id", "chatcmpl-1"),
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "deep-thinker",
        "choices": [choice],
        **extra,
    }


def streamed(frames: list[dict[str, Any]], *, strict: bool = True) -> list[Any]:
    with sse(frames) as openai:
        stream = openai.chat.completions.create(model="m", messages=QUESTION, stream=True)
        return list(normalize(stream, strict=strict))


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_deltas_give_reasoning_tokens(field: str) -> None:
    frames = [
        frame({"role": "assistant", "content": None, field: "Where"}),
        frame({"content": None, field: " is it?"}),
        frame({"content": "In the", field: None}),
        frame({"content": " basket."}),
        frame({}, "stop"),
    ]
    events = streamed(frames)
    assert [(e.kind, e.text) for e in events if isinstance(e, Token)] == [
        ("reasoning", "Where"),
        ("reasoning", " is it?"),
        ("text", "In the"),
        ("text", " basket."),
    ]
    message = events[-1].output
    assert message.content == "In the basket."
    assert message.additional_kwargs["reasoning_content"] == "Where is it?"
    # The same stream as dicts and as validated objects.
    assert shape(list(normalize(frames, strict=True))) == shape(events)
    objects = [ChatCompletionChunk.model_validate(f) for f in frames]
    assert shape(list(normalize(objects, strict=True))) == shape(events)


def test_usage_on_every_chunk_reads_the_latest() -> None:
    def usage(n: int) -> dict[str, int]:
        return {"prompt_tokens": 5, "completion_tokens": n, "total_tokens": 5 + n}

    frames = [
        frame({"content": "a"}, usage=usage(1)),
        frame({"content": "b"}, usage=usage(2)),
        frame({}, "stop", usage=usage(2)),
    ]
    end = streamed(frames)[-1]
    assert end.usage == Usage(input_tokens=5, output_tokens=2, total_tokens=7)


def test_chunks_with_their_own_ids_are_one_run() -> None:
    frames = [frame({"content": "a"}, id="x1"), frame({"content": "b"}, id="x2"), frame({}, "stop")]
    events = streamed(frames)
    assert {e.run_id for e in events} == {"x1"}


def test_a_refusal_is_not_streamed_as_text() -> None:
    events = streamed(
        [frame({"refusal": "I can't"}), frame({"refusal": " help."}), frame({}, "stop")]
    )
    assert [e.type for e in events] == ["start", "end"]
    assert events[-1].output.additional_kwargs["refusal"] == "I can't help."


def test_the_legacy_function_call_delta_is_a_tool_call() -> None:
    frames = [
        frame({"function_call": {"name": "get_items", "arguments": ""}}),
        frame({"function_call": {"arguments": '{"place": "hall"}'}}),
        frame({}, "function_call"),
    ]
    (call,) = [e for e in streamed(frames) if isinstance(e, ToolCall)]
    assert (call.name, call.args, call.index) == ("get_items", {"place": "hall"}, 0)


def test_an_error_object_mid_stream_ends_the_run_with_it() -> None:
    raw = [frame({"content": "Hal"}), {"error": {"message": "overloaded", "type": "server"}}]
    events = list(normalize(raw, strict=True))
    assert [e.type for e in events] == ["start", "token", "end"]
    assert events[-1].error == "the server reported an error mid-stream: overloaded"
    with pytest.raises(RunStateError, match="after the end of run chatcmpl-1"):
        list(normalize([*raw, frame({"content": "lo"})], strict=True))
    # The SDK itself raises such an object instead of yielding it.
    with pytest.raises(APIError, match="overloaded"):
        streamed(raw)


def test_a_stream_cut_before_its_finish_ends_with_an_error_and_no_call() -> None:
    frames = [
        frame(
            {"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": ""}}]}
        ),
        frame({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": '}}]}),
    ]
    events = list(normalize(frames, strict=True))
    assert [e.type for e in events] == ["start", "tool_call_chunk", "tool_call_chunk", "end"]
    assert events[-1].error is not None and "no chunk carried a finish_reason" in events[-1].error


def test_a_second_choice_is_refused_naming_it() -> None:
    frames = [frame({"content": "a"}), frame({"content": "b"}, index=1), frame({}, "stop")]
    with pytest.raises(MalformedItemError, match=r"item 1: choices\[0\]: a chunk of choice 1"):
        list(normalize(frames, strict=True))
    normalizer = Normalizer()
    events = [e for f in frames for e in normalizer.feed(f)] + normalizer.close()
    assert normalizer.skipped == 1
    assert "".join(e.text for e in events if isinstance(e, Token)) == "a"


def test_a_field_of_the_wrong_type_is_named() -> None:
    frames = [frame({"content": "a"}), frame({"content": 7})]
    with pytest.raises(
        MalformedItemError, match=r"choices\[0\]\.delta\.content: expected a string"
    ):
        list(normalize(frames, strict=True))


def test_tool_call_fragments_without_an_index_are_joined_by_id_then_in_order() -> None:
    frames = [
        frame({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": '{"x"'}}]}),
        frame({"tool_calls": [{"function": {"arguments": ": 1}"}}]}),
        frame({"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": "{}"}}]}),
        frame({}, "tool_calls"),
    ]
    calls = [e for e in normalize(frames, strict=True) if isinstance(e, ToolCall)]
    assert [(c.tool_call_id, c.name, c.args) for c in calls] == [
        ("a", "f", {"x": 1}),
        ("b", "g", {}),
    ]


# -- any input: events or our error ------------------------------------------------------

deltas = st.fixed_dictionaries(
    {},
    optional={
        "content": st.one_of(st.none(), st.text(max_size=3), st.integers()),
        "reasoning_content": st.one_of(st.none(), st.text(max_size=3)),
        "tool_calls": st.one_of(
            st.none(),
            st.integers(),
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "index": st.one_of(st.none(), st.integers(0, 2), st.text(max_size=1)),
                        "id": st.one_of(st.none(), st.sampled_from(["a", "b"])),
                        "function": st.one_of(
                            st.none(),
                            st.fixed_dictionaries(
                                {},
                                optional={
                                    "name": st.sampled_from(["f", "g"]),
                                    "arguments": st.one_of(st.text(max_size=4), st.integers()),
                                },
                            ),
                        ),
                    },
                ),
                max_size=2,
            ),
        ),
    },
)
frames_ = st.one_of(
    st.builds(
        frame,
        deltas,
        st.one_of(st.none(), st.sampled_from(["stop", "tool_calls"]), st.integers()),
        index=st.sampled_from([0, 0, 0, 1, None, "x"]),
    ),
    st.just({"error": {"message": "boom"}}),
    st.builds(
        lambda n: {"object": "chat.completion.chunk", "choices": [], "usage": n},
        st.one_of(
            st.none(),
            st.integers(),
            st.just({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),
        ),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(frames_, max_size=8))
def test_any_chunks_yield_events_or_our_error(raw: list[Any]) -> None:
    assert_events_or_our_error(raw)
