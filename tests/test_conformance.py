"""The same logical events from every source for the same run.

Each scenario runs live on scripted models through each source: ``astream_events`` v2,
LangGraph's stream modes (``eventstream.STREAM_MODES``, subgraphs) and
``astream_events`` v3. What must agree: the text of every model run (by its run id,
which every source shares), its tags, the tool call it runs inside; every tool call
(model run, id, name, arguments); every tool result. What a source cannot carry is
pinned here, source by source (the README's table of sources says the same).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.tools import tool

from eventstream import End, EventStreamError, Start, Token, ToolCall, ToolResult, normalize
from eventstream._ancestry import Ancestry
from eventstream.testing import (
    SCENARIOS,
    Scenario,
    ScriptedChatModel,
    raw_stream,
    reasoning,
    text,
    tool_call,
)

SOURCES = ["v2", "modes", "v3"]


@tool
def lookup(topic: str) -> str:
    """Looks a topic up."""
    return f"all about {topic}"


REASONING = Scenario(
    "reasoning",
    "A model that thinks in reasoning blocks, calls a tool, then answers.",
    {
        "agent": [
            [*reasoning("I should look it up."), *tool_call("lookup", {"topic": "cats"}, id="r1")],
            [*reasoning("Now I know."), *text("Cats sleep a lot.")],
        ]
    },
    lambda make: create_agent(
        make("agent").model_copy(update={"tags": ["agent_llm"]}), [lookup], name="thinker"
    ),
    "Tell me about cats.",
)
CASES = {**SCENARIOS, "reasoning": REASONING}


async def events_of(name: str, source: str) -> list[Any]:
    scenario = CASES[name]
    content_format = "blocks" if name == "reasoning" else "string"

    def make(role: str) -> Any:
        return ScriptedChatModel(turns=scenario.scripts[role], content_format=content_format)

    runnable = scenario.build(make)
    events: list[Any] = []
    try:
        async for event in normalize(raw_stream(scenario, runnable, source), strict=True):
            events.append(event)
    except EventStreamError:
        raise
    except Exception:
        if not scenario.raises:
            raise
    return events


def summary(events: list[Any]) -> dict[str, Any]:
    """What every source must agree on. Runs of separate executions have separate ids:
    a model run is known by its tags (LangGraph's internal ``seq:step:N`` tags left
    out: only ``astream_events`` has them), the tool call it runs inside, and its text."""
    ancestry = Ancestry()
    where: dict[str, tuple[tuple[str, ...], str | None]] = {}
    text_of: dict[str, dict[str, str]] = defaultdict(lambda: {"text": "", "reasoning": ""})
    tools: list[tuple[str, str | None, str | None]] = []
    calls: list[tuple[str, str | None, str, str, str | None]] = []
    outer: dict[tuple[Any, ...], list[str | None]] = {}  # a model's enclosing tool calls
    for event in events:
        info = ancestry.see(event)
        enclosing = info.parent.tool if info.parent is not None else None
        if isinstance(event, Start) and event.run_type == "chat_model":
            tags = tuple(t for t in event.tags if ":" not in t)
            where[event.run_id] = (tags, enclosing.tool_call_id if enclosing else None)
            outer[tags, enclosing.tool_call_id if enclosing else None] = [
                run.tool_call_id for run in info.lineage() if run.run_type == "tool"
            ]
        if isinstance(event, Start) and event.run_type == "tool":
            tools.append(
                (event.name, event.tool_call_id, enclosing.tool_call_id if enclosing else None)
            )
        if isinstance(event, Token):
            text_of[event.run_id][event.kind] += event.text
        if isinstance(event, ToolCall):
            calls.append(
                (event.run_id, event.tool_call_id, event.name, repr(event.args), event.error)
            )
    assert [e.seq for e in events] == list(range(len(events)))
    starts = sorted(e.run_id for e in events if isinstance(e, Start))
    assert starts == sorted(e.run_id for e in events if isinstance(e, End))
    label = {
        run_id: (*place, text_of[run_id]["text"], text_of[run_id]["reasoning"])
        for run_id, place in where.items()
    }
    return {
        "models": sorted(label.values(), key=repr),
        "tools": sorted(tools, key=repr),
        "calls": sorted(((label[m][0], *rest) for m, *rest in calls), key=repr),
        "outer": outer,
        "results": sorted(
            (e.tool_call_id, repr(e.output), e.error is not None)
            for e in events
            if isinstance(e, ToolResult)
        ),
    }


@pytest.fixture(scope="module")
def v2_runs() -> dict[str, Any]:
    import asyncio

    return {name: summary(asyncio.run(events_of(name, "v2"))) for name in CASES}


@pytest.mark.parametrize("source", ["modes", "v3"])
@pytest.mark.parametrize("name", sorted(CASES))
async def test_every_source_gives_the_same_logical_events(
    name: str, source: str, v2_runs: dict[str, Any]
) -> None:
    got = summary(await events_of(name, source))
    want = v2_runs[name]
    assert got["calls"] == want["calls"]
    if (name, source) == ("nested_agent", "v3"):
        # Under v3 LangGraph turns the state's messages into content blocks, so the
        # tool that reads the inner agent's last message gets its blocks: a different
        # result, the graph's doing (the same call id, no error).
        assert [r[0::2] for r in got["results"]] == [r[0::2] for r in want["results"]]
    else:
        assert got["results"] == want["results"]
    if source == "v3":
        # The task of LangGraph's tools node a model ran in, when v3 does not say which of
        # the tools running then it was: a "tools" tool run with no call id of its own.
        assert all(t[1] is None for t in got["tools"] if t[0] == "tools")
        got["tools"] = [t for t in got["tools"] if t[0] != "tools"]
    assert got["tools"] == want["tools"]
    if source == "modes":
        assert got["models"] == want["models"]
        return
    # v3 does not stream the models inside tools: each gives its whole text at once
    # (the same text); a model inside one of several tools running at once is placed
    # in its graph, not in its tool (v3 does not say which tool it ran in): then it is
    # inside that graph's own enclosing tool, if any.
    assert len(got["models"]) == len(want["models"])
    for tags, place, *texts in got["models"]:
        assert any(
            (w_tags, w_texts) == (tags, texts)
            and place in [w_tool, *want["outer"][w_tags, w_tool], None]
            for w_tags, w_tool, *w_texts in want["models"]
        ), (tags, place, texts)
