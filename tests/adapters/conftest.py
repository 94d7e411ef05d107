"""Shared scenes for the protocol tests: the cat run's facts, scripted agents, recordings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent

from eventstream import Event, Selector, normalize, replay
from eventstream.testing import (
    CAT_SCRIPTS,
    HIDING_SPOT,
    ITEMS_TEXT,
    MOOD_TEXT,
    OpenAIServer,
    ScriptedChatModel,
    Step,
)

FIXTURES = sorted((Path(__file__).resolve().parents[2] / "fixtures").glob("*.jsonl"))

TOOL_ARGS = {
    "where_cat_is_hiding": {},
    "get_items": {"place": HIDING_SPOT},
    "cat_mood": {"spot": HIDING_SPOT},
}
TOOL_OUTPUTS = {"where_cat_is_hiding": HIDING_SPOT, "get_items": ITEMS_TEXT, "cat_mood": MOOD_TEXT}
TOOL_INNER_TEXT = TOOL_OUTPUTS  # each cat tool returns what its own LLM streamed
USER = "What items are located where the cat is hiding?"


def answer_for(path: Path) -> Selector | None:
    """The answer selection a recording needs: sources without ancestry need one."""
    return (
        Selector(types="token", tags="agent_llm")
        if ".v1." in path.name or ".log." in path.name
        else None
    )


def recorded_events(path: Path) -> tuple[list[Event], BaseException | None]:
    """A recording's events, and what its source raised at the end (if anything)."""
    events: list[Event] = []
    try:
        events.extend(normalize(replay(path)))
    except Exception as exc:
        return events, exc
    return events, None


async def scripted_events(turns: list[list[Step]], **model: Any) -> list[Event]:
    """The events of a tool-less ``create_agent`` on a scripted model (its turns)."""
    agent = create_agent(ScriptedChatModel(turns=turns, **model), [], name="scripted_agent")
    raw = agent.astream_events({"messages": [("user", "hi")]}, version="v2")
    return [event async for event in normalize(raw)]


@pytest.fixture
def cat_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(CAT_SCRIPTS, delay=0.005) as server:
        yield server


def run_sync(coroutine: Any) -> Any:
    return asyncio.run(coroutine)
