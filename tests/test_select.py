"""select() and Selector: criteria by type, tag, name, run type and ancestry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eventstream import Selection, Selector, normalize, replay, select
from eventstream.testing import ANSWER_TEXT

from .conftest import script_text, texts
from .readers.test_events import GOOD

FIXTURES = Path(__file__).parent.parent / "fixtures"


ANSWER = ANSWER_TEXT
HIDING = script_text("hiding")
ITEMS = script_text("items")
MOOD = script_text("mood")


def _events(name: str) -> list[Any]:
    return list(normalize(replay(FIXTURES / name), strict=True))


def test_select_rejects_unknown_types_and_accepts_a_single_string() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        select([], types=["tokens"])
    assert [e.type for e in select(normalize(GOOD), types="end")] == ["end"]


def test_tool_llm_text_by_tag_and_by_ancestry() -> None:
    events = _events("cat_agent.v2.jsonl")
    assert texts(events, tags=["hiding_spot"]) == HIDING
    assert texts(events, tags=["get_items"]) == ITEMS
    assert texts(events, inside=["get_items"]) == ITEMS
    assert texts(events, inside=["where_cat_is_hiding"]) == HIDING
    # cat_mood's LLM has no tag at all: only ancestry finds it.
    assert texts(events, inside=["cat_mood"]) == MOOD
    assert MOOD not in texts(events, tags=["agent_llm"])
    # The agent's tokens are not inside any tool.
    inside_tools = texts(events, inside=["get_items", "cat_mood", "where_cat_is_hiding"])
    assert ANSWER not in inside_tools
    assert sorted(inside_tools) == sorted(HIDING + ITEMS + MOOD)


def test_a_shared_selector_gives_each_reading_its_own_subtree_state() -> None:
    events = _events("cat_agent.v2.jsonl")
    # cat_mood's LLM has no tag of its own: only ancestry puts it inside cat_mood.
    selector = Selector(inside="cat_mood", types="token")
    alone = [e.seq for e in Selection(events, selector)]
    assert len(alone) > 1
    # Two readings of one selector, interleaved: the second runs through the whole
    # subtree (and its End) while the first is in the middle of it.
    first = iter(Selection(events, selector))
    got = [next(first).seq]
    assert [e.seq for e in Selection(events, selector)] == alone
    got += [e.seq for e in first]
    assert got == alone
