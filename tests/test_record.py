"""Recording real runs and replaying them: the replay gives the events the run gave.

Every run here is real: the cat agent (``create_agent`` with tools that run their own
LLMs) on scripted models, through ``astream_events`` v2 and v1 and ``astream_log``.
Live events are captured as they arrive (JSON and a deep copy), because LangGraph
changes some messages after it has streamed them (it names the agent's messages and
gives tool messages ids): the recording holds what the stream said at the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import datetime as dt
import json
import re
import uuid
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core._api import LangChainBetaWarning
from langchain_core.load import dumpd, load
from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage
from langchain_core.tracers.log_stream import RunLog, RunLogPatch
from pydantic import BaseModel, TypeAdapter

import eventstream._record as record_module
from eventstream import (
    Custom,
    RecordingError,
    Token,
    ToolCall,
    ToolResult,
    event_to_json,
    normalize,
)
from eventstream._record import MAX_OFFSET, OFFSET_TOLERANCE, record, replay
from eventstream._serialize import (
    OpaqueValue,
    ReplayedError,
    Reviver,
    dump_lc,
    dumps_line,
    jsonable,
    loads_line,
)
from eventstream.testing import (
    Fail,
    ScriptedChatModel,
    build_cat_agent,
    text,
)

from .conftest import CAT_INPUT, scripted

pytestmark = pytest.mark.filterwarnings("ignore:astream_log is deprecated")

ANY = TypeAdapter(Any)
SOURCES = ["v2", "v1", "log"]


def as_json(value: Any) -> bytes:
    """A raw item's JSON, with the same fallback event_to_json uses (``str``)."""
    if isinstance(value, RunLogPatch):
        value = value.ops
    return ANY.dump_json(value, fallback=str)


def cat_source(kind: str, agent: Any = None, **kwargs: Any) -> AsyncIterator[Any]:
    agent = agent or build_cat_agent(scripted)
    if kind == "log":
        return agent.astream_log(CAT_INPUT, **kwargs)  # type: ignore[no-any-return]
    return agent.astream_events(CAT_INPUT, version=kind, **kwargs)  # type: ignore[no-any-return]


@dataclasses.dataclass
class LiveRun:
    items: list[Any]  # the raw items, as the consumer got them
    items_json: list[bytes]  # their JSON when they arrived
    events: list[Any]  # deep copies of the events, taken when they arrived
    events_json: list[str]  # event_to_json when they arrived


async def record_live(source: AsyncIterable[Any], path: Path, **kwargs: Any) -> LiveRun:
    run = LiveRun([], [], [], [])

    async def tee(items: AsyncIterable[Any]) -> AsyncIterator[Any]:
        async for item in items:
            run.items.append(item)
            run.items_json.append(as_json(item))
            yield item

    async for event in normalize(record(tee(source), path, **kwargs)):
        run.events.append(copy.deepcopy(event))
        run.events_json.append(event_to_json(event))
    return run


def assert_same_events(live: LiveRun, replayed: list[Any]) -> None:
    assert [event_to_json(e) for e in replayed] == live.events_json
    for before, after in zip(live.events, replayed, strict=True):
        if isinstance(before, Token | ToolCall | ToolResult):
            assert after == before


@pytest.fixture(scope="module", params=SOURCES)
def recorded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("rec") / f"cat_{request.param}.jsonl"
    live = asyncio.run(record_live(cat_source(request.param), path))
    return request.param, path, live


# -- the key property ----------------------------------------------------------------


def test_sync_replay_gives_the_live_events(recorded: Any) -> None:
    kind, path, live = recorded
    replayed = list(normalize(replay(path, strict=True)))
    if kind != "log":  # astream_log's events come from its own reader (eventstream._log)
        assert any(isinstance(e, Token) for e in replayed)
        assert sum(isinstance(e, ToolCall) for e in replayed) == 3
    assert_same_events(live, replayed)


async def test_async_replay_gives_the_live_events(recorded: Any) -> None:
    _, path, live = recorded
    replayed = [event async for event in normalize(replay(path, strict=True))]
    assert_same_events(live, replayed)


def test_replayed_items_are_the_recorded_items(recorded: Any) -> None:
    kind, path, live = recorded
    items = list(replay(path, strict=True))
    assert [as_json(item) for item in items] == live.items_json
    for before, after in zip(live.items, items, strict=True):
        assert type(after) is type(before)
        if kind == "log":
            continue
        chunk = before["data"].get("chunk")
        if isinstance(chunk, AIMessageChunk):
            # A token's chunk comes back as a real message chunk, equal field by field.
            assert isinstance(after["data"]["chunk"], AIMessageChunk)
            assert after["data"]["chunk"].__dict__ == chunk.__dict__
        assert after["metadata"] == before["metadata"]  # tuples included


def test_recording_passes_the_very_same_items(recorded: Any, tmp_path: Path) -> None:
    _, _, live = recorded
    passed = list(record(live.items, tmp_path / "again.jsonl"))
    assert len(passed) == len(live.items)
    assert all(a is b for a, b in zip(passed, live.items, strict=True))


