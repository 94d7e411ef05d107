"""The ``eventstream`` command on real recordings: ``dump`` and ``stats``.

The commands run as subprocesses (``python -m eventstream._cli``, what the console
script calls) on recordings of the cat agent made here; the trace and the table are
also checked as the pure functions they are.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eventstream import End, Start, Token, ToolCall, ToolResult, event_from_json, normalize
from eventstream._record import record, replay
from eventstream._trace import run_stats, stats_lines, trace_lines
from eventstream.testing import (
    CAT_SCRIPTS,
    OpenAIServer,
    ScriptedChatModel,
    build_cat_agent,
    chat_model,
    text,
)

from .conftest import CAT_INPUT, run_cli, script_text, scripted

pytestmark = pytest.mark.filterwarnings("ignore:astream_log is deprecated")


ANSWER = script_text("agent", 2)
ITEMS = script_text("items")


def make_recording(path: Path, kind: str = "v2") -> Path:
    agent = build_cat_agent(scripted)

    async def run() -> None:
        source = (
            agent.astream_log(CAT_INPUT)
            if kind == "log"
            else agent.astream_events(CAT_INPUT, version=kind)
        )
        async for _ in record(source, path):
            pass

    asyncio.run(run())
    return path


@pytest.fixture(scope="module")
def cat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_recording(tmp_path_factory.mktemp("cli") / "cat_v2.jsonl")


def body(line: str) -> str:
    """A trace line without its time column ("   12.345s  ")."""
    assert re.match(r"([ \d]{5}\.\d{3}s| {10})  ", line), line
    return line[12:]


def indent(line: str) -> int:
    rest = body(line)
    return len(rest) - len(rest.lstrip(" "))


def line_with(lines: list[str], fragment: str) -> str:
    found = [line for line in lines if fragment in line]
    assert found, f"no line with {fragment!r} in:\n" + "\n".join(lines)
    return found[0]


# -- dump --------------------------------------------------------------------------------


def test_dump_prints_the_run_tree(cat: Path) -> None:
    result = run_cli("dump", cat)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"# {cat}: astream_events recorded ")
    trace = lines[1:]
    agent = line_with(trace, "> cat_agent (chain)")
    tool = line_with(trace, "> where_cat_is_hiding (tool)")
    llm = line_with(trace, "> where_cat_at (chat_model) [hiding_spot]")
    assert indent(agent) < indent(tool) < indent(llm)
    # A run's end is printed at its start's depth, with how long it took.
    end = line_with(trace, "< where_cat_at (chat_model)")
    assert indent(end) == indent(llm)
    assert re.search(r"< where_cat_at \(chat_model\) \d+\.\d ms$", end)
    assert re.search(r"< cat_agent \(chain\) \d+\.\d+ (ms|s)$", trace[-1])


def test_dump_shows_text_tool_calls_and_results(cat: Path) -> None:
    out = run_cli("dump", cat).stdout
    assert f"| {ANSWER}" in out  # the agent's answer, as one block of text
    assert 'tool call get_items({"place": "the laundry basket"}) id=call_items_2' in out
    assert 'tool call cat_mood({"spot": "the laundry basket"}) id=call_mood_3' in out
    assert "tool result where_cat_is_hiding id=call_hide_1 -> the laundry basket" in out
    assert 'input: {"place":"the laundry basket"}' in out


def test_dump_selects_like_select(cat: Path) -> None:
    result = run_cli("dump", cat, "--types", "token", "--tags", "agent_llm")
    assert result.returncode == 0, result.stderr
    trace = result.stdout.splitlines()[1:]
    assert trace
    assert all("| " in line for line in trace)
    # Text whose run's start is not shown just above is labelled with the run's name.
    assert "".join(line.split("| ", 1)[1] for line in trace) == f"(ScriptedChatModel) {ANSWER}"

    inside = run_cli("dump", cat, "--inside", "get_items", "--types", "token").stdout
    assert ITEMS.split("\n")[0] in inside
    assert ANSWER not in inside

    named = run_cli("dump", cat, "--names", "cat_mood,get_items", "--types", "tool_call").stdout
    calls = [line for line in named.splitlines()[1:] if line.strip()]
    assert len(calls) == 2
    assert all("tool call " in line for line in calls)


def test_dump_shows_fragments_only_when_asked(cat: Path) -> None:
    default = run_cli("dump", cat).stdout
    assert "tool call chunk" not in default
    chunks = run_cli("dump", cat, "--types", "tool_call_chunk").stdout
    assert "tool call chunk #1 cat_mood id=call_mood_3" in chunks


def test_dump_json_lines_are_events(cat: Path) -> None:
    result = run_cli("dump", cat, "--json")
    assert result.returncode == 0, result.stderr
    events = [event_from_json(line) for line in result.stdout.splitlines()]
    assert [e.seq for e in events] == list(range(len(events)))
    assert len(events) == len(list(normalize(replay(cat))))
    only_calls = run_cli("dump", cat, "--json", "--types", "tool_call").stdout
    calls = [event_from_json(line) for line in only_calls.splitlines()]
    assert [c.name for c in calls] == ["where_cat_is_hiding", "get_items", "cat_mood"]
    assert all(isinstance(c, ToolCall) for c in calls)


@pytest.mark.parametrize("kind", ["v1", "log"])
def test_dump_reads_every_source(tmp_path: Path, kind: str) -> None:
    path = make_recording(tmp_path / f"cat_{kind}.jsonl", kind)
    result = run_cli("dump", path)
    assert result.returncode == 0, result.stderr
    expected = "astream_log" if kind == "log" else "astream_events"
    assert result.stdout.startswith(f"# {path}: {expected} ")
    if kind == "v1":
        assert f"| {ANSWER}" in result.stdout
    assert run_cli("stats", path).returncode == 0


# -- stats -------------------------------------------------------------------------------


def test_stats_table(cat: Path) -> None:
    result = run_cli("stats", cat)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["run", "type", "duration", "tokens", "ttft", "tok/s"]
    events = list(normalize(replay(cat)))
    runs = [e for e in events if isinstance(e, Start)]
    tokens = sum(isinstance(e, Token) for e in events)
    assert len(lines) == 1 + len(runs) + 1
    assert lines[-1].startswith(f"total: {len(runs)} runs, ")
    assert f", {tokens} tokens, first token at " in lines[-1]
    hiding_tokens = sum(isinstance(e, Token) and e.name == "where_cat_at" for e in events)
    row = line_with(lines, "where_cat_at").split()
    assert row[:2] == ["where_cat_at", "chat_model"]
    assert row[4] == str(hiding_tokens)
    # Children are listed under their parents, indented.
    hiding_llm, hiding_tool = line_with(lines, "where_cat_at"), line_with(lines, "where_cat_is")
    assert hiding_llm.index("w") > hiding_tool.index("w")


# -- errors and exit codes -------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    for command in ("dump", "stats"):
        result = run_cli(command, missing)
        assert result.returncode == 1
        assert result.stdout == ""
        assert f"{missing}: no such file" in result.stderr


def test_not_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n")
    result = run_cli("dump", path)
    assert result.returncode == 1
    assert "not an eventstream recording" in result.stderr
    assert str(path) in result.stderr


def test_a_damaged_recording_prints_what_it_can(cat: Path, tmp_path: Path) -> None:
    lines = cat.read_bytes().splitlines(keepends=True)
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(b"".join(lines[:-1]) + lines[-1][:20])
    result = run_cli("dump", damaged)
    assert result.returncode == 1
    assert "> cat_agent (chain)" in result.stdout
    assert f"{damaged}:{len(lines)}" in result.stderr
    assert "skipped 1 unreadable line" in result.stderr
    strict = run_cli("dump", damaged, "--strict")
    assert strict.returncode == 1
    assert f"{damaged}:{len(lines)}: the line is cut short" in strict.stderr


def test_a_recording_with_unusable_time_offsets_prints_everything(
    cat: Path, tmp_path: Path
) -> None:
    lines = cat.read_bytes().splitlines(keepends=True)
    retimed = tmp_path / "retimed.jsonl"
    lines[5] = re.sub(rb'^\{"t":[^,]*,', b'{"t":1e308,', lines[5])
    retimed.write_bytes(b"".join(lines))
    result = run_cli("stats", retimed)
    assert result.returncode == 1
    rows = [line.split()[:2] for line in result.stdout.splitlines()]
    assert rows == [line.split()[:2] for line in run_cli("stats", cat).stdout.splitlines()]
    assert (
        f"1 line(s) with an unusable time offset, shown at the offset of the line before "
        f"of {retimed}; the first: {retimed}:6: time offset 1e+308 is beyond"
    ) in result.stderr
    strict = run_cli("dump", retimed, "--strict")
    assert strict.returncode == 1
    assert f"{retimed}:6: time offset 1e+308" in strict.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["dump", "x.jsonl", "--colour"], "unrecognized arguments: --colour"),
        (["dump"], "the following arguments are required: PATH"),
        (["explode"], "invalid choice: 'explode'"),
        ([], "the following arguments are required: COMMAND"),
        (["dump", "x.jsonl", "--types", "tokens"], "unknown event type(s) tokens"),
        (["dump", "x.jsonl", "--tags", ","], "expected a comma-separated list"),
    ],
)
def test_usage_errors_exit_2(args: list[str], says: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert says in result.stderr
    assert result.stdout == ""


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("dump", "stats", "demo"):
        assert command in result.stdout


def test_a_recorded_failure_is_shown(tmp_path: Path) -> None:
    from eventstream.testing import Fail

    model = ScriptedChatModel(turns=[[*text("partial answer"), Fail("provider went away")]])
    path = tmp_path / "failed.jsonl"

    async def run() -> None:
        with pytest.raises(RuntimeError):
            async for _ in record(model.astream_events("hi", version="v2"), path):
                pass

    asyncio.run(run())
    result = run_cli("dump", path)
    assert result.returncode == 0
    assert "| partial answer" in result.stdout
    assert "ERROR: RuntimeError: provider went away" in result.stdout
    assert "the recorded stream raised RuntimeError: provider went away" in result.stderr


# -- the pure functions ------------------------------------------------------------------------


def common(run_id: str, name: str, run_type: str, parents: tuple[str, ...]) -> dict[str, Any]:
    return {"run_id": run_id, "name": name, "run_type": run_type, "parent_ids": parents}


def timed() -> list[tuple[float, Any]]:
    agent = common("a", "agent", "chain", ())
    model = common("m", "model", "chat_model", ("a",))
    tool = common("t", "search", "tool", ("a",))
    call = {**model, "name": "search"}  # a tool call event is named after the tool
    return [
        (0.0, Start(seq=0, **agent)),
        (0.1, Start(seq=1, **model)),
        (0.3, Token(seq=2, text="Let me", **model)),
        (0.35, Token(seq=3, text=" look.\nOK", **model)),
        (0.4, ToolCall(seq=4, index=0, tool_call_id="c1", args_text='{"q": "cats"}', **call)),
        (0.5, End(seq=5, **model)),
        (0.6, Start(seq=6, input={"q": "cats"}, tool_call_id="c1", **tool)),
        (1.6, ToolResult(seq=7, tool_call_id="c1", output="found 3", **tool)),
        (1.6, End(seq=8, error="TimeoutError: slow", **tool)),
        (2.5, End(seq=9, **agent)),
    ]


def test_trace_lines() -> None:
    lines = list(trace_lines(timed()))
    assert [body(line) for line in lines] == [
        "> agent (chain)",
        "  > model (chat_model)",
        "    | Let me look.",
        "    | OK",
        '    tool call search({"q": "cats"}) id=c1',
        "  < model (chat_model) 400.0 ms",
        '  > search (tool) input: {"q":"cats"}',
        "    tool result search id=c1 -> found 3",
        "  < search (tool) 1.000 s ERROR: TimeoutError: slow",
        "< agent (chain) 2.500 s",
    ]
    assert lines[2].startswith("    0.300s")
    assert lines[3].startswith(" " * 10)  # a text block's next lines carry no time


def test_stats_of_timed_events() -> None:
    runs, last = run_stats(timed())
    assert last == 2.5
    by_name = {run.name: run for run in runs}
    model = by_name["model"]
    assert model.duration == pytest.approx(0.4)
    assert model.tokens == 2
    assert model.time_to_first_token == pytest.approx(0.2)
    assert model.tokens_per_second == pytest.approx(5.0)
    assert by_name["search"].error == "TimeoutError: slow"
    assert [run.name for run in runs] == ["agent", "model", "search"]
    table = stats_lines(timed())
    assert table[-1] == (
        "total: 3 runs (1 failed, marked !), 2.500 s, 2 tokens, first token at 300.0 ms, 0.8 tok/s"
    )
    assert "search !" in table[3]


def test_stats_totals_token_usage_per_run_and_per_stream(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"

    async def run() -> list[Any]:
        with OpenAIServer(CAT_SCRIPTS) as server:
            agent = build_cat_agent(lambda role: chat_model(server, role, stream_usage=True))
            raw = agent.astream_events({"messages": [("user", "where?")]}, version="v2")
            return [e async for e in normalize(record(raw, str(path)))]

    events = asyncio.run(run())
    usages = [e.usage for e in events if isinstance(e, End) and e.run_type == "chat_model"]
    assert len(usages) == 6 and all(u is not None and u.output_tokens > 0 for u in usages)
    result = subprocess.run(
        [sys.executable, "-m", "eventstream._cli", "stats", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert "usage in/out" in lines[0]
    total_in = sum(u.input_tokens for u in usages if u)
    total_out = sum(u.output_tokens for u in usages if u)
    assert f"usage {total_in} in + {total_out} out" in lines[-1]
    first = usages[0]
    assert first is not None
    assert any(f"{first.input_tokens}/{first.output_tokens}" in line for line in lines[1:-1])


# -- every recording record() can write ----------------------------------------------------


class NoStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def odd_items(depths: list[int]) -> list[dict[str, Any]]:
    """Raw v2 items with what record() keeps and JSON cannot carry as it is: lone
    surrogates (in a token, a run's name, tags, a tool's input), a tool run per depth
    with that many levels of nesting, bytes that are not UTF-8, a value whose str()
    raises, a cycle."""
    from langchain_core.messages import AIMessageChunk

    loop: list[Any] = []
    loop.append(loop)
    metadata: dict[str, Any] = {"ls_provider": "odd"}

    def item(event: str, run_id: str, name: str, data: Any, parents: list[str]) -> Any:
        return {
            "event": event,
            "run_id": run_id,
            "name": name,
            "tags": ["t\udc80"],
            "metadata": metadata,
            "parent_ids": parents,
            "data": data,
        }

    chunk = AIMessageChunk(content="a\ud800b", id="run-m")
    items = [
        item("on_chain_start", "root", "agent\udc80", {"input": {"q": "\ud83d"}}, []),
        item("on_chat_model_start", "m", "model", {"input": {}}, ["root"]),
        item("on_chat_model_stream", "m", "model", {"chunk": chunk}, ["root"]),
        item("on_chat_model_end", "m", "model", {"output": chunk}, ["root"]),
        item("on_custom_event", "m", "odd", {"raw": b"\xff\xfe", "obj": NoStr()}, ["root"]),
        item("on_custom_event", "m", "loop", loop, ["root"]),
    ]
    for depth in depths:
        deep: Any = "core"
        for _ in range(depth):
            deep = {"a": [deep]}  # two levels each
        name = f"deep{depth}\ud800"
        items.append(item("on_tool_start", f"t{depth}", name, {"input": deep}, ["root"]))
        items.append(item("on_tool_end", f"t{depth}", name, {"output": deep}, ["root"]))
    items.append(item("on_chain_end", "root", "agent\udc80", {"output": "done\udfff"}, []))
    return items


def test_dump_and_stats_work_on_whatever_record_wrote(tmp_path: Path) -> None:
    # Nesting: within pydantic's limit; beyond it; about as deep as record() writes
    # (deeper, it writes a note instead of the item, as for the cycle).
    path = tmp_path / "odd.jsonl"
    for _ in record(odd_items([3, 150, 240, 3000]), path):
        pass
    trace = run_cli("dump", path)  # run_cli decodes stdout as strict UTF-8
    assert trace.returncode == 0, trace.stderr
    assert "| a\ufffdb" in trace.stdout
    assert "> agent\ufffd (chain) [t\ufffd]" in trace.stdout
    assert "> deep3\ufffd (tool)" in trace.stdout
    assert "> deep150\ufffd (tool)" in trace.stdout
    lines = run_cli("dump", path, "--json")
    assert lines.returncode == 0, lines.stderr
    events = [event_from_json(line) for line in lines.stdout.splitlines()]
    assert [e.seq for e in events] == list(range(len(events)))
    assert [e.text for e in events if isinstance(e, Token)] == ["a\ufffdb"]
    assert {e.name for e in events} >= {"agent\ufffd", "model", "deep3\ufffd", "deep150\ufffd"}
    stats = run_cli("stats", path)
    assert stats.returncode == 0, stats.stderr
    assert line_with(stats.stdout.splitlines(), "agent\ufffd").split()[1] == "chain"
    answer = run_cli("dump", path, "--answer")
    assert (answer.returncode, answer.stdout) == (0, "a\ufffdb\n"), answer.stderr
    answer_json = run_cli("dump", path, "--answer", "--json")
    assert answer_json.returncode == 0, answer_json.stderr
    assert json.loads(answer_json.stdout.splitlines()[0])["text"] == "a\ufffdb"


def test_trace_lines_show_any_value() -> None:
    # Live events (the demo traces them) can hold what no recording does: a cycle.
    loop: list[Any] = ["x"]
    loop.append(loop)
    deep: Any = "core"
    for _ in range(5000):
        deep = [deep]
    tool = common("t", "search", "tool", ())
    lines = list(
        trace_lines(
            [
                (0.0, Start(seq=0, input=loop, **tool)),
                (0.1, ToolResult(seq=1, output=deep, **tool)),
                (0.2, End(seq=2, error="bad \ud800", **tool)),
            ]
        )
    )
    assert [body(line) for line in lines] == [
        '> search (tool) input: ["x","<cycle>"]',
        "  tool result search -> " + "[" * 159 + "…",  # cut at 160 characters
        "< search (tool) 200.0 ms ERROR: bad \ud800",
    ]
