"""``dump`` and ``stats`` on raw stream items saved without a recording header
(``eventstream/_raw.py``): every form people already have, from real runs.

Each file is written here from a real run of the cat agent on scripted models, the
way people save their debugging dumps: ``json.dumps(item, default=...)`` per line with
chunks in ``model_dump()`` or ``dumpd`` form, ``astream_log`` patches as their ops,
LangServe's SSE text, LangGraph's stream modes (tuples become arrays), v3 events.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.load import dumpd
from pydantic import BaseModel

from eventstream import STREAM_MODES, RecordingError, ToolCall, normalize, record
from eventstream._raw import RawItems, raw_form
from eventstream.testing import CAT_QUESTION, CAT_SCRIPTS

from .conftest import CAT_INPUT, collect, run_cli, script_text, scripted

pytestmark = [
    pytest.mark.filterwarnings("ignore:astream_log is deprecated"),
    pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning"),
]

ANSWER = script_text("agent", 2)
CALLS = ["where_cat_is_hiding", "get_items", "cat_mood"]


def as_model_dump(value: Any) -> Any:
    return value.model_dump() if isinstance(value, BaseModel) else str(value)


def as_dumpd(value: Any) -> Any:
    return dumpd(value)


def agent() -> Any:
    from eventstream.testing import build_cat_agent

    return build_cat_agent(scripted)


def write_lines(path: Path, items: list[Any], default: Callable[[Any], Any]) -> Path:
    path.write_text("".join(json.dumps(item, default=default) + "\n" for item in items))
    return path


def write_sse(path: Path, items: list[Any]) -> Path:
    frames = [f"event: data\ndata: {json.dumps(i, default=as_model_dump)}\n\n" for i in items]
    path.write_text("".join(frames) + "event: end\n\n")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One file per form, and the recording of the same kind of run."""
    folder = tmp_path_factory.mktemp("raw")

    async def make() -> dict[str, Path]:
        v2 = await collect(agent().astream_events(CAT_INPUT, version="v2"))
        v1 = await collect(agent().astream_events(CAT_INPUT, version="v1"))
        log = [{"ops": patch.ops} for patch in await collect(agent().astream_log(CAT_INPUT))]
        modes = {
            version: await collect(
                agent().astream(
                    CAT_INPUT, stream_mode=list(STREAM_MODES), subgraphs=True, version=version
                )
            )
            for version in ("v1", "v2")
        }
        v3 = await collect(await agent().astream_events(CAT_INPUT, version="v3"))
        recording = folder / "recording.jsonl"
        async for _ in record(agent().astream_events(CAT_INPUT, version="v2"), recording):
            pass
        return {
            "recording": recording,
            "v2 model_dump": write_lines(folder / "v2_dump.jsonl", v2, as_model_dump),
            "v2 dumpd": write_lines(folder / "v2_dumpd.jsonl", v2, as_dumpd),
            "v1": write_lines(folder / "v1.jsonl", v1, as_model_dump),
            "astream_log": write_lines(folder / "log.jsonl", log, as_model_dump),
            "/stream_events": write_sse(folder / "stream_events.txt", v2),
            "/stream_log": write_sse(folder / "stream_log.txt", log),
            "modes v1": write_lines(folder / "modes_v1.jsonl", modes["v1"], as_model_dump),
            "modes v2": write_lines(folder / "modes_v2.jsonl", modes["v2"], as_model_dump),
            "v3": write_lines(folder / "v3.jsonl", v3, as_model_dump),
        }

    return asyncio.run(make())


def untimed(trace: str) -> list[str]:
    """Trace lines without the time column and durations."""
    lines = [line[12:] for line in trace.splitlines()[1:]]
    return [re.sub(r" \d+\.\d+ m?s( ERROR|$)", r"\1", line) for line in lines]


