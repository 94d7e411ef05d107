"""The shipped fixtures: each is a real run, replays exactly, and matches a fresh run."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from eventstream import (
    End,
    Start,
    Token,
    ToolCall,
    ToolResult,
    event_from_json,
    event_to_json,
    normalize,
    record,
    replay,
    select,
)
from eventstream.testing import (
    ANSWER_TEXT,
    ITEMS_TEXT,
    SCENARIOS,
    OpenAIServer,
    Scenario,
    chat_model,
    raw_stream,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = [(name, source) for name, s in SCENARIOS.items() for source in s.sources]


async def live_run(scenario: Scenario, source: str, path: Path) -> tuple[list[Any], list[str]]:
    """Events of a fresh run on ChatOpenAI + the local server, and their JSON taken as
    they arrive (LangGraph changes some messages after streaming them)."""
    events: list[Any] = []
    as_json: list[str] = []
    with OpenAIServer(scenario.scripts) as server:
        runnable = scenario.build(lambda role: chat_model(server, role))
        try:
            async for event in normalize(record(raw_stream(scenario, runnable, source), str(path))):
                events.append(event)
                as_json.append(event_to_json(event))
        except Exception:
            if not scenario.raises:
                raise
    return events, as_json


def replayed(path: Path, raises: bool) -> list[Any]:
    events: list[Any] = []
    try:
        for event in normalize(replay(path)):
            events.append(event)
    except Exception:
        if not raises:
            raise
    return events


def shape(events: list[Any]) -> Counter[Any]:
    """What a fresh run must repeat: each run's place, kind and events, ids left out.

    Concurrent runs interleave differently from run to run, so runs are compared as a
    multiset; within a run, events keep their order.
    """
    names = {e.run_id: e.name for e in events if isinstance(e, Start)}
    runs: dict[str, list[Any]] = {}
    for e in events:
        if isinstance(e, Token):
            item: Any = ("token", e.kind, e.text)
        elif isinstance(e, ToolCall):
            item = ("tool_call", e.index, e.tool_call_id, e.name, e.args_text, e.error)
        elif isinstance(e, ToolResult):
            item = ("tool_result", e.tool_call_id, str(e.output), e.error)
        elif isinstance(e, Start):
            tool_input = json.dumps(e.input, sort_keys=True) if e.run_type == "tool" else None
            item = ("start", e.tool_call_id, tool_input)
        elif isinstance(e, End):
            item = ("end", e.error)
        else:
            item = (e.type, e.name)
        runs.setdefault(e.run_id, []).append(item)
    return Counter(
        (
            names.get(run_id, ""),
            tuple(
                names.get(p, "?") for p in next(e.parent_ids for e in events if e.run_id == run_id)
            ),
            tuple(items),
        )
        for run_id, items in runs.items()
    )


@pytest.mark.parametrize(("name", "source"), CASES)
async def test_live_run_replays_to_the_same_events(name: str, source: str, tmp_path: Path) -> None:
    scenario = SCENARIOS[name]
    path = tmp_path / f"{name}.{source}.jsonl"
    live, live_json = await live_run(scenario, source, path)
    again = replayed(path, scenario.raises)
    assert [event_to_json(e) for e in again] == live_json
    assert len(live) > 10


@pytest.mark.parametrize(("name", "source"), CASES)
async def test_shipped_fixture_matches_a_fresh_run(name: str, source: str, tmp_path: Path) -> None:
    scenario = SCENARIOS[name]
    fixture = FIXTURES / f"{name}.{source}.jsonl"
    assert fixture.exists(), f"missing {fixture}: run `python fixtures/record.py {name}`"
    fresh, _ = await live_run(scenario, source, tmp_path / "fresh.jsonl")
    shipped = replayed(fixture, scenario.raises)
    assert shape(shipped) == shape(fresh), f"{fixture} is stale: re-record it"


def test_cat_fixtures_tell_the_same_story_in_every_format() -> None:
    for source in ("v2", "v1", "log"):
        events = list(normalize(replay(FIXTURES / f"cat_agent.{source}.jsonl")))
        answer = "".join(t.text for t in select(events, types="token", tags="agent_llm"))
        assert answer == ANSWER_TEXT, source
        items = "".join(t.text for t in select(events, types="token", tags="get_items"))
        assert items == ITEMS_TEXT, source
        results = {r.tool_call_id for r in events if isinstance(r, ToolResult)}
        assert results == {"call_hide_1", "call_items_2", "call_mood_3"}, source


def test_nested_agent_keeps_the_inner_agent_inside_its_tool() -> None:
    events = list(normalize(replay(FIXTURES / "nested_agent.v2.jsonl")))
    inner = "".join(t.text for t in select(events, types="token", inside="ask_cat_expert"))
    assert ANSWER_TEXT in inner
    outer = [
        t.text
        for t in select(events, types="token", tags="agent_llm")
        if t.run_id not in {e.run_id for e in select(events, inside="ask_cat_expert")}
    ]
    assert "".join(outer) == "".join(
        s.text
        for s in SCENARIOS["nested_agent"].scripts["concierge"][1]  # type: ignore[union-attr]
    )


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventstream._cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("name", "source"), CASES)
def test_cli_reads_every_fixture(name: str, source: str) -> None:
    path = str(FIXTURES / f"{name}.{source}.jsonl")
    events = replayed(Path(path), SCENARIOS[name].raises)
    dump = cli("dump", path)
    assert dump.returncode == 0, dump.stderr
    for call in (e for e in events if isinstance(e, ToolCall)):
        assert f"tool call {call.name}({call.args_text})" in dump.stdout
    stats = cli("stats", path)
    assert stats.returncode == 0, stats.stderr
    assert stats.stdout.splitlines()[-1].startswith("total: ")
    as_json = cli("dump", "--json", path)
    assert [event_from_json(line).type for line in as_json.stdout.splitlines()] == [
        e.type for e in events
    ]


@pytest.mark.parametrize("recording", sorted(FIXTURES.glob("*.jsonl")), ids=lambda p: p.name)
def test_each_fixture_has_its_golden_trace_beside_it(recording: Path) -> None:
    """A behaviour change of the normalizer shows as a readable diff of these files:
    rewrite them with ``python fixtures/record.py --traces`` and review the diff."""
    sys.path.insert(0, str(FIXTURES))
    try:
        import record as recorder
    finally:
        sys.path.remove(str(FIXTURES))
    golden = recorder.trace_path(recording)
    assert golden.exists(), f"{golden.name} is missing: python fixtures/record.py --traces"
    assert recorder.trace_of(recording) == golden.read_text(), (
        f"{golden.name} no longer matches: python fixtures/record.py --traces, then review the diff"
    )
