"""The astream_events reader (v1 and v2): bad, old and recorded items; provider
streaming shapes through real LangChain runnables; the rule "events or our error"."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain.agents import create_agent
from langchain_core.callbacks import adispatch_custom_event
from langchain_core.load import dumpd
from langchain_core.messages import AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import ToolException, tool

from eventstream import (
    End,
    EventStreamError,
    MalformedItemError,
    Normalizer,
    RunStateError,
    Start,
    Token,
    ToolCall,
    ToolResult,
    UnknownEventError,
    normalize,
    select,
)
from eventstream.testing import (
    Fail,
    ScriptedChatModel,
    ToolCallPiece,
    interleave,
    reasoning,
    text,
    tool_call,
)

from ..conftest import assert_events_or_our_error, collect


def ev(event: str, run_id: str = "r1", data: Any = None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "event": event,
        "run_id": run_id,
        "name": extra.pop("name", "model"),
        "tags": extra.pop("tags", []),
        "metadata": extra.pop("metadata", {}),
        "data": {} if data is None else data,
    }
    item.update(extra)
    return item


def token_item(content: Any, run_id: str = "r1") -> dict[str, Any]:
    return ev("on_chat_model_stream", run_id, {"chunk": content})


GOOD = [
    ev("on_chat_model_start", data={"input": "hi"}),
    token_item(AIMessageChunk(content="Hel")),
    token_item(AIMessageChunk(content="lo")),
    ev("on_chat_model_end", data={"output": AIMessageChunk(content="Hello")}),
]


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        ("not a dict", MalformedItemError, ["item 2", "'event'", "str"]),
        ({"event": "on_chat_model_stream"}, MalformedItemError, ["item 2", "run_id"]),
        (ev("on_chat_model_stream", data=[1, 2]), MalformedItemError, ["item 2", "'data'"]),
        (ev("on_fancy_thing"), UnknownEventError, ["item 2", "on_fancy_thing"]),
        (ev("on_chain_start", "r2", tags="oops"), MalformedItemError, ["item 2", "tags"]),
        (ev("on_chat_model_start"), RunStateError, ["item 2", "already started"]),
    ],
)
def test_strict_mode_names_the_item_and_the_problem(
    bad: Any, error: type[Exception], words: list[str]
) -> None:
    items = [*GOOD[:2], bad, *GOOD[2:]]
    with pytest.raises(error) as raised:
        list(normalize(items, strict=True))
    assert isinstance(raised.value, EventStreamError)
    for word in words:
        assert word in str(raised.value)


def test_token_after_end_is_a_run_state_error() -> None:
    items = [*GOOD, token_item(AIMessageChunk(content="late"))]
    with pytest.raises(RunStateError, match=r"item 4: .*r1 which already ended") as raised:
        list(normalize(items, strict=True))
    assert raised.value.run_id == "r1" and raised.value.position == 4


def test_lenient_mode_skips_counts_and_goes_on() -> None:
    junk = ["x", {"event": 3}, ev("on_nope"), token_item(AIMessageChunk(content="late"))]
    items = [GOOD[0], junk[0], GOOD[1], junk[1], GOOD[2], junk[2], GOOD[3], junk[3]]
    stream = normalize(items)
    events = list(stream)
    assert stream.normalizer.skipped == 4
    assert "".join(e.text for e in events if isinstance(e, Token)) == "Hello"
    assert [e.seq for e in events] == list(range(len(events)))
    assert [e.type for e in events] == ["start", "token", "token", "end"]


def test_odd_values_inside_an_item_are_reported_not_crashed_on() -> None:
    class Weird:
        @property
        def content(self) -> str:
            raise KeyError("deep inside")

    items = [GOOD[0], token_item(Weird()), *GOOD[1:]]
    with pytest.raises(MalformedItemError, match="item 1: could not read"):
        list(normalize(items, strict=True))
    stream = normalize(items)
    assert [e.type for e in stream] == ["start", "token", "token", "end"]
    assert stream.normalizer.skipped == 1


def test_input_is_not_mutated() -> None:
    items = copy.deepcopy(GOOD)
    before = copy.deepcopy(items)
    list(normalize(items, strict=True))
    assert items == before


def test_source_ending_with_open_runs_ends_them_with_an_error() -> None:
    events = list(normalize([*GOOD[:2], ev("on_tool_start", "t1", {"input": {}}, name="t")]))
    ends = [e for e in events if isinstance(e, End)]
    assert [e.run_id for e in ends] == ["t1", "r1"]
    assert all("ended before this run ended" in (e.error or "") for e in ends)


def test_normalizer_feeds_item_by_item_like_the_stream() -> None:
    whole = list(normalize(GOOD))
    normalizer = Normalizer()
    piecewise = [e for item in GOOD for e in normalizer.feed(item)] + normalizer.close()
    assert whole == piecewise


# -- recorded and old shapes ----------------------------------------------------------


def fragments_stream(chunks: list[Any]) -> list[dict[str, Any]]:
    return [
        ev("on_chat_model_start"),
        *[token_item(c) for c in chunks],
        ev("on_chat_model_end", data={"output": None}),
    ]


def live_chunks() -> list[AIMessageChunk]:
    turn = [*text("Looking it up."), *tool_call("search", {"q": "cat"}, id="s1", pieces=3)]
    model = ScriptedChatModel(turns=[turn])
    return list(model.stream("x"))


def test_serialized_and_plain_dict_chunks_give_the_same_events() -> None:
    chunks = live_chunks()

    def shape(events: list[Any]) -> list[Any]:
        return [
            (e.type, getattr(e, "text", None), getattr(e, "args_delta", None), e.name)
            for e in events
        ]

    live = shape(list(normalize(fragments_stream(chunks), strict=True)))
    as_dumpd = shape(list(normalize(fragments_stream([dumpd(c) for c in chunks]), strict=True)))
    as_dict = shape(
        list(normalize(fragments_stream([c.model_dump() for c in chunks]), strict=True))
    )
    assert live == as_dumpd == as_dict
    assert ("tool_call", None, None, "search") in live


def test_openai_function_calling_era_deltas_give_the_same_calls() -> None:
    def delta(
        index: int, args: str, call_id: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        function: dict[str, Any] = {"arguments": args}
        if name:
            function["name"] = name
        call: dict[str, Any] = {"index": index, "function": function, "type": "function"}
        if call_id:
            call["id"] = call_id
        # As older LangChain versions recorded them: no tool_call_chunks at all.
        return {"content": "", "additional_kwargs": {"tool_calls": [call]}}

    chunks = [
        delta(0, "", "call_a", "where_cat_is_hiding"),
        delta(1, "", "call_b", "get_items"),
        delta(0, "{}"),
        delta(1, '{"place": '),
        delta(1, '"the box"}'),
    ]
    events = list(normalize(fragments_stream(chunks), strict=True))
    calls = [(c.name, c.tool_call_id, c.args) for c in events if isinstance(c, ToolCall)]
    assert calls == [
        ("where_cat_is_hiding", "call_a", {}),
        ("get_items", "call_b", {"place": "the box"}),
    ]


def test_legacy_function_call_delta() -> None:
    chunks = [
        {"content": "", "additional_kwargs": {"function_call": {"name": "calc", "arguments": ""}}},
        {"content": "", "additional_kwargs": {"function_call": {"arguments": '{"x": 2}'}}},
    ]
    events = list(normalize(fragments_stream(chunks), strict=True))
    (call,) = [e for e in events if isinstance(e, ToolCall)]
    assert (call.name, call.args) == ("calc", {"x": 2})


def test_llm_chunks_as_objects_dicts_and_strings() -> None:
    from langchain_core.outputs import GenerationChunk

    items = [
        ev("on_llm_start", name="llm"),
        ev("on_llm_stream", data={"chunk": GenerationChunk(text="a")}, name="llm"),
        ev("on_llm_stream", data={"chunk": {"text": "b"}}, name="llm"),
        ev("on_llm_stream", data={"chunk": "c"}, name="llm"),
        ev("on_llm_end", data={"output": {"generations": [[{"text": "abc"}]]}}, name="llm"),
    ]
    events = list(normalize(items, strict=True))
    assert [e.text for e in events if isinstance(e, Token)] == ["a", "b", "c"]
    assert events[-1].output == "abc" and events[-1].run_type == "llm"


# -- the rule: any input yields events or our own error --------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
event_names = st.sampled_from(
    [
        "on_chat_model_start",
        "on_chat_model_stream",
        "on_chat_model_end",
        "on_llm_stream",
        "on_tool_start",
        "on_tool_end",
        "on_tool_error",
        "on_chain_start",
        "on_chain_end",
        "on_custom_event",
        "on_weird",
    ]
)
items = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "event": event_names,
            "run_id": st.sampled_from(["a", "b", "c"]),
            "data": st.one_of(
                st.fixed_dictionaries({"chunk": json_values}),
                st.fixed_dictionaries({"output": json_values}),
                json_values,
            ),
        },
        optional={"tags": json_values, "name": json_values, "parent_ids": json_values},
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(items, max_size=12))
def test_any_input_yields_events_or_our_error(raw: list[Any]) -> None:
    assert_events_or_our_error(raw)


# -- provider shapes through real runnables, v1 and v2 ---------------------------------

VERSIONS = ["v1", "v2"]


async def run(runnable: Any, value: Any, version: str = "v2", **kwargs: Any) -> list[Any]:
    return await collect(
        normalize(runnable.astream_events(value, version=version, **kwargs), strict=True)
    )


def joined(events: list[Any], **criteria: Any) -> str:
    return "".join(e.text for e in select(events, types=["token"], **criteria))


@pytest.mark.parametrize("version", VERSIONS)
async def test_lcel_chain_tokens_come_once_from_the_model(version: str) -> None:
    model = ScriptedChatModel(turns=[text("Paris is the capital of France.")])
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | model | StrOutputParser()
    events = await run(chain, {"q": "capital?"}, version)
    tokens = [e for e in events if isinstance(e, Token)]
    # The parser and the sequence stream the same text again: no token twice.
    assert "".join(t.text for t in tokens) == "Paris is the capital of France."
    assert {t.run_type for t in tokens} == {"chat_model"}
    assert [t.text for t in tokens] == [s.text for s in text("Paris is the capital of France.")]
    run_types = [e.run_type for e in events if isinstance(e, Start)]
    assert sorted(run_types) == ["chain", "chat_model", "parser", "prompt"]
    root_end = events[-1]
    assert isinstance(root_end, End) and root_end.output == "Paris is the capital of France."


@pytest.mark.parametrize("content_format", ["blocks", "anthropic"])
@pytest.mark.parametrize("version", VERSIONS)
async def test_content_blocks_give_reasoning_and_text(version: str, content_format: str) -> None:
    model = ScriptedChatModel(
        turns=[[*reasoning("Cats like warm places."), *text("The basket.")]],
        content_format=content_format,
    )
    events = await run(model, "where?", version)
    tokens = [e for e in events if isinstance(e, Token)]
    assert "".join(t.text for t in tokens if t.kind == "reasoning") == "Cats like warm places."
    assert "".join(t.text for t in tokens if t.kind == "text") == "The basket."
    assert all(t.text for t in tokens)


@pytest.mark.parametrize("version", VERSIONS)
async def test_sequential_interleaved_and_one_shot_calls(version: str) -> None:
    turn = [
        *tool_call("search", {"q": "cats"}, id="c1", index=0, pieces=4),
        *interleave(
            tool_call("lookup", {"id": 7}, id="c2", index=1),
            tool_call("lookup", {"id": 8}, id="c3", index=2),
        ),
        *tool_call("ping", {}, id="c4", index=3, pieces=0),
        ToolCallPiece(index=4, id="c5", name="noargs"),
    ]
    events = await run(ScriptedChatModel(turns=[turn]), "go", version)
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.index, c.tool_call_id, c.name, c.args, c.error) for c in calls] == [
        (0, "c1", "search", {"q": "cats"}, None),
        (1, "c2", "lookup", {"id": 7}, None),
        (2, "c3", "lookup", {"id": 8}, None),
        (3, "c4", "ping", {}, None),
        (4, "c5", "noargs", {}, None),
    ]
    chunks = [e for e in events if e.type == "tool_call_chunk"]
    assert len(chunks) == sum(1 for _ in turn)
    # Calls are announced when the model run ends, right before its End.
    end_index = next(
        i for i, e in enumerate(events) if isinstance(e, End) and e.run_type == "chat_model"
    )
    assert all(events.index(c) < end_index for c in calls)
    assert all(events.index(c) > events.index(chunks[-1]) for c in calls)


@pytest.mark.parametrize("version", VERSIONS)
async def test_arguments_that_do_not_parse_give_an_error_not_an_exception(version: str) -> None:
    turn = [
        *tool_call("search", '{"q": cats}', id="bad", pieces=2),
        *tool_call("search", "[1, 2]", id="list", index=1, pieces=1),
    ]
    events = await run(ScriptedChatModel(turns=[turn]), "go", version)
    bad, not_object = [e for e in events if isinstance(e, ToolCall)]
    assert (
        bad.args == {} and bad.args_text == '{"q": cats}' and "not valid JSON" in (bad.error or "")
    )
    assert not_object.args == {} and "not an object" in (not_object.error or "")


@pytest.mark.parametrize("version", VERSIONS)
async def test_cut_off_arguments_are_what_langchain_will_run(version: str) -> None:
    # A model cut off mid-arguments: LangChain parses the partial JSON and runs the tool
    # with {"city": "Par"} under this call id; the ToolCall says the same, not "invalid".
    turn = tool_call("weather", '{"city": "Par', id="cut", pieces=3)
    events = await run(ScriptedChatModel(turns=[turn]), "go", version)
    (call,) = [e for e in events if isinstance(e, ToolCall)]
    assert (call.args, call.error, call.args_text) == ({"city": "Par"}, None, '{"city": "Par')


def agent_with(tools: list[Any], turns: list[Any]) -> Any:
    return create_agent(ScriptedChatModel(turns=turns), tools, name="agent")


async def test_tool_error_as_tool_message_status_error() -> None:
    @tool
    def flaky(x: int) -> str:
        """Fails politely."""
        raise ToolException(f"cannot handle {x}")

    flaky.handle_tool_error = True

    agent = agent_with([flaky], [tool_call("flaky", {"x": 3}, id="f1"), text("Sorry, it failed.")])
    events = await run(agent, {"messages": [("user", "go")]})
    (result,) = [e for e in events if isinstance(e, ToolResult)]
    assert result.tool_call_id == "f1"
    assert result.error == "cannot handle 3"
    assert result.output == "cannot handle 3"
    assert joined(events, run_types=["chat_model"]) == "Sorry, it failed."


async def test_tool_that_raises_ends_with_the_error_and_the_source_raises() -> None:
    class Boom(RuntimeError):
        pass

    @tool
    def explode(x: int) -> str:
        """Raises."""
        raise Boom(f"exploded on {x}")

    agent = agent_with([explode], [tool_call("explode", {"x": 1}, id="e1"), text("unused")])
    events: list[Any] = []
    stream = normalize(agent.astream_events({"messages": [("user", "go")]}, version="v2"))
    with pytest.raises(Boom) as raised:
        async for event in stream:
            events.append(event)
    assert str(raised.value) == "exploded on 1"
    (result,) = [e for e in events if isinstance(e, ToolResult)]
    assert result.tool_call_id == "e1" and result.error == "Boom: exploded on 1"
    assert result.output is None
    # Every run that started also ended, the root last, all with the error.
    starts = [e.run_id for e in events if isinstance(e, Start)]
    ends = [e for e in events if isinstance(e, End)]
    assert sorted(starts) == sorted(e.run_id for e in ends)
    assert ends[-1].name == "agent" and "exploded on 1" in (ends[-1].error or "")


@pytest.mark.parametrize("version", VERSIONS)
async def test_failure_mid_stream_ends_open_runs_innermost_first(version: str) -> None:
    model = ScriptedChatModel(turns=[[*text("one two three"), Fail("provider hung up")]])
    chain = (ChatPromptTemplate.from_messages([("human", "{q}")]) | model).with_config(
        run_name="outer"
    )
    events: list[Any] = []
    with pytest.raises(RuntimeError) as raised:
        async for event in normalize(chain.astream_events({"q": "x"}, version=version)):
            events.append(event)
    assert str(raised.value) == "provider hung up"
    assert joined(events) == "one two three"
    ends = [e for e in events if isinstance(e, End)]
    open_before_failure = {e.run_id for e in events if isinstance(e, Start)} - {
        e.run_id for e in ends if e.error is None
    }
    failed = [e for e in ends if e.error]
    assert {e.run_id for e in failed} == open_before_failure
    # v1 reports the model run as ended (with no output and no error): it cannot know.
    expected = ["chat_model", "chain"] if version == "v2" else ["chain"]
    assert [e.run_type for e in failed] == expected
    assert all("provider hung up" in (e.error or "") for e in failed)


async def test_custom_events_carry_their_name_and_data() -> None:
    async def work(x: str) -> str:
        await adispatch_custom_event("progress", {"step": 1, "of": 2})
        await adispatch_custom_event("progress", {"step": 2, "of": 2})
        return x.upper()

    chain = RunnableLambda(work).with_config(run_name="worker")
    events = await run(chain, "hi")
    customs = [e for e in events if e.type == "custom"]
    assert [(c.name, c.data) for c in customs] == [
        ("progress", {"step": 1, "of": 2}),
        ("progress", {"step": 2, "of": 2}),
    ]
    worker = next(e for e in events if isinstance(e, Start))
    assert {c.run_id for c in customs} == {worker.run_id}
    assert [e.name for e in select(events, names=["progress"])] == ["progress", "progress"]


async def test_stream_filtered_by_include_tags_starts_runs_when_first_seen() -> None:
    model = ScriptedChatModel(turns=[text("tagged text")]).with_config(tags=["keep"])
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | model
    raw = await collect(chain.astream_events({"q": "x"}, version="v2", include_tags=["keep"]))
    assert all("keep" in item["tags"] for item in raw)
    # Drop the model's start, as a stream picked up mid-run would.
    raw = [item for item in raw if item["event"] != "on_chat_model_start"]
    events = list(normalize(raw, strict=True))
    assert isinstance(events[0], Start) and events[0].input is None
    assert joined(events) == "tagged text"
    assert isinstance(events[-1], End) and events[-1].output.content == "tagged text"


async def test_model_that_does_not_stream_still_gives_its_text_and_calls() -> None:
    model = ScriptedChatModel(
        turns=[[*text("all at once"), *tool_call("f", {"a": 1}, id="q1")]],
        disable_streaming=True,
    )
    raw = await collect(model.astream_events("x", version="v2"))
    assert not [item for item in raw if item["event"] == "on_chat_model_stream"]
    events = list(normalize(raw, strict=True))
    assert joined(events) == "all at once"
    (call,) = [e for e in events if isinstance(e, ToolCall)]
    assert (call.name, call.tool_call_id, call.args) == ("f", "q1", {"a": 1})


# -- gaps found by testing the first core ------------------------------------------------


async def test_a_model_that_raised_inside_a_tool_ends_before_the_tool() -> None:
    # v2 sends no on_chat_model_error: the failed attempt's run would stay open until
    # the stream ends and then end after its own parent.
    flaky = ScriptedChatModel(turns=[[*text("half an"), Fail("provider hung up")]])
    steady = ScriptedChatModel(turns=[text("a sock")])

    @tool
    async def look(place: str) -> str:
        """Looks with a model that has a fallback."""
        message = await flaky.with_fallbacks([steady]).ainvoke(f"what is in {place}?")
        return str(message.content)

    agent = agent_with([look], [tool_call("look", {"place": "the basket"}, id="l1"), text("ok")])
    events = await run(agent, {"messages": [("user", "go")]})
    ends = {e.run_id: e for e in events if isinstance(e, End)}
    tool_end = next(e for e in ends.values() if e.name == "look")
    failed = [e for e in ends.values() if e.error and e.run_type == "chat_model"]
    assert len(failed) == 1
    assert tool_end.run_id in failed[0].parent_ids
    assert failed[0].seq < tool_end.seq  # right before its parent, not at the stream's end
    assert "never" not in failed[0].error and "reported an end" in failed[0].error
    assert tool_end.error is None


def test_strict_mode_rejects_a_model_stream_item_without_a_chunk() -> None:
    item = {"event": "on_chat_model_stream", "run_id": "r", "data": {}}
    with pytest.raises(
        MalformedItemError, match="item 0: on_chat_model_stream: 'data' has no 'chunk'"
    ):
        list(normalize([item], strict=True))
    stream = normalize([item])
    assert list(stream) == [] and stream.normalizer.skipped == 1


def test_a_custom_event_carries_any_payload() -> None:
    items = [
        ev("on_chain_start"),
        {"event": "on_custom_event", "run_id": "r1", "name": "progress", "data": "half way"},
        ev("on_chain_end"),
    ]
    custom = [e for e in normalize(items, strict=True) if e.type == "custom"]
    assert [(c.name, c.data, c.run_type) for c in custom] == [("progress", "half way", "chain")]


def test_wrong_types_are_rejected_whole_and_leave_no_trace() -> None:
    reasoning_summary_is_not_a_list = token_item(
        AIMessageChunk(content=[]).model_dump()
        | {"content": [{"type": "reasoning", "summary": 5}]},
        "r2",
    )
    args_is_not_a_string = token_item(
        {"content": "", "tool_call_chunks": [{"index": 0, "id": "c", "name": "t", "args": 7}]}
    )
    tags_are_not_strings = ev("on_chain_start", "r3", tags=[1, 2])
    for bad, field in (
        (reasoning_summary_is_not_a_list, "content[0].summary"),
        (args_is_not_a_string, "tool_call_chunks[0].args"),
        (tags_are_not_strings, "'tags'"),
    ):
        items = [GOOD[0], bad, *GOOD[1:]]
        with pytest.raises(MalformedItemError, match=re.escape(field)):
            list(normalize(items, strict=True))
        stream = normalize(items)
        events = list(stream)
        # Lenient: the bad item is gone without a trace, the rest is whole.
        assert stream.normalizer.skipped == 1
        assert [(e.type, e.run_id) for e in events] == [
            (e.type, e.run_id) for e in normalize(GOOD, strict=True)
        ]


def test_a_custom_event_after_its_runs_end_is_rejected() -> None:
    items = [
        ev("on_chain_start"),
        ev("on_chain_end"),
        {"event": "on_custom_event", "run_id": "r1", "name": "late", "data": 1},
    ]
    with pytest.raises(RunStateError, match="item 2: a custom event for run r1 which already"):
        list(normalize(items, strict=True))
    stream = normalize(items)
    assert [e.type for e in stream] == ["start", "end"] and stream.normalizer.skipped == 1


def test_an_llm_that_streams_tool_call_chunks_gets_its_tool_calls() -> None:
    chunk = {"text": "", "tool_call_chunks": [{"index": 0, "id": "c1", "name": "t", "args": "{}"}]}
    items = [
        ev("on_llm_start", "l1", name="llm"),
        ev("on_llm_stream", "l1", {"chunk": chunk}, name="llm"),
        ev("on_llm_end", "l1", {"output": {"generations": [[{"text": ""}]]}}, name="llm"),
    ]
    (call,) = [e for e in normalize(items, strict=True) if isinstance(e, ToolCall)]
    assert (call.run_type, call.tool_call_id, call.name, call.args) == ("llm", "c1", "t", {})


@pytest.mark.parametrize("wrap", [dict, __import__("collections").UserDict])
def test_a_model_stream_item_on_a_run_that_is_no_model_gives_no_token(wrap: Any) -> None:
    """The fast path (plain dicts) and the general path agree: only models stream text."""
    from langchain_core.messages import AIMessageChunk

    from eventstream import Normalizer

    normalizer = Normalizer()
    types = [
        e.type
        for e in normalizer.feed(
            {"event": "on_chain_start", "run_id": "c", "name": "a", "data": {}}
        )
    ]
    item = {"event": "on_chat_model_stream", "run_id": "c", "name": "a"}
    item["data"] = {"chunk": AIMessageChunk(content="hi")}
    types += [e.type for e in normalizer.feed(wrap(item))]
    assert types == ["start"]
