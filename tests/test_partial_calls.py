"""The arguments of streaming tool calls as they grow: at every fragment, what parses."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from eventstream import (
    PartialToolCall,
    Start,
    ToolCall,
    ToolCallChunk,
    normalize,
    partial_tool_calls,
    replay,
)
from eventstream.testing import (
    MATH_ANSWER,
    MATH_QUESTION,
    MATH_SCRIPTS,
    OpenAIServer,
    ScriptedChatModel,
    build_math_agent,
    chat_model,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"


async def math_calls(via_openai: bool) -> list[PartialToolCall]:
    if via_openai:
        async with OpenAIServer(MATH_SCRIPTS) as server:
            agent = build_math_agent(lambda role: chat_model(server, role))
            raw = agent.astream_events({"messages": [("user", MATH_QUESTION)]}, version="v2")
            return [c async for c in partial_tool_calls(normalize(raw), names="final_answer")]
    agent = build_math_agent(lambda role: ScriptedChatModel(turns=MATH_SCRIPTS[role]))
    raw = agent.astream_events({"messages": [("user", MATH_QUESTION)]}, version="v2")
    return [c async for c in partial_tool_calls(normalize(raw), names="final_answer")]


@pytest.mark.parametrize("via_openai", [False, True], ids=["scripted", "openai"])
def test_the_arguments_fill_in_fragment_by_fragment(via_openai: bool) -> None:
    calls = asyncio.run(math_calls(via_openai))
    *growing, last = calls
    assert len(growing) > 20 and not any(c.done for c in growing)
    assert {c.name for c in calls} == {"final_answer"}
    assert {c.tool_call_id for c in calls} == {"call_final_2"}
    assert last.done and last.error is None
    assert last.args == {"answer": MATH_ANSWER, "tools_used": ["add"]}
    # The answer grows as a prefix of the final one; tools_used appears once complete
    # enough to parse, and the text so far is always a prefix of the whole.
    answers = [c.args.get("answer", "") for c in growing]
    assert all(MATH_ANSWER.startswith(a) for a in answers)
    assert answers == sorted(answers, key=len)
    assert len(set(answers)) > 10
    assert all(last.args_text.startswith(c.args_text) for c in growing)
    assert any(c.args.get("tools_used") == ["add"] for c in growing)
    assert all(c.error is None for c in calls)


def test_parallel_calls_are_kept_apart_by_index() -> None:
    events = list(normalize(replay(FIXTURES / "cat_agent.v2.jsonl")))
    calls = list(partial_tool_calls(events))
    done = [c for c in calls if c.done]
    assert [(c.name, c.args) for c in done] == [
        ("where_cat_is_hiding", {}),
        ("get_items", {"place": "the laundry basket"}),
        ("cat_mood", {"spot": "the laundry basket"}),
    ]
    mood = [c.args.get("spot") for c in calls if c.name == "cat_mood" and not c.done]
    assert mood[-1] == "the laundry basket" and "the laundr" in mood
    chunks = [e for e in events if e.type == "tool_call_chunk"]
    assert len(calls) == len(chunks) + len(done)


def test_names_keep_only_those_tools_and_text_that_does_not_parse_keeps_the_last_args() -> None:
    events = list(normalize(replay(FIXTURES / "cat_agent.v2.jsonl")))
    assert {c.name for c in partial_tool_calls(events, names=["get_items"])} == {"get_items"}
    common: dict[str, Any] = {"run_id": "m", "run_type": "chat_model", "name": "f"}
    bad = [
        Start(seq=0, **{**common, "name": "model"}),
        ToolCallChunk(seq=1, index=0, args_delta='{"a": 1, ', **common),
        ToolCallChunk(seq=2, index=0, args_delta="oops", **common),
        ToolCall(seq=3, index=0, args={}, args_text='{"a": 1, oops', error="not JSON", **common),
    ]
    first, second, last = partial_tool_calls(bad)
    assert first.args == {"a": 1} and first.error is None
    assert second.args == {"a": 1} and second.error is not None
    assert "not the start of a JSON object" in second.error
    assert last.done and last.error == "not JSON"


def test_names_must_be_names() -> None:
    with pytest.raises(ValueError, match="names must be non-empty strings"):
        partial_tool_calls([], names=[""])


def test_the_text_so_far_is_json_prefix_of_the_whole() -> None:
    events = list(normalize(replay(FIXTURES / "parallel_tools.v2.jsonl")))
    for call in partial_tool_calls(events):
        if call.done:
            assert call.args == json.loads(call.args_text)
