"""The one ancestry tracker: parents, depth, the enclosing tool, memory that follows
the open runs; and selection state that belongs to one reading."""

from __future__ import annotations

from pathlib import Path

from eventstream import End, Start, Token, normalize, replay
from eventstream._ancestry import Ancestry

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _events(name: str) -> list:
    return list(normalize(replay(FIXTURES / name), strict=True))


def test_parents_depth_and_enclosing_tool_from_parent_ids() -> None:
    ancestry = Ancestry()
    seen = {}
    for event in _events("cat_agent.v2.jsonl"):
        info = ancestry.see(event)
        if isinstance(event, Start):
            seen[event.name, event.run_id] = info
    assert ancestry.has_ancestry
    assert len(ancestry) == 0  # every run ended: nothing kept
    by_name = {name: info for (name, _), info in seen.items()}
    llm = by_name["Get Items LLM"]
    assert llm.tool is not None and llm.tool.name == "get_items"
    assert llm.tool.tool_call_id is not None
    assert [run.name for run in llm.lineage()][-1] == "cat_agent"
    assert llm.depth == len(list(llm.lineage())) - 1
    assert by_name["cat_agent"].tool is None and by_name["cat_agent"].depth == 0
    # The agent's own model runs are inside no tool.
    agent_models = [
        info for (name, _), info in seen.items() if name == "ChatOpenAI" and info.tool is None
    ]
    assert len(agent_models) == 3


def test_without_parent_ids_depth_counts_open_runs_and_nothing_is_a_parent() -> None:
    ancestry = Ancestry()
    depths = []
    for event in _events("cat_agent.v1.jsonl"):
        info = ancestry.see(event)
        assert info.parent is None
        if isinstance(event, Start):
            depths.append(info.depth)
    assert not ancestry.has_ancestry
    assert depths[0] == 0 and max(depths) >= 3
    assert len(ancestry) == 0


def test_a_custom_event_decides_nothing_for_its_run() -> None:
    start = Start(seq=0, run_id="r", name="outer")
    custom_events = [
        start,
        # A custom event's name is the event's, not the run's.
        *normalize([{"event": "on_custom_event", "run_id": "x", "name": "get_items", "data": 1}]),
    ]
    ancestry = Ancestry()
    for event in custom_events:
        ancestry.see(event)
    assert ancestry.get("x") is None
    assert ancestry.get("r") is not None and ancestry.get("r").name == "outer"
    tokens = [Token(seq=1, run_id="r", text="hi"), End(seq=2, run_id="r")]
    for event in tokens:
        ancestry.see(event)
    assert len(ancestry) == 0
