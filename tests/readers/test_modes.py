"""LangGraph's stream modes: every form graph.astream yields, every combination of modes,
what each carries and what it does not."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.tools import tool
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt

from eventstream import (
    STREAM_MODES,
    Custom,
    End,
    MalformedItemError,
    Start,
    Token,
    ToolCall,
    ToolResult,
    UnknownFormatError,
    normalize,
)
from eventstream.testing import (
    ANSWER_TEXT,
    CAT_SCRIPTS,
    ITEMS_TEXT,
    MOOD_TEXT,
    ScriptedChatModel,
    build_cat_agent,
    text,
    tool_call,
)

from ..conftest import CAT_INPUT, collect, scripted, texts


def cat() -> Any:
    return build_cat_agent(scripted)


async def modes_of(runnable: Any, modes: Any, **kwargs: Any) -> list[Any]:
    return await collect(
        normalize(runnable.astream(CAT_INPUT, stream_mode=modes, **kwargs), strict=True)
    )


def well_formed(events: list[Any]) -> None:
    assert [e.seq for e in events] == list(range(len(events)))
    starts = [e.run_id for e in events if isinstance(e, Start)]
    assert sorted(starts) == sorted(e.run_id for e in events if isinstance(e, End))
    assert len(set(starts)) == len(starts)


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("subgraphs", [False, True])
async def test_every_form_of_the_full_modes_gives_the_same_events(
    version: str, subgraphs: bool
) -> None:
    events = await modes_of(cat(), list(STREAM_MODES), subgraphs=subgraphs, version=version)
    well_formed(events)
    assert texts(events, tags="agent_llm") == ANSWER_TEXT
    # The tools' own models are inside their tools: by ancestry, not only by tag.
    assert texts(events, inside="get_items") == ITEMS_TEXT
    assert texts(events, inside="cat_mood") == MOOD_TEXT
    calls = [(c.name, c.tool_call_id) for c in events if isinstance(c, ToolCall)]
    assert calls == [
        ("where_cat_is_hiding", "call_hide_1"),
        ("get_items", "call_items_2"),
        ("cat_mood", "call_mood_3"),
    ]
    tool_starts = {
        e.name: e.tool_call_id for e in events if isinstance(e, Start) and e.run_type == "tool"
    }
    results = {e.name: e.tool_call_id for e in events if isinstance(e, ToolResult)}
    assert tool_starts == results == dict(calls)
    assert events[0].name == "cat_agent" and events[-1].run_id == events[0].run_id


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_messages_alone_gives_tokens_calls_and_results(version: str) -> None:
    # The common case: stream_mode="messages". No node runs, and no way to tell which
    # tool a model ran in: its tokens are there, but not inside their tool.
    events = await modes_of(cat(), "messages", version=version)
    well_formed(events)
    assert texts(events, tags="agent_llm") == ANSWER_TEXT
    assert texts(events, tags="get_items") == ITEMS_TEXT
    assert texts(events, inside="cat_mood") == ""  # its model has no tag of its own
    # But every model in LangGraph's tools node is inside a tool (a "tools" run), so the
    # agent's own text is still only the agent's.
    from eventstream import answer

    said = "".join(item.text for item in answer(events) if item.type == "answer_text")
    assert said == ANSWER_TEXT
    assert {e.run_type for e in events if isinstance(e, Start)} == {"chain", "chat_model", "tool"}
    assert len([e for e in events if isinstance(e, ToolCall)]) == 3
    assert {e.tool_call_id for e in events if isinstance(e, ToolResult)} == {
        "call_hide_1",
        "call_items_2",
        "call_mood_3",
    }


async def test_updates_alone_gives_whole_messages_and_results() -> None:
    events = await modes_of(cat(), ["updates"], version="v2")
    well_formed(events)
    answer = [e for e in events if (isinstance(e, Token) and "agent" in e.name) or False]
    assert texts(events) == ANSWER_TEXT  # one token: the whole text, at the node's end
    assert len([e for e in events if isinstance(e, Token)]) == 1
    assert len([e for e in events if isinstance(e, ToolCall)]) == 3
    assert len([e for e in events if isinstance(e, ToolResult)]) == 3
    del answer


@pytest.mark.parametrize("modes", ["values", ["values"], ["values", "checkpoints"]])
async def test_modes_that_carry_no_events_fail_loudly(modes: Any) -> None:
    with pytest.raises(UnknownFormatError, match="STREAM_MODES"):
        await modes_of(cat(), modes, version="v2")
    with pytest.raises(UnknownFormatError, match="stream_mode='values'"):
        await collect(normalize(cat().astream(CAT_INPUT, stream_mode=modes)))


async def test_custom_writes_interrupts_and_node_failures() -> None:
    def plan(state: MessagesState) -> dict[str, Any]:
        get_stream_writer()({"progress": "planning"})
        return {}

    def ask(state: MessagesState) -> dict[str, Any]:
        interrupt({"question": "go on?"})
        return {}

    graph = StateGraph(MessagesState)
    graph.add_node("plan", plan)
    graph.add_node("ask", ask)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "ask")
    graph.add_edge("ask", END)
    from langgraph.checkpoint.memory import InMemorySaver

    app = graph.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    raw = app.astream(CAT_INPUT, config, stream_mode=[*STREAM_MODES, "updates"], version="v2")
    events = await collect(normalize(raw, strict=True))
    well_formed(events)
    customs = [(e.name, e.data) for e in events if isinstance(e, Custom)]
    assert ("custom", {"progress": "planning"}) in customs
    assert any(name == "interrupt" for name, _ in customs)
    nodes = [e.name for e in events if isinstance(e, Start) and e.run_type == "chain"]
    assert nodes[0] == "LangGraph" and {"plan", "ask"} <= set(nodes)


async def test_a_failing_node_ends_its_run_with_the_error_and_the_source_raises() -> None:
    @tool
    def explode(x: int) -> str:
        """Raises."""
        raise ValueError(f"bad {x}")

    agent = create_agent(
        ScriptedChatModel(turns=[tool_call("explode", {"x": 1}, id="e1"), text("no")]), [explode]
    )
    events: list[Any] = []
    with pytest.raises(ValueError, match="bad 1"):
        async for event in normalize(
            agent.astream(CAT_INPUT, stream_mode=list(STREAM_MODES), version="v2"), strict=True
        ):
            events.append(event)
    well_formed(events)
    (result,) = [e for e in events if isinstance(e, ToolResult)]
    assert result.tool_call_id == "e1" and "bad 1" in (result.error or "")
    node_end = next(e for e in events if isinstance(e, End) and e.name == "tools")
    assert node_end.error == "ValueError: bad 1"


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"type": "messages", "ns": (), "data": "nope"}, ["item 1", "(message, metadata)"]),
        ({"type": "tasks", "ns": (), "data": {"id": 3, "name": "x", "input": 1}}, ["'id'"]),
        (
            {"type": "tools", "ns": (), "data": {"event": "tool-exploded", "tool_call_id": "c"}},
            ["tool-exploded"],
        ),
        ({"event": "on_chain_start", "run_id": "r"}, ["astream_events", "one format"]),
    ],
)
def test_bad_items_are_named(bad: Any, words: list[str]) -> None:
    first = {"type": "custom", "ns": (), "data": 1}
    with pytest.raises(MalformedItemError) as raised:
        list(normalize([first, bad], strict=True))
    for word in words:
        assert word in str(raised.value)
    stream = normalize([first, bad])
    assert [e.type for e in stream] == ["start", "custom", "end"]
    assert stream.normalizer.skipped == 1


async def test_chat_openai_through_the_modes_gives_the_usage_v2_gives() -> None:
    from eventstream.testing import OpenAIServer, chat_model

    def usage(events: list[Any]) -> list[Any]:
        ends = [e for e in events if isinstance(e, End) and e.run_type == "chat_model"]
        return sorted((e.usage.input_tokens, e.usage.output_tokens) for e in ends if e.usage)

    with OpenAIServer(CAT_SCRIPTS) as server:
        agent = build_cat_agent(lambda role: chat_model(server, role, stream_usage=True))
        modes = await modes_of(agent, list(STREAM_MODES), subgraphs=True, version="v2")
        v2 = await collect(normalize(agent.astream_events(CAT_INPUT, version="v2"), strict=True))
    assert len(usage(modes)) == 6 and usage(modes) == usage(v2)
    assert texts(modes, tags="agent_llm") == ANSWER_TEXT