def test_header_and_offsets(recorded: Any) -> None:
    kind, path, live = recorded
    import langchain_core

    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "eventstream-recording"
    assert header["version"] == 1
    assert header["source"] == ("astream_log" if kind == "log" else "astream_events")
    assert header["langchain_core"] == langchain_core.__version__
    assert dt.datetime.fromisoformat(header["created"]).tzinfo is not None
    assert len(lines) == 1 + len(live.items)
    offsets = [json.loads(line)["t"] for line in lines[1:]]
    assert offsets[0] >= 0
    assert offsets == sorted(offsets)
    assert replay(path).source == header["source"]


def test_a_run_log_comes_back_as_a_run_log(tmp_path: Path) -> None:
    agent = build_cat_agent(scripted)
    path = tmp_path / "state.jsonl"

    async def run() -> list[Any]:
        return [item async for item in record(agent.astream_log(CAT_INPUT, diff=False), path)]

    live = asyncio.run(run())
    last_json = ANY.dump_json(live[-1].state, fallback=str)
    items = list(replay(path, strict=True))
    assert len(items) == len(live)
    assert all(isinstance(item, RunLog) for item in items)
    assert ANY.dump_json(items[-1].state, fallback=str) == last_json
    assert len(items[-1].ops) == len(live[-1].ops)


# -- sync sources, offsets, pacing -----------------------------------------------------


def test_a_sync_source_records_and_iterates_both_ways(recorded: Any, tmp_path: Path) -> None:
    kind, _, live = recorded
    if kind == "log":
        return
    path = tmp_path / "sync.jsonl"
    events = [event_to_json(e) for e in normalize(record(iter(live.items), path))]
    assert events == [event_to_json(e) for e in normalize(replay(path))]

    async def consume() -> list[str]:
        return [event_to_json(e) async for e in normalize(record(live.items, path))]

    assert asyncio.run(consume()) == events


def test_an_async_source_cannot_be_iterated_with_for(tmp_path: Path) -> None:
    recorder = record(cat_source("v2"), tmp_path / "x.jsonl")
    with pytest.raises(TypeError, match="async for"):
        list(recorder)


def test_entries_give_each_item_its_offset(recorded: Any) -> None:
    _, path, _ = recorded
    recording = replay(path)
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    assert [offset for offset, _ in recording.entries()] == [json.loads(x)["t"] for x in lines]


