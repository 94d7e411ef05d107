"""The run table: the one place that holds runs and builds events; its bounds, each
tested at the bound; whole or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from eventstream import End, Start, ToolCall, ToolCallChunk, ToolResult
from eventstream._content import FinalCall
from eventstream._errors import Problem
from eventstream._table import (
    ENDED_WINDOW,
    MAX_FRAGMENTS,
    MAX_PENDING_CALLS,
    ORPHANED,
    ModelEnd,
    RunFields,
    RunTable,
    ToolEnd,
)


def fields(run_id: str, run_type: str = "chain", *parents: str, name: str = "") -> RunFields:
    return RunFields(run_id, name or run_id, run_type, (), {}, tuple(parents))


def model_end(*calls: FinalCall) -> ModelEnd:
    return ModelEnd(None, [], list(calls), None)


def call(call_id: str, name: str = "t", **args: Any) -> FinalCall:
    return FinalCall(call_id, name, dict(args), "", None)


def test_a_run_whose_parent_ends_first_ends_right_before_it() -> None:
    # A chat model that raised inside a tool: astream_events v2 never ends it.
    table, out = RunTable(), []
    root = table.start(fields("root"), None, out)
    tool = table.start(fields("tool", "tool", "root"), {}, out)
    model = table.start(fields("model", "chat_model", "root", "tool"), None, out)
    out.append(table.token(model, "half an ans"))
    table.end(tool, out, tool=ToolEnd("fell back", None, None))
    ends = [(e.run_id, e.error) for e in out if isinstance(e, End)]
    assert ends == [("model", ORPHANED), ("tool", None)]
    assert "never" not in ORPHANED and "reported an end" in ORPHANED
    assert table.open_runs == ["root"]
    table.end(root, out)
    assert [e.seq for e in out] == list(range(len(out)))


def test_a_rejected_start_changes_nothing() -> None:
    table, out = RunTable(), []
    table.start(fields("a"), None, out)
    before = (list(out), table.size)
    with pytest.raises(Problem, match="started already"):
        table.start(fields("a"), None, out)
    assert (out, table.size) == before
    table.end(table.runs["a"], out)
    with pytest.raises(Problem, match="run a ran already"):
        table.check_new("a")
    with pytest.raises(Problem, match="which already ended") as raised:
        table.check_open("a", "a token")
    assert raised.value.run_id == "a"


def test_ended_ids_are_remembered_within_the_window_only() -> None:
    table, out = RunTable(), []
    for number in range(ENDED_WINDOW + 1):
        run = table.start(fields(f"r{number}"), None, out)
        table.end(run, out)
    assert table.size == {"open": 0, "ended": ENDED_WINDOW, "pending_calls": 0}
    # The first run fell out of the window: its id may start afresh; the second not.
    table.check_new("r0")
    with pytest.raises(Problem):
        table.check_new("r1")


def test_fragments_are_kept_up_to_the_bound_then_the_call_says_it_was_cut() -> None:
    for extra in (0, 1):
        table, out = RunTable(), []
        run = table.start(fields("m", "chat_model"), None, out)
        table.chunk(run, [], [(0, "c1", "t", "")] * (MAX_FRAGMENTS - 1 + extra), out)
        table.chunk(run, [], [(0, None, None, "{}")], out)
        table.end(run, out, model=ModelEnd(None, [], None, None))
        (tool_call,) = [e for e in out if isinstance(e, ToolCall)]
        chunks = [e for e in out if isinstance(e, ToolCallChunk)]
        assert len(chunks) == MAX_FRAGMENTS + extra  # every fragment still streams
        if extra:
            assert tool_call.error is not None and f"{MAX_FRAGMENTS:,}" in tool_call.error
            assert tool_call.args == {}
        else:
            assert (tool_call.error, tool_call.args, tool_call.args_text) == (None, {}, "{}")


def test_unclaimed_calls_are_kept_up_to_the_bound_per_root_and_go_with_the_root() -> None:
    table, out = RunTable(), []
    root = table.start(fields("root"), None, out)
    model = table.start(fields("m", "chat_model", "root"), None, out)
    calls = [call(f"c{n}", name=f"tool{n}") for n in range(MAX_PENDING_CALLS + 1)]
    table.end(model, out, model=model_end(*calls))
    assert table.size["pending_calls"] == MAX_PENDING_CALLS
    # The oldest went first: a run of its tool can no longer name it; the next can.
    oldest = table.start(fields("t0", "tool", "root", name="tool0"), {}, out)
    assert oldest.tool_call_id is None
    next_one = table.start(fields("t1", "tool", "root", name="tool1"), {}, out)
    assert next_one.tool_call_id == "c1"
    table.end(oldest, out)
    table.end(next_one, out)
    table.end(root, out)
    assert table.size == {"open": 0, "ended": 4, "pending_calls": 0}


def test_a_tool_run_names_its_call_only_when_it_cannot_be_another() -> None:
    table, out = RunTable(), []
    root = table.start(fields("root"), None, out)
    model = table.start(fields("m", "chat_model", "root"), None, out)
    table.end(
        model,
        out,
        model=model_end(
            call("same1", "search", q="cats"),
            call("same2", "search", q="cats"),
            call("other", "search", q="dogs"),
        ),
    )
    by_args = table.start(fields("t1", "tool", "root", name="search"), {"q": "dogs"}, out)
    twin = table.start(fields("t2", "tool", "root", name="search"), {"q": "cats"}, out)
    unknown_input = table.start(fields("t3", "tool", "root", name="search"), None, out)
    assert (by_args.tool_call_id, twin.tool_call_id, unknown_input.tool_call_id) == (
        "other",
        None,  # two calls with these arguments: it could be either
        None,  # two calls of that name still wait
    )
    # The result names its call: that call is answered, the other twin remains.
    table.end(twin, out, tool=ToolEnd("ok", "same2", None))
    table.end(unknown_input, out, tool=ToolEnd("ok", None, None))
    last = table.start(fields("t4", "tool", "root", name="search"), None, out)
    assert last.tool_call_id == "same1"
    results = [e for e in out if isinstance(e, ToolResult)]
    assert [r.tool_call_id for r in results] == ["same2", None]
    del root


def test_model_end_reports_the_calls_langchain_parsed_matched_to_the_streamed_ones() -> None:
    table, out = RunTable(), []
    run = table.start(fields("m", "chat_model"), None, out)
    table.chunk(run, [], [(0, "a", "weather", '{"city": "Par')], out)
    table.chunk(run, [], [(1, "b", "time", "")], out)
    final = [
        FinalCall("a", "weather", {"city": "Par"}, '{"city": "Par"}', None),
        FinalCall("b", "time", {}, "{}", None),
    ]
    table.end(run, out, model=model_end(*final))
    calls = [
        (e.index, e.tool_call_id, e.args, e.args_text, e.error)
        for e in out
        if e.type == "tool_call"
    ]
    assert calls == [
        (0, "a", {"city": "Par"}, '{"city": "Par', None),
        (1, "b", {}, "{}", None),
    ]


def test_start_end_and_seq_for_every_run() -> None:
    table, out = RunTable(), []
    root = table.start(fields("root"), "in", out)
    table.custom(fields("root"), "progress", {"n": 1}, out)
    table.end(root, out, output="out")
    assert isinstance(out[0], Start) and isinstance(out[-1], End)
    assert out[1].name == "progress" and out[1].run_type == "chain"
    with pytest.raises(Problem, match="custom event for run root which already ended"):
        table.custom(fields("root"), "late", None, out)
