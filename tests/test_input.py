"""Bad, old and recorded input; iteration rules; the rule "events or our error"."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.load import dumpd
from langchain_core.messages import AIMessageChunk

from eventstream import (
    End,
    EventStreamError,
    MalformedItemError,
    Normalizer,
    RunStateError,
    Start,
    Token,
    ToolCall,
    UnknownEventError,
    normalize,
    select,
)
from eventstream.testing import ScriptedChatModel, text, tool_call

from .conftest import assert_events_or_our_error, collect


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


# -- iteration ------------------------------------------------------------------------


async def test_async_only_source_refuses_plain_for() -> None:
    async def source() -> AsyncIterator[dict[str, Any]]:
        for item in GOOD:
            yield item

    with pytest.raises(TypeError, match="async for"):
        list(normalize(source()))
    assert len(await collect(normalize(source()))) == 4
    assert len(await collect(select(normalize(source()), types="token"))) == 2


async def test_sync_source_also_iterates_with_async_for() -> None:
    assert [e.type for e in await collect(normalize(GOOD))] == ["start", "token", "token", "end"]


def test_each_event_is_handed_over_before_the_next_item_is_pulled() -> None:
    pulled: list[int] = []

    def source() -> Iterator[dict[str, Any]]:
        for position, item in enumerate(GOOD):
            pulled.append(position)
            yield item

    for event in normalize(source()):
        if isinstance(event, Token) and event.text == "Hel":
            assert pulled == [0, 1]


def test_stopping_early_closes_the_source() -> None:
    closed: list[bool] = []

    def source() -> Iterator[dict[str, Any]]:
        try:
            yield from GOOD
        finally:
            closed.append(True)

    for event in normalize(source()):
        if isinstance(event, Start):
            break
    assert closed == [True]


async def test_source_raising_reraises_the_same_exception_after_ending_runs() -> None:
    failure = ConnectionError("socket closed")

    async def source() -> AsyncIterator[dict[str, Any]]:
        yield GOOD[0]
        yield GOOD[1]
        raise failure

    events: list[Any] = []
    with pytest.raises(ConnectionError) as raised:
        async for event in normalize(source()):
            events.append(event)
    assert raised.value is failure
    assert isinstance(events[-1], End) and events[-1].error == "ConnectionError: socket closed"


def test_select_rejects_unknown_types_and_accepts_a_single_string() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        select([], types=["tokens"])
    assert [e.type for e in select(normalize(GOOD), types="end")] == ["end"]


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