@pytest.fixture(scope="module")
def paced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recording of a model that waits between chunks, so offsets spread out."""
    model = ScriptedChatModel(turns=[list(text("one two three four five six"))], delay=0.005)
    path = tmp_path_factory.mktemp("paced") / "paced.jsonl"

    async def run() -> None:
        async for _ in record(model.astream_events("go", version="v2"), path):
            pass

    asyncio.run(run())
    return path


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(record_module, "_now", fake.time)
    monkeypatch.setattr(record_module, "_sleep", fake.sleep)
    monkeypatch.setattr(record_module, "_asleep", fake.asleep)
    return fake


@pytest.mark.parametrize("speed", [1.0, 2.0, 0.5])
async def test_async_pacing_keeps_the_recorded_offsets(
    paced: Path, clock: FakeClock, speed: float
) -> None:
    recording = replay(paced, speed=speed)
    seen = []
    async for item in recording:
        # Each item is handed over when the (fake) clock reaches its offset / speed.
        assert clock.now - 100.0 == pytest.approx(recording.offset / speed)
        seen.append(item["event"])
    assert seen == [item["event"] for item in replay(paced)]
    last = list(replay(paced).entries())[-1][0]
    assert sum(clock.sleeps) == pytest.approx(last / speed)
    assert last > 0.02  # the recording really spreads over time


def test_sync_pacing_keeps_the_recorded_offsets(paced: Path, clock: FakeClock) -> None:
    recording = replay(paced, speed=1.0)
    for _ in recording:
        assert clock.now - 100.0 == pytest.approx(recording.offset)
    assert clock.sleeps


async def test_no_speed_never_waits(paced: Path, clock: FakeClock) -> None:
    assert [e async for e in replay(paced)]
    assert list(replay(paced))
    assert clock.sleeps == []


async def test_real_pacing_replays_in_order(paced: Path) -> None:
    # Real time, no assertion on it: fast-forwarded pacing still gives every item.
    items = [item["event"] async for item in replay(paced, speed=20.0)]
    assert items == [item["event"] for item in replay(paced)]


def test_speed_must_be_positive(paced: Path) -> None:
    with pytest.raises(ValueError, match="speed"):
        replay(paced, speed=0)


# -- a source that raises ----------------------------------------------------------------


def failing_model() -> ScriptedChatModel:
    return ScriptedChatModel(turns=[[*text("half an answer"), Fail("provider went away")]])


async def test_a_failed_run_replays_its_failure(tmp_path: Path) -> None:
    path = tmp_path / "failed.jsonl"
    events: list[str] = []
    with pytest.raises(RuntimeError, match="provider went away"):
        async for event in normalize(record(failing_model().astream_events("hi"), path)):
            events.append(event_to_json(event))
    assert any('"error":"RuntimeError: provider went away"' in e for e in events)

    replayed: list[str] = []
    with pytest.raises(ReplayedError, match="provider went away") as raised:
        for event in normalize(replay(path, strict=True)):
            replayed.append(event_to_json(event))
    assert type(raised.value).__name__ == "RuntimeError"
    assert replayed == events

    replayed_async: list[str] = []
    with pytest.raises(ReplayedError):
        async for event in normalize(replay(path)):
            replayed_async.append(event_to_json(event))
    assert replayed_async == events


# -- damaged files -----------------------------------------------------------------


@pytest.fixture
def cat_file(recorded: Any, tmp_path: Path) -> tuple[Path, list[bytes]]:
    _, path, _ = recorded
    data = path.read_bytes().splitlines(keepends=True)
    return tmp_path / "copy.jsonl", data


def test_a_truncated_file_names_file_and_line(cat_file: tuple[Path, list[bytes]]) -> None:
    path, lines = cat_file
    cut = [*lines[:40], lines[40][: len(lines[40]) // 2]]
    path.write_bytes(b"".join(cut))

    with pytest.raises(RecordingError, match="cut short") as raised:
        list(replay(path, strict=True))
    assert raised.value.path == str(path)
    assert raised.value.line == 41
    assert f"{path}:41" in str(raised.value)

    lenient = replay(path)
    items = list(lenient)
    assert len(items) == 39
    assert lenient.skipped == 1
    assert lenient.errors[0].line == 41
    # What was read still normalizes: every run started gets its end.
    events = list(normalize(replay(path)))
    assert {e.run_id for e in events if e.type == "start"} == {
        e.run_id for e in events if e.type == "end"
    }


def test_a_corrupted_line_is_skipped_or_named(cat_file: tuple[Path, list[bytes]]) -> None:
    path, lines = cat_file
    damaged = list(lines)
    damaged[9] = b'{"t": 0.1, "item": {"event": "on_chain_stream", "da\x00\xff garbage\n'
    damaged[19] = b'{"t": 0.2, "nothing": 1}\n'
    path.write_bytes(b"".join(damaged))

    with pytest.raises(RecordingError) as raised:
        list(replay(path, strict=True))
    assert raised.value.line == 10

    lenient = replay(path)
    assert len(list(lenient)) == len(lines) - 3
    assert lenient.skipped == 2
    assert [e.line for e in lenient.errors] == [10, 20]


def test_an_unbuildable_message_is_an_unreadable_line(cat_file: tuple[Path, list[bytes]]) -> None:
    path, lines = cat_file
    bad = {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "AIMessage"]}
    bad["kwargs"] = {"content": {"not": "content"}}
    line = json.dumps({"t": 0.5, "item": {"event": "on_custom_event", "data": bad}})
    path.write_bytes(lines[0] + line.encode() + b"\n" + b"".join(lines[1:]))
    with pytest.raises(RecordingError, match="cannot rebuild AIMessage") as raised:
        list(replay(path, strict=True))
    assert raised.value.line == 2


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "empty file"),
        (b'{"event": "on_chain_start", "run_id": "1"}\n', "not an eventstream recording"),
        (b"hello\nworld\n", "not an eventstream recording"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not an eventstream recording"),
        (b'{"format": "eventstream-recording", "version": 9}\n', "newer"),
    ],
)
def test_a_file_that_is_not_a_recording(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "other.jsonl"
    path.write_bytes(content)
    for strict in (True, False):
        with pytest.raises(RecordingError, match=says) as raised:
            replay(path, strict=strict)
        assert str(path) in str(raised.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such file"):
        replay(tmp_path / "nope.jsonl")


# -- time offsets ------------------------------------------------------------------------


def simple_items(tokens: int = 4) -> list[dict[str, Any]]:
    common = {"run_id": "m", "name": "model", "tags": [], "metadata": {}, "parent_ids": []}
    return [
        {"event": "on_chat_model_start", **common, "data": {"input": "hi"}},
        *(
            {
                "event": "on_chat_model_stream",
                **common,
                "data": {"chunk": AIMessageChunk(content=f"w{i} ")},
            }
            for i in range(tokens)
        ),
        {
            "event": "on_chat_model_end",
            **common,
            "data": {"output": AIMessageChunk(content="done")},
        },
    ]


def with_offsets(tmp_path: Path, offsets: list[str]) -> Path:
    """A recording of :func:`simple_items` whose lines 2, 3 … carry these ``t`` (raw JSON)."""
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "offsets.jsonl"
    list(record(simple_items(len(offsets) - 2), path))
    header, *lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) == len(offsets)
    retimed = [
        re.sub(rb'^\{"t":[^,]*,', b'{"t":' + t.encode() + b",", line)
        for t, line in zip(offsets, lines, strict=True)
    ]
    path.write_bytes(header + b"".join(retimed))
    return path


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("Infinity", "time offset inf is not a finite number"),
        ("-Infinity", "time offset -inf is not a finite number"),
        ("NaN", "time offset nan is not a finite number"),
        ("1e308", "time offset 1e+308 is beyond 604800 s (7 days)"),
        ("604800.001", "time offset 604800.001 is beyond 604800 s"),
        ("-1", "time offset -1 is negative"),
        ('"soon"', "bad time offset 'soon': 't' must be a number of seconds"),
        ("true", "bad time offset True"),
        ("null", "bad time offset None"),
    ],
)
def test_a_bad_time_offset_names_file_and_line(tmp_path: Path, bad: str, says: str) -> None:
    path = with_offsets(tmp_path, ["0.001", "0.002", bad, "0.004", "0.005"])
    with pytest.raises(RecordingError) as raised:
        list(replay(path, strict=True))
    assert str(raised.value).startswith(f"{path}:4: {says}")
    assert raised.value.line == 4


def test_offsets_may_go_back_by_the_tolerance_and_no_more(tmp_path: Path) -> None:
    assert OFFSET_TOLERANCE == 0.1
    ok = with_offsets(tmp_path, ["0", "1.5", "1.4", "1.45", "604800"])
    assert [t for t, _ in replay(ok, strict=True).entries()] == [0, 1.5, 1.4, 1.45, MAX_OFFSET]
    back = with_offsets(tmp_path, ["0", "1.5", "1.399", "1.6", "1.7"])
    with pytest.raises(RecordingError, match=r"back by 0\.1 s at most") as raised:
        list(replay(back, strict=True))
    assert raised.value.line == 4
    assert "time offset 1.399 is 0.101 s before the item before it (1.5)" in str(raised.value)


def test_lenient_replay_keeps_the_items_at_the_offset_before(tmp_path: Path) -> None:
    good = with_offsets(tmp_path / "good", ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"])
    bad = with_offsets(tmp_path, ["0.1", "Infinity", "0.3", "NaN", "0.1", "-2", "0.7"])
    recording = replay(bad)
    assert [t for t, _ in recording.entries()] == [0.1, 0.1, 0.3, 0.3, 0.3, 0.3, 0.7]
    assert (recording.retimed, recording.skipped) == (4, 0)
    assert [e.line for e in recording.errors] == [3, 5, 6, 7]
    assert [as_json(i) for i in replay(bad)] == [as_json(i) for i in replay(good)]
    assert [event_to_json(e) for e in normalize(replay(bad))] == [
        event_to_json(e) for e in normalize(replay(good))
    ]


def test_pacing_a_recording_with_absurd_offsets_neither_overflows_nor_hangs(
    tmp_path: Path,
) -> None:
    path = with_offsets(tmp_path, ["0", "1e308", "Infinity", "NaN", "0.01", "0.02"])
    # Real clocks: time.sleep(1e308) raised OverflowError; asyncio.sleep(1e308) never ended.
    assert len(list(replay(path, speed=1.0))) == 6

    async def paced() -> int:
        return len([item async for item in replay(path, speed=1.0)])

    assert asyncio.run(asyncio.wait_for(paced(), timeout=30)) == 6
    for strict in (replay(path, speed=1.0, strict=True), replay(path, strict=True)):
        with pytest.raises(RecordingError, match=r":3: time offset 1e\+308"):
            list(strict)

        async def read(recording: Any = strict) -> None:
            async for _ in recording:
                pass

        with pytest.raises(RecordingError, match=r":3: time offset 1e\+308"):
            asyncio.run(read())


async def test_a_very_slow_speed_sleeps_in_pieces_time_sleep_accepts(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = with_offsets(tmp_path, ["0", "600000", "604800"])
    speed = 1e-5  # 604800 s at this speed: about 1.9 million years, past time.sleep's range
    items = [item async for item in replay(path, speed=speed)]
    assert len(items) == 3
    assert max(clock.sleeps) <= 24 * 3600
    assert sum(clock.sleeps) == pytest.approx(MAX_OFFSET / speed)
    clock.sleeps.clear()
    assert len(list(replay(path, speed=speed))) == 3
    assert max(clock.sleeps) <= 24 * 3600


# -- redaction -------------------------------------------------------------------------


SECRET = "sk-live-0123456789"


def drop_secret(metadata: dict[str, Any]) -> dict[str, Any]:
    metadata.pop("api_token", None)  # mutates what it is given: a copy
    metadata["redacted"] = True
    return metadata


@pytest.mark.parametrize("kind", SOURCES)
def test_redact_keeps_secrets_off_disk(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "redacted.jsonl"
    config = {"metadata": {"api_token": SECRET, "user": "ada"}}
    live = asyncio.run(record_live(cat_source(kind, config=config), path, redact=drop_secret))

    assert SECRET not in path.read_text(encoding="utf-8")
    # The live stream kept its metadata.
    if kind == "log":
        entries = [
            op["value"]
            for item in live.items
            for op in item.ops
            if op["path"].startswith("/logs/") and op["path"].count("/") == 2
        ]
        assert entries
        assert all(entry["metadata"]["api_token"] == SECRET for entry in entries)
        assert all("redacted" not in entry["metadata"] for entry in entries)
    else:
        assert all(item["metadata"]["api_token"] == SECRET for item in live.items)
        assert all("redacted" not in item["metadata"] for item in live.items)
        replayed = list(replay(path))
        assert all("api_token" not in item["metadata"] for item in replayed)
        assert all(item["metadata"]["user"] == "ada" for item in replayed)
        assert all(item["metadata"]["redacted"] is True for item in replayed)


def test_redact_errors_reach_the_caller(tmp_path: Path) -> None:
    items = [{"event": "on_chain_start", "run_id": "r", "metadata": {"a": 1}, "data": {}}]
    with pytest.raises(TypeError, match="redact must return a dict"):
        list(record(items, tmp_path / "x.jsonl", redact=lambda m: None))  # type: ignore[arg-type,return-value]

    def broken(metadata: dict[str, Any]) -> dict[str, Any]:
        return {"b": metadata["missing"]}

    with pytest.raises(KeyError, match="missing"):
        list(record(items, tmp_path / "y.jsonl", redact=broken))


# -- safe loading --------------------------------------------------------------------------


def crafted(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "crafted.jsonl"
    header = {"format": "eventstream-recording", "version": 1, "source": "astream_events"}
    item = {"event": "on_custom_event", "run_id": "r1", "name": "x", "data": data}
    path.write_text(json.dumps(header) + "\n" + json.dumps({"t": 0.0, "item": item}) + "\n")
    return path


UNSAFE = [
    {"lc": 1, "type": "constructor", "id": ["os", "system"], "kwargs": {"command": "touch x"}},
    {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "chat_models", "openai", "ChatOpenAI"],
        "kwargs": {"openai_api_base": "http://attacker.invalid", "model_name": "x"},
    },
    {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain_core", "prompts", "prompt", "PromptTemplate"],
        "kwargs": {"template": "{{ cycler.__init__ }}", "template_format": "jinja2"},
    },
    {"lc": 1, "type": "secret", "id": ["OPENAI_API_KEY"]},
]


@pytest.mark.parametrize("payload", UNSAFE)
def test_classes_outside_the_allow_list_stay_dicts(tmp_path: Path, payload: Any) -> None:
    path = crafted(tmp_path, {"value": payload})
    [item] = list(replay(path, strict=True))
    assert item["data"]["value"] == payload
    assert type(item["data"]["value"]) is dict


def test_allow_listed_messages_are_rebuilt(tmp_path: Path) -> None:
    message = AIMessage(content="hi", additional_kwargs={"lc": 1, "type": "constructor"})
    path = crafted(tmp_path, {"value": dumpd(message)})
    [item] = list(replay(path, strict=True))
    assert item["data"]["value"] == message
    # LangChain's escaped user dict inside the message stays data.
    assert item["data"]["value"].additional_kwargs == {"lc": 1, "type": "constructor"}


def test_user_data_that_looks_like_langchain_stays_data(tmp_path: Path) -> None:
    data = {"value": {"lc": 1, "type": "constructor", "id": list(AIMessage.lc_id())}}
    data["value"]["kwargs"] = {"content": "forged"}
    items = [{"event": "on_custom_event", "run_id": "r", "name": "x", "data": data}]
    path = tmp_path / "user.jsonl"
    list(record(items, path))
    [item] = list(replay(path, strict=True))
    assert item["data"] == data


# -- the value form: exact where it can be ---------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: tuple[int, ...]


class Settings(BaseModel):
    name: str
    when: dt.date


ROUND_TRIPS = [
    ("a", 1, 1.5, True, None),
    {"langgraph_path": ("__pregel_pull", "model"), "step": 1},
    {1: "int key", (2, 3): "tuple key"},
    {"$tuple": "a dict that looks like a marker"},
    {"lc": 2, "kwargs": {}},
    {"__lc_escaped__": {"lc": 1}},
    {1, 2, 3},
    frozenset({"a"}),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    dt.datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc),
    dt.date(2025, 1, 2),
    dt.time(3, 4, 5),
    dt.timedelta(days=2, seconds=3, microseconds=4),
    b"\x00\xffbytes",
    Decimal("1.10"),
    2**80,
    -(2**70),
    float("inf"),
    [AIMessageChunk(content="x", id="1"), ToolMessage(content="done", tool_call_id="c1")],
    "\ud800 lone surrogate",
]


@pytest.mark.parametrize("value", ROUND_TRIPS, ids=lambda v: type(v).__name__)
def test_values_round_trip(value: Any) -> None:
    line = dumps_line({"t": 0, "item": jsonable(value)})
    assert Reviver().value(loads_line(line)["item"]) == value


def test_not_a_number_round_trips() -> None:
    line = dumps_line(jsonable([float("nan")]))
    [back] = Reviver().value(loads_line(line))
    assert back != back


def test_lossy_values_keep_their_json(tmp_path: Path) -> None:
    values = {
        "error": ValueError("bad input"),
        "point": Point(1, (2, 3)),
        "settings": Settings(name="s", when=dt.date(2025, 1, 1)),
        "object": object(),
    }
    items = [{"event": "on_custom_event", "run_id": "r", "name": "x", "data": values}]
    path = tmp_path / "lossy.jsonl"
    live = [event_to_json(e) for e in normalize(record(items, path))]
    replayed = list(normalize(replay(path, strict=True)))
    assert [event_to_json(e) for e in replayed] == live
    [event] = replayed
    assert isinstance(event, Custom)
    data = event.data
    assert type(data["error"]).__name__ == "ValueError"
    assert str(data["error"]) == "bad input"
    assert isinstance(data["error"], ReplayedError)
    assert data["point"] == {"x": 1, "y": (2, 3)}
    assert data["settings"] == {"name": "s", "when": dt.date(2025, 1, 1)}
    assert isinstance(data["object"], OpaqueValue)
    assert data["object"].type_name == "builtins.object"
    assert repr(data["object"]) == repr(values["object"])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
        | st.dictionaries(st.sampled_from(["lc", "$tuple", "__lc_escaped__", "id"]), inner)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_nested_value_round_trips(value: Any) -> None:
    line = dumps_line({"t": 0.0, "item": jsonable(value)})
    assert Reviver().value(loads_line(line)["item"]) == value


# -- the fast writer and reader are LangChain's own format ------------------------------------


tool_call_chunks = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.none() | st.text(max_size=8),
            "args": st.none() | st.sampled_from(["", "{", '{"a": 1', '{"a": 1}', "[1]", "}"]),
            "id": st.none() | st.text(max_size=8),
            "index": st.none() | st.integers(0, 3),
        }
    ),
    max_size=3,
)

chunks = st.builds(
    AIMessageChunk,
    content=st.text()
    | st.lists(
        st.sampled_from(
            [
                {"type": "text", "text": "hi", "index": 0},
                {"type": "reasoning", "reasoning": "hmm"},
                {"type": "thinking", "thinking": "so", "index": 1},
            ]
        ),
        max_size=2,
    ),
    id=st.none() | st.text(max_size=10),
    name=st.none() | st.text(max_size=5),
    tool_call_chunks=tool_call_chunks,
    response_metadata=st.sampled_from(
        [{}, {"model_provider": "openai"}, {"finish_reason": "stop", "nested": {"lc": 1}}]
    ),
    additional_kwargs=st.sampled_from(
        [{}, {"tool_calls": [{"index": 0, "id": "c", "function": {"arguments": "{"}}]}]
    ),
    usage_metadata=st.none() | st.just({"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}),
    chunk_position=st.sampled_from([None, "last"]),
)


@settings(max_examples=300, deadline=None)
@given(chunks)
def test_the_fast_chunk_writer_is_dumpd(chunk: AIMessageChunk) -> None:
    assert dump_lc(chunk) == dumpd(chunk)
    assert json.dumps(dump_lc(chunk)) == json.dumps(dumpd(chunk))  # same key order too


def test_the_fast_chunk_writer_on_the_cat_agents_chunks(recorded: Any) -> None:
    kind, _, live = recorded
    if kind == "log":
        return
    seen = [i["data"]["chunk"] for i in live.items if i["event"] == "on_chat_model_stream"]
    assert seen
    assert all(dump_lc(chunk) == dumpd(chunk) for chunk in seen)


@settings(max_examples=300, deadline=None)
@given(chunks)
def test_the_fast_chunk_reader_builds_what_langchain_builds(chunk: AIMessageChunk) -> None:
    serialized = json.loads(json.dumps(dumpd(chunk)))
    ours = Reviver().value(copy.deepcopy(serialized))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LangChainBetaWarning)  # load() is in beta
        theirs = load(serialized, allowed_objects=[AIMessageChunk])
    assert type(ours) is AIMessageChunk
    assert ours.__dict__ == theirs.__dict__
    assert ours.model_fields_set == theirs.model_fields_set
    assert ours.__pydantic_extra__ == theirs.__pydantic_extra__
    assert ours.__pydantic_private__ == theirs.__pydantic_private__


# -- iteration contract ------------------------------------------------------------------------


def test_a_recorder_is_iterated_once(tmp_path: Path) -> None:
    recorder = record([{"event": "on_chain_start", "run_id": "r"}], tmp_path / "once.jsonl")
    list(recorder)
    with pytest.raises(RuntimeError, match="already iterated"):
        list(recorder)


def test_a_replay_can_be_iterated_again(recorded: Any) -> None:
    _, path, _ = recorded
    recording = replay(path)
    assert [as_json(i) for i in recording] == [as_json(i) for i in recording]


def test_stopping_early_keeps_a_readable_prefix(tmp_path: Path) -> None:
    path = tmp_path / "early.jsonl"

    async def run() -> None:
        count = 0
        async for _ in record(cat_source("v2"), path):
            count += 1
            if count == 25:
                break

    asyncio.run(run())
    assert len(list(replay(path, strict=True))) == 25


def test_each_item_is_on_disk_before_it_is_handed_on(tmp_path: Path) -> None:
    # What a crash at any point would leave: a recording of every item seen so far.
    path = tmp_path / "live.jsonl"
    seen = 0

    async def run() -> None:
        nonlocal seen
        async for item in record(cat_source("v2"), path):
            seen += 1
            on_disk = list(replay(path, strict=True))
            assert len(on_disk) == seen
            assert as_json(on_disk[-1]) == as_json(item)

    asyncio.run(run())
    assert seen > 100


# -- flush="batch" ------------------------------------------------------------------------


def lines_on_disk(path: Path) -> int:
    """Complete item lines in the file now (the header is not one)."""
    data = path.read_bytes() if path.exists() else b""
    return max(0, data.count(b"\n") - 1)


@pytest.mark.parametrize("kind", SOURCES)
def test_batch_mode_replays_the_live_run(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "batch.jsonl"
    live = asyncio.run(record_live(cat_source(kind), path, flush="batch"))
    assert [as_json(i) for i in replay(path, strict=True)] == live.items_json
    assert_same_events(live, list(normalize(replay(path, strict=True))))


class FakeNanos:
    """A perf_counter_ns that moves only when told."""

    def __init__(self) -> None:
        self.now = 10**12

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def nanos(monkeypatch: pytest.MonkeyPatch) -> FakeNanos:
    fake = FakeNanos()
    monkeypatch.setattr(record_module, "_clock", fake)
    return fake


def test_batch_lines_wait_at_most_5_ms_of_the_clock(tmp_path: Path, nanos: FakeNanos) -> None:
    path = tmp_path / "batch.jsonl"
    on_disk = []
    for _ in record(simple_items(40), path, flush="batch"):
        on_disk.append(lines_on_disk(path))
        nanos.now += 400_000  # 0.4 ms between items: a fast source, never "waiting"
    # Written when the oldest waiting line is 5 ms old: at the 14th item (5.2 ms after
    # the first), then at the 28th.
    assert on_disk[:14] == [0] * 13 + [14]
    assert on_disk[26:28] == [14, 28]
    assert lines_on_disk(path) == 42  # and the rest at the end
    assert [t for t, _ in replay(path, strict=True).entries()][:3] == [0.0, 0.0004, 0.0008]


def test_batch_writes_at_once_after_a_wait(tmp_path: Path, nanos: FakeNanos) -> None:
    path = tmp_path / "batch.jsonl"
    on_disk = []
    for seen, _ in enumerate(record(simple_items(6), path, flush="batch"), start=1):
        on_disk.append((seen, lines_on_disk(path)))
        nanos.now += 1_000_000  # items 1 ms apart: the source waits for each
    # The first item came at once; each later one came after a wait, so is written
    # (with what waited) before it is handed on.
    assert on_disk == [(1, 0), *((seen, seen) for seen in range(2, 9))]


def test_batch_writes_at_64_kb(tmp_path: Path, nanos: FakeNanos) -> None:
    path = tmp_path / "batch.jsonl"
    big = "x" * 10_000
    items = [{"event": "on_custom_event", "run_id": "r", "name": "n", "data": big}] * 20
    waiting = []
    for seen, _ in enumerate(record(items, path, flush="batch"), start=1):
        size = path.stat().st_size
        waiting.append(seen * 10_000 - size)  # about what is still in memory
    assert max(waiting) < 64 * 1024 and min(waiting) < 20_000
    assert lines_on_disk(path) == 20


def test_batch_writes_everything_when_the_source_raises(tmp_path: Path, nanos: FakeNanos) -> None:
    path = tmp_path / "failed.jsonl"

    def failing() -> Iterator[Any]:
        yield from simple_items(3)
        assert lines_on_disk(path) == 0  # all still waiting
        raise RuntimeError("provider went away")

    with pytest.raises(RuntimeError):
        for _ in record(failing(), path, flush="batch"):
            pass
    with pytest.raises(ReplayedError, match="provider went away"):
        list(replay(path, strict=True))
    assert lines_on_disk(path) == 6  # five items and what the source raised


async def test_batch_writes_everything_on_cancellation_and_early_stop(
    tmp_path: Path, nanos: FakeNanos
) -> None:
    path = tmp_path / "cancelled.jsonl"
    seen = 0
    third = asyncio.Event()

    async def slow() -> AsyncIterator[Any]:
        for item in simple_items(5):
            yield item
        await asyncio.sleep(3600)

    async def consume() -> None:
        nonlocal seen
        async for _ in record(slow(), path, flush="batch"):
            seen += 1
            if seen == 7:
                third.set()

    task = asyncio.create_task(consume())
    await third.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == lines_on_disk(path) == 7

    stopped = tmp_path / "stopped.jsonl"
    async with contextlib.aclosing(aiter(record(slow(), stopped, flush="batch"))) as items:
        async for _ in items:
            break
    assert lines_on_disk(stopped) == 1


async def test_batch_lines_are_written_while_an_async_source_waits(tmp_path: Path) -> None:
    # Real clock: a burst, then the source waits; the event loop's timer writes the burst
    # BATCH_SECONDS after its first line, before the 50 ms sleep below ends.
    path = tmp_path / "waiting.jsonl"
    burst_done = asyncio.Event()
    release = asyncio.Event()

    async def bursty() -> AsyncIterator[Any]:
        items = simple_items(20)
        for item in items[:10]:
            yield item
        burst_done.set()
        await release.wait()
        for item in items[10:]:
            yield item

    async def consume() -> int:
        return len([item async for item in record(bursty(), path, flush="batch")])

    task = asyncio.create_task(consume())
    await burst_done.wait()
    assert record_module.BATCH_SECONDS == 0.005
    await asyncio.sleep(0.05)
    assert lines_on_disk(path) == 10
    release.set()
    assert await task == 22
    assert lines_on_disk(path) == 22


def test_the_timer_s_write_error_reaches_the_caller(tmp_path: Path) -> None:
    from eventstream._record import _Writer

    timers: list[tuple[float, Any]] = []

    class Timer:
        def cancel(self) -> None:
            pass

    def schedule(delay: float, callback: Any) -> Timer:
        timers.append((delay, callback))
        return Timer()

    writer = _Writer(str(tmp_path / "full.jsonl"), None, "batch", schedule)
    writer.item({"event": "on_chain_start", "run_id": "r"})
    assert [delay for delay, _ in timers] == [0.005]

    class DiskFull:
        closed = False

        def write(self, data: bytes) -> int:
            return len(data)

        def flush(self) -> None:
            raise OSError(28, "No space left on device")

        def close(self) -> None:
            pass

    real, writer._file = writer._file, DiskFull()  # type: ignore[assignment]
    timers[0][1]()  # the timer fires: the error waits for the caller
    with pytest.raises(OSError, match="No space left"):
        writer.item({"event": "on_chain_end", "run_id": "r"})
    real.close()


def test_flush_must_be_line_or_batch(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="flush must be 'line' or 'batch', got 'always'"):
        record([], tmp_path / "x.jsonl", flush="always")  # type: ignore[arg-type]


def test_a_chatopenai_run_over_http_replays_its_events(tmp_path: Path) -> None:
    # Chunks as OpenAI's client builds them (response metadata on each, a usage chunk).
    from eventstream.testing import CAT_SCRIPTS, OpenAIServer, openai_cat_agent

    path = tmp_path / "openai.jsonl"
    with OpenAIServer(CAT_SCRIPTS) as server:
        live = asyncio.run(record_live(cat_source("v2", openai_cat_agent(server)), path))
    replayed = list(normalize(replay(path, strict=True)))
    assert sum(isinstance(e, ToolCall) for e in replayed) == 3
    assert_same_events(live, replayed)
    items = list(replay(path, strict=True))
    assert [as_json(item) for item in items] == live.items_json
    chunks = [i["data"]["chunk"] for i in items if i["event"] == "on_chat_model_stream"]
    assert chunks
    assert all(isinstance(chunk, AIMessageChunk) for chunk in chunks)


def _fast_and_whole_lines(items: list[Any], path: Path) -> list[tuple[bytes | None, bytes]]:
    from eventstream._record import _Writer
    from eventstream._serialize import dumps_line

    writer = _Writer(str(path), None)
    try:
        pairs = []
        for position, item in enumerate(items):
            offset = position / 1000
            whole = dumps_line({"t": offset, "item": writer._event(item)})
            pairs.append((writer._stream_line(item, offset), whole))
        return pairs
    finally:
        writer.close()


@pytest.mark.parametrize("version", ["v2", "v1"])
def test_template_lines_are_byte_identical_to_whole_event_lines(
    version: str, tmp_path: Path
) -> None:
    async def collect() -> list[Any]:
        agent = build_cat_agent(scripted)
        return [e async for e in agent.astream_events(CAT_INPUT, version=version)]

    pairs = _fast_and_whole_lines(asyncio.run(collect()), tmp_path / "x.jsonl")
    fast = [(line, whole) for line, whole in pairs if line is not None]
    assert all(line == whole for line, whole in fast)
    if version == "v2":
        assert len(fast) > 40  # the tokens really took the template path


@settings(max_examples=200, deadline=None)
@given(st.lists(chunks, min_size=1, max_size=6))
def test_template_lines_match_for_any_chunks(stream: list[AIMessageChunk]) -> None:
    import tempfile

    metadata = {"ls_provider": "x"}
    items = [
        {
            "event": "on_chat_model_stream",
            "run_id": "r1",
            "name": "m",
            "tags": ["t"],
            "metadata": metadata,
            "parent_ids": [],
            "data": {"chunk": chunk},
        }
        for chunk in stream
    ]
    with tempfile.TemporaryDirectory() as folder:
        for line, whole in _fast_and_whole_lines(items, Path(folder) / "x.jsonl"):
            assert line is None or line == whole