def test_v2_items_in_both_json_forms_dump_as_the_recording_does(files: dict[str, Path]) -> None:
    recorded = run_cli("dump", files["recording"])
    assert recorded.returncode == 0, recorded.stderr
    for form in ("v2 model_dump", "v2 dumpd", "/stream_events"):
        raw = run_cli("dump", files[form])
        assert raw.returncode == 0, raw.stderr
        assert untimed(raw.stdout) == untimed(recorded.stdout), form
        assert raw.stdout.splitlines()[0].endswith("raw items read as astream_events (v1/v2)")
        assert "less exact than a recording" in raw.stderr
        # No times: the column is blank, not a row of zeros.
        assert all(line.startswith(" " * 12) for line in raw.stdout.splitlines()[1:])


@pytest.mark.parametrize(
    ("form", "format_name"),
    [
        ("v1", "astream_events (v1/v2)"),
        ("astream_log", "astream_log"),
        ("/stream_log", "astream_log"),
        ("modes v1", "LangGraph stream modes"),
        ("modes v2", "LangGraph stream modes"),
        ("v3", "astream_events v3"),
    ],
)
def test_every_form_is_detected_by_its_shape(
    files: dict[str, Path], form: str, format_name: str
) -> None:
    result = run_cli("dump", files[form])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith(f"raw items read as {format_name}")
    assert "raw stream items without a recording header" in result.stderr
    assert "tool call get_items(" in result.stdout
    out = run_cli("dump", files[form], "--json").stdout
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["name"] for e in events if e["type"] == "tool_call"] == CALLS
    tokens = run_cli("dump", files[form], "--types", "token", "--tags", "agent_llm", "--json")
    text = "".join(json.loads(line)["text"] for line in tokens.stdout.splitlines())
    assert text == ANSWER


