"""The seed's cat agent through astream_events v2 and v1: what a user checks."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from eventstream import End, Start, Token, ToolCall, ToolResult, normalize, select
from eventstream.testing import CAT_SCRIPTS, ToolCallPiece

from .conftest import CAT_INPUT, cat_events, collect, script_text, texts

ANSWER = script_text("agent", 2)
HIDING = script_text("hiding")
ITEMS = script_text("items")
MOOD = script_text("mood")


@pytest.fixture(scope="module")
def raw_v2() -> list[dict[str, Any]]:
    import asyncio

    return asyncio.run(cat_events("v2"))


@pytest.fixture(scope="module")
def raw_v1() -> list[dict[str, Any]]:
    import asyncio

    return asyncio.run(cat_events("v1"))


async def test_live_stream_gives_the_answer_from_the_agent_llm_only(cat_agent: Any) -> None:
    events = normalize(cat_agent.astream_events(CAT_INPUT, version="v2"), strict=True)
    answer = [e async for e in select(events, types=["token"], tags=["agent_llm"])]
    assert "".join(t.text for t in answer) == ANSWER
    # Nothing of the tools' own LLMs leaks into the answer.
    assert all("agent_llm" in t.tags and t.run_type == "chat_model" for t in answer)


def test_parallel_tools_interleave_but_stay_apart(raw_v2: list[dict[str, Any]]) -> None:
    events = list(normalize(raw_v2, strict=True))
    items_ids = {e.run_id for e in select(events, inside=["get_items"])}
    mood_ids = {e.run_id for e in select(events, inside=["cat_mood"])}
    assert items_ids.isdisjoint(mood_ids)
    owners = "".join(
        "i" if e.run_id in items_ids else "m"
        for e in events
        if isinstance(e, Token) and e.run_id in items_ids | mood_ids
    )
    # The two tool LLMs really ran concurrently (their tokens alternate), and still
    # each tool's text comes out whole and in order.
    assert re.search("im+i", owners) or re.search("mi+m", owners)
    assert texts(events, inside=["get_items"]) == ITEMS
    assert texts(events, inside=["cat_mood"]) == MOOD


def test_tool_calls_carry_arguments_and_results_link_to_them(raw_v2: list[dict[str, Any]]) -> None:
    events = list(normalize(raw_v2, strict=True))
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, c.tool_call_id, c.args, c.error) for c in calls] == [
        ("where_cat_is_hiding", "call_hide_1", {}, None),
        ("get_items", "call_items_2", {"place": "the laundry basket"}, None),
        ("cat_mood", "call_mood_3", {"spot": "the laundry basket"}, None),
    ]
    results = {r.tool_call_id: r for r in events if isinstance(r, ToolResult)}
    assert results["call_hide_1"].output == HIDING
    assert results["call_items_2"].output == ITEMS
    assert results["call_mood_3"].output == MOOD
    assert all(r.error is None for r in results.values())
    # The tool run's Start carries the id of the call that started it.
    tool_starts = {
        s.name: s.tool_call_id for s in events if isinstance(s, Start) and s.run_type == "tool"
    }
    assert tool_starts == {
        "where_cat_is_hiding": "call_hide_1",
        "get_items": "call_items_2",
        "cat_mood": "call_mood_3",
    }


def test_streamed_fragments_rebuild_each_call(raw_v2: list[dict[str, Any]]) -> None:
    events = list(normalize(raw_v2, strict=True))
    chunks = [e for e in events if e.type == "tool_call_chunk"]
    by_call: dict[tuple[str, int], str] = {}
    for chunk in chunks:
        key = (chunk.run_id, chunk.index)
        by_call[key] = by_call.get(key, "") + chunk.args_delta
        assert chunk.name, "the tool name is known from the first fragment on"
        assert chunk.tool_call_id
    calls = {(c.run_id, c.index): c.args_text for c in events if isinstance(c, ToolCall)}
    assert by_call == calls
    # The scripted fragments interleave two calls; the chunks follow that order.
    pieces = [step for step in CAT_SCRIPTS["agent"][1] if isinstance(step, ToolCallPiece)]
    second_turn = [c for c in chunks if c.name in ("get_items", "cat_mood")]
    assert [c.index for c in second_turn] == [p.index for p in pieces]


def test_every_run_starts_and_ends_exactly_once(raw_v2: list[dict[str, Any]]) -> None:
    events = list(normalize(raw_v2, strict=True))
    assert [e.seq for e in events] == list(range(len(events)))
    starts = Counter(e.run_id for e in events if isinstance(e, Start))
    ends = Counter(e.run_id for e in events if isinstance(e, End))
    assert starts == ends
    assert set(starts.values()) == {1}
    seen_end: set[str] = set()
    seen_start: set[str] = set()
    for event in events:
        assert event.run_id not in seen_end, f"{event} after the run's End"
        if isinstance(event, Start):
            seen_start.add(event.run_id)
        elif event.type != "custom":
            assert event.run_id in seen_start, f"{event} before the run's Start"
        if isinstance(event, End):
            seen_end.add(event.run_id)
    assert all(e.error is None for e in events if isinstance(e, End))
    # Chain runs, the agent's model turns and tools all appear, with parents first.
    root = events[0]
    assert isinstance(root, Start) and root.name == "cat_agent" and root.parent_ids == ()
    assert all(e.parent_ids[0] == root.run_id for e in events[1:] if e.run_id != root.run_id)


def summary(events: list[Any]) -> dict[str, Any]:
    return {
        "tokens": {
            tag: texts(events, tags=[tag]) for tag in ("agent_llm", "hiding_spot", "get_items")
        },
        "calls": [(c.name, c.tool_call_id, c.args) for c in events if isinstance(c, ToolCall)],
        "results": sorted(
            (r.tool_call_id, r.output, r.error) for r in events if isinstance(r, ToolResult)
        ),
        "runs": Counter((e.name, e.run_type) for e in events if isinstance(e, Start)),
    }


def test_v1_and_v2_give_the_same_tokens_calls_and_results(
    raw_v1: list[dict[str, Any]], raw_v2: list[dict[str, Any]]
) -> None:
    v1 = list(normalize(raw_v1, strict=True))
    v2 = list(normalize(raw_v2, strict=True))
    assert summary(v1) == summary(v2)
    # v1 carries no ancestry: documented, and visible.
    assert all(e.parent_ids == () for e in v1)


def test_v1_end_outputs_are_read_like_v2(
    raw_v1: list[dict[str, Any]], raw_v2: list[dict[str, Any]]
) -> None:
    # v1 gives a chat model's output as an LLMResult-shaped dict, v2 as the message.
    def model_outputs(raw: list[dict[str, Any]]) -> list[Any]:
        return [
            (e.output.content, [c["id"] for c in e.output.tool_calls])
            for e in normalize(raw, strict=True)
            if isinstance(e, End) and e.run_type == "chat_model"
        ]

    assert model_outputs(raw_v1) == model_outputs(raw_v2)


async def test_normalized_stream_can_be_collected_twice_from_fresh_runs(cat_agent: Any) -> None:
    first = await collect(normalize(cat_agent.astream_events(CAT_INPUT, version="v2")))
    second = await collect(normalize(cat_agent.astream_events(CAT_INPUT, version="v2")))
    assert [(e.type, e.name) for e in first] == [(e.type, e.name) for e in second]
