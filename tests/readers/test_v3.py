"""astream_events(version="v3"): LangGraph's typed protocol, and a chat model's own v3
stream; what v3 carries and what it does not."""

from __future__ import annotations

from typing import Any

import pytest

from eventstream import (
    End,
    MalformedItemError,
    Start,
    Token,
    ToolCall,
    ToolResult,
    normalize,
    select,
)
from eventstream.testing import (
    ANSWER_TEXT,
    HIDING_SPOT,
    SCENARIOS,
    ScriptedChatModel,
    build_cat_agent,
    raw_stream,
    reasoning,
    text,
    tool_call,
)

from ..conftest import CAT_INPUT, collect, scripted, texts


async def v3_of(runnable: Any, value: Any) -> list[Any]:
    return await collect(normalize(await runnable.astream_events(value, version="v3"), strict=True))


async def test_the_cat_agent_through_v3() -> None:
    agent = build_cat_agent(scripted)
    events = await v3_of(agent, CAT_INPUT)
    assert texts(events, tags="agent_llm") == ANSWER_TEXT
    # The agent's model streams token by token; a model inside a tool arrives whole.
    hiding = [e for e in events if isinstance(e, Token) and "hiding_spot" in e.tags]
    assert [t.text for t in hiding] == [HIDING_SPOT]
    # Alone in its step, where_cat_is_hiding's model is inside it.
    assert texts(events, inside="where_cat_is_hiding") == HIDING_SPOT
    assert [(c.name, c.tool_call_id) for c in events if isinstance(c, ToolCall)] == [
        ("where_cat_is_hiding", "call_hide_1"),
        ("get_items", "call_items_2"),
        ("cat_mood", "call_mood_3"),
    ]
    assert len([e for e in events if isinstance(e, ToolResult)]) == 3
    # get_items and cat_mood run at once: v3 does not say which ran cat_mood's model, but
    # it ran in the tools node, so it is inside a tool and never the agent's text.
    from eventstream import answer

    said = "".join(item.text for item in answer(events) if item.type == "answer_text")
    assert said == ANSWER_TEXT
    starts = [e.run_id for e in events if isinstance(e, Start)]
    assert sorted(starts) == sorted(e.run_id for e in events if isinstance(e, End))


async def test_a_subgraph_inside_a_tool_is_inside_that_tool() -> None:
    scenario = SCENARIOS["nested_agent"]
    runnable = scenario.build(lambda role: ScriptedChatModel(turns=scenario.scripts[role]))
    events = await collect(normalize(raw_stream(scenario, runnable, "v3"), strict=True))
    inner = [e for e in select(events, inside="ask_cat_expert") if isinstance(e, Start)]
    assert "cat_agent" in {e.name for e in inner}
    assert ANSWER_TEXT in texts(events, inside="ask_cat_expert")


async def test_a_chat_models_own_v3_stream_is_one_model_run() -> None:
    model = ScriptedChatModel(
        turns=[[*reasoning("I think."), *text("Hello there."), *tool_call("t", {"a": 1}, id="c1")]],
        content_format="blocks",
    )
    events = await collect(normalize(await model.astream_events("hi", version="v3"), strict=True))
    assert [e.type for e in events][:2] == ["start", "token"] and events[-1].type == "end"
    assert {e.run_id for e in events} == {events[0].run_id}
    assert events[0].parent_ids == () and events[0].run_type == "chat_model"
    assert texts(events) == "I think.Hello there."
    assert next(e.kind for e in events if isinstance(e, Token)) == "reasoning"
    (call,) = [e for e in events if isinstance(e, ToolCall)]
    assert (call.tool_call_id, call.name, call.args, call.index) == ("c1", "t", {"a": 1}, 0)


def test_bad_protocol_events_are_named() -> None:
    start = {"event": "message-start", "role": "ai", "id": "lc_run--m1"}
    bad = {"event": "content-block-delta", "index": "zero", "delta": {"type": "text-delta"}}
    with pytest.raises(MalformedItemError, match=r"item 1: .*integer 'index'"):
        list(normalize([start, bad], strict=True))
    stream = normalize([start, bad, {"event": "message-finish"}])
    assert [e.type for e in stream] == ["start", "end"] and stream.normalizer.skipped == 1