def test_raw_openai_chunks_saved_as_json_lines(tmp_path: Path) -> None:
    """What a service relaying the openai SDK's chunks saves: one model run."""
    from openai import OpenAI

    from eventstream.testing import OpenAIServer

    path = tmp_path / "openai.jsonl"
    with OpenAIServer(CAT_SCRIPTS) as server:
        client = OpenAI(base_url=server.base_url, api_key="test")
        stream = client.chat.completions.create(
            model="agent",
            messages=[{"role": "user", "content": CAT_QUESTION}],
            stream=True,
            stream_options={"include_usage": True},
        )
        path.write_text("".join(chunk.model_dump_json() + "\n" for chunk in stream))
    result = run_cli("dump", path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("raw items read as OpenAI chat completion chunks")
    assert "tool call where_cat_is_hiding({}) id=call_hide_1" in result.stdout
    stats = run_cli("stats", path).stdout.splitlines()
    assert stats[1].split()[:2] == ["agent", "chat_model"]
    assert "usage" in stats[-1]


def test_stats_of_raw_items_counts_tokens_without_times(files: dict[str, Path]) -> None:
    result = run_cli("stats", files["v2 model_dump"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["run", "type", "tokens"]
    assert lines[-1].endswith("tokens (no timings: the file has none)")
    assert "less exact than a recording" in result.stderr
    recorded = run_cli("stats", files["recording"]).stdout.splitlines()
    assert [line.split()[:2] for line in lines[1:-1]] == [
        line.split()[:2] for line in recorded[1:-1]
    ]


def test_the_answer_of_raw_items(files: dict[str, Path]) -> None:
    result = run_cli("dump", files["v2 dumpd"], "--answer")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER + "\n"


def test_raw_form_tells_raw_items_from_recordings(files: dict[str, Path], tmp_path: Path) -> None:
    assert raw_form(files["recording"]) is None
    assert raw_form(files["v2 dumpd"]) == "json"
    assert raw_form(files["/stream_log"]) == "sse"
    (tmp_path / "blank_first.jsonl").write_text('\n\n{"event": "on_chain_start"}\n')
    assert raw_form(tmp_path / "blank_first.jsonl") == "json"
    for text in ("", "just some notes\n", '"a string"\n', "42\n"):
        (tmp_path / "other.txt").write_text(text)
        assert raw_form(tmp_path / "other.txt") is None, text
    assert raw_form(tmp_path / "missing.jsonl") is None


def test_langgraph_tuples_come_back_as_tuples(tmp_path: Path) -> None:
    path = tmp_path / "tuples.jsonl"
    message = {"type": "AIMessageChunk", "content": "hi"}
    path.write_text(
        json.dumps([["tools:1"], "messages", [message, {"k": 1}]])
        + "\n"
        + json.dumps(["messages", [message, {}]])
        + "\n"
        + json.dumps({"type": "messages", "ns": [], "data": [message, {}]})
        + "\n"
        + json.dumps([{"op": "add", "path": "/x", "value": 1}])
        + "\n"
    )
    items = list(RawItems(path, "json"))
    assert items[0] == (["tools:1"], "messages", (message, {"k": 1}))
    assert items[1] == ("messages", (message, {}))
    assert items[2]["data"] == (message, {})
    assert items[3] == [{"op": "add", "path": "/x", "value": 1}]  # ops stay a list


def test_unreadable_lines_are_skipped_and_named(files: dict[str, Path], tmp_path: Path) -> None:
    lines = files["v2 model_dump"].read_text().splitlines(keepends=True)
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text("".join([*lines[:5], "{not json\n", *lines[5:-1], lines[-1][:30]]))
    result = run_cli("dump", damaged)
    assert result.returncode == 1
    assert "> cat_agent (chain)" in result.stdout
    assert "skipped 2 unreadable line(s)" in result.stderr
    assert f"{damaged}:6: not a JSON line" in result.stderr
    strict = run_cli("dump", damaged, "--strict")
    assert strict.returncode == 1
    assert f"{damaged}:6: not a JSON line" in strict.stderr
    raw = RawItems(damaged, "json")
    assert len(list(raw)) == len(lines) - 1
    assert [error.line for error in raw.errors] == [6, len(lines) + 1]
    assert "the file ends mid-line" in str(raw.errors[-1])
    with pytest.raises(RecordingError, match=":6: not a JSON line"):
        list(RawItems(damaged, "json", strict=True))


def test_sse_frames_metadata_end_and_error(tmp_path: Path) -> None:
    start = {"event": "on_chain_start", "run_id": "r", "name": "chain", "tags": [], "data": {}}
    path = tmp_path / "stream.txt"
    path.write_text(
        ": a comment\n"
        'event: metadata\ndata: {"run_id": "r"}\n\n'
        f"event: data\ndata: {json.dumps(start)}\n\n"
        "event: error\n"
        'data: {"status_code": 500, "message": "Internal Server Error"}\n\n'
        f"event: data\ndata: {json.dumps(start)}\n\n"
    )
    raw = RawItems(path, "sse")
    seen = []
    with pytest.raises(Exception, match="Internal Server Error") as raised:
        seen.extend(raw)
    assert seen == [start]
    assert type(raised.value).__name__ == "ServerError"
    result = run_cli("dump", path)
    assert "> chain (chain)" in result.stdout
    assert "the recorded stream raised ServerError: Internal Server Error" in result.stderr
    ended = tmp_path / "ended.txt"
    ended.write_text(f"data: {json.dumps(start)}\n\nevent: end\n\ndata: {{}}\n\n")
    assert list(RawItems(ended, "sse")) == [start]


def test_a_file_no_reader_takes_says_what_it_looks_like(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text('{"a": 1}\n')
    result = run_cli("dump", path)
    assert result.returncode == 1
    assert "no reader for this stream" in result.stderr
    assert "raw items read as unrecognised" in result.stdout


def test_tool_calls_of_raw_and_recorded_v2_are_the_same(files: dict[str, Path]) -> None:
    from eventstream import replay

    recorded = [e for e in normalize(replay(files["recording"])) if isinstance(e, ToolCall)]
    for form in ("v2 model_dump", "v2 dumpd"):
        raw = [e for e in normalize(RawItems(files[form], "json")) if isinstance(e, ToolCall)]
        assert [(c.name, c.args, c.tool_call_id) for c in raw] == [
            (c.name, c.args, c.tool_call_id) for c in recorded
        ]
