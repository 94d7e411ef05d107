"""The wire formats, sans-IO: items in, frames out, read back the way clients read them.

SSE frames are parsed here by a small parser written from the WHATWG
"event stream interpretation" rules (not by our code), so what is checked is what an
``EventSource`` would see. Then the thin async wrappers: heartbeats during silence,
and a failing stream ending in a safe ``error`` frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import eventstream.adapters as adapters
import pytest
from eventstream.adapters import (
    SSE_HEADERS,
    Done,
    Failure,
    Gap,
    QueryError,
    as_subscription,
    item_to_json,
    ndjson_line,
    ndjson_stream,
    parse_resume,
    parse_selection,
    sse_comment,
    sse_frame,
    sse_retry,
    sse_stream,
    ws_message,
)
from hypothesis import given
from hypothesis import strategies as st

from eventstream import (
    End,
    Selector,
    Start,
    Token,
    ToolResult,
    event_from_json,
    event_to_json,
)


@dataclass
class Message:
    """One dispatched SSE message, as ``EventSource`` hands it to a listener."""

    event: str
    data: str
    last_event_id: str


@dataclass
class SSEParser:
    """The WHATWG event-stream parsing rules, for checking frames as a browser reads them."""

    buffer: str = ""
    data: list[str] = field(default_factory=list)
    event: str = ""
    last_event_id: str = ""
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    def feed(self, text: str) -> list[Message]:
        self.buffer += text
        messages: list[Message] = []
        while True:
            # A line ends at CRLF, LF or CR; a CR at the very end may start a CRLF.
            positions = [p for p in (self.buffer.find("\r"), self.buffer.find("\n")) if p >= 0]
            if not positions:
                return messages
            end = min(positions)
            if self.buffer[end] == "\r" and end == len(self.buffer) - 1:
                return messages
            line = self.buffer[:end]
            step = 2 if self.buffer[end : end + 2] == "\r\n" else 1
            self.buffer = self.buffer[end + step :]
            message = self._line(line)
            if message is not None:
                messages.append(message)

    def _line(self, line: str) -> Message | None:
        if line == "":
            if not self.data:
                self.event = ""
                return None
            message = Message(self.event or "message", "\n".join(self.data), self.last_event_id)
            self.data, self.event = [], ""
            return message
        if line.startswith(":"):
            self.comments.append(line[1:].lstrip(" "))
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self.data.append(value)
        elif name == "event":
            self.event = value
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self.retry = int(value)
        return None


def token(text: str, seq: int = 5) -> Token:
    return Token(
        seq=seq, run_id="run-1", parent_ids=("root",), name="m", tags=("agent_llm",), text=text
    )


# -- SSE frames --------------------------------------------------------------------------


def test_an_event_is_one_frame_with_its_seq_type_and_json() -> None:
    event = token("Hello")
    frame = sse_frame(event)
    assert frame == f"id: 5\nevent: token\ndata: {event_to_json(event)}\n\n"
    (message,) = SSEParser().feed(frame)
    assert (message.event, message.last_event_id) == ("token", "5")
    assert event_from_json(message.data) == event


@pytest.mark.parametrize(
    "text",
    [
        "\n\ndata: x",
        "line one\r\ndata: injected\r\n\r\n",
        "\revent: done\r",
        "id: 99\n\nevent: error\ndata: {}\n\n",
        ": not a comment\n",
        "\u2028\u2029\x85 unicode line separators",
    ],
)
def test_a_token_that_looks_like_sse_arrives_intact_in_one_frame(text: str) -> None:
    event = token(text)
    frame = sse_frame(event)
    # Three field lines and a blank one, for readers splitting at CR/LF (EventSource)
    # and for readers splitting as str.splitlines does (httpx's aiter_lines).
    assert frame.count("\n") == 4 and "\r" not in frame
    assert len(frame.splitlines()) == 4
    parser = SSEParser()
    (message,) = parser.feed(frame)
    assert message.event == "token" and message.last_event_id == "5"
    received = event_from_json(message.data)
    assert isinstance(received, Token) and received.text == text
    assert parser.comments == []


@given(st.text())
def test_any_text_round_trips_through_an_sse_frame(text: str) -> None:
    event = ToolResult(seq=3, run_id="r", name="get_items", tool_call_id="c1", output=text)
    frame = sse_frame(event)
    assert len(frame.splitlines()) == 4
    (message,) = SSEParser().feed(frame)
    assert event_from_json(message.data) == event


def test_frames_split_anywhere_parse_the_same() -> None:
    frames = "".join(sse_frame(token(f"piece {i}\n", seq=i)) for i in range(5))
    parser = SSEParser()
    messages = [m for i in range(len(frames)) for m in parser.feed(frames[i])]
    assert [event_from_json(m.data) for m in messages] == [
        token(f"piece {i}\n", seq=i) for i in range(5)
    ]


def test_control_frames_gap_done_and_error() -> None:
    parser = SSEParser()
    gap, done, error = parser.feed(
        sse_frame(Gap(first=3, last=9))
        + sse_frame(Done(last_seq=42))
        + sse_frame(Failure(message="the run failed", reason="failed"))
    )
    # A gap carries the last missed seq as its id: a reconnect resumes after the gap.
    assert (gap.event, gap.last_event_id) == ("gap", "9")
    assert json.loads(gap.data) == {"type": "gap", "first": 3, "last": 9, "missed": 7}
    # The terminal frames leave Last-Event-ID alone.
    assert (done.event, done.last_event_id) == ("done", "9")
    assert json.loads(done.data) == {"type": "done", "last_seq": 42}
    assert error.event == "error"
    assert json.loads(error.data) == {
        "type": "error",
        "message": "the run failed",
        "reason": "failed",
    }


def test_comments_and_retry_frames() -> None:
    parser = SSEParser()
    assert parser.feed(sse_comment() + sse_retry(1500)) == []
    assert parser.comments == ["ping"]
    assert parser.retry == 1500
    with pytest.raises(ValueError, match="line break"):
        sse_comment("two\nlines")
    with pytest.raises(ValueError, match=">= 0 ms"):
        sse_retry(-1)


def test_sse_headers_stop_caching_and_proxy_buffering() -> None:
    assert SSE_HEADERS == {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


# -- NDJSON and WebSocket messages -------------------------------------------------------


@given(st.text())
def test_an_ndjson_line_is_exactly_one_item_whatever_its_text(text: str) -> None:
    line = ndjson_line(token(text))
    assert line.endswith("\n")
    (only,) = line.splitlines()
    received = event_from_json(only)
    assert isinstance(received, Token) and received.text == text


def test_control_items_as_json() -> None:
    assert json.loads(ndjson_line(Gap(first=0, last=0))) == {
        "type": "gap",
        "first": 0,
        "last": 0,
        "missed": 1,
    }
    assert json.loads(ws_message(Done(last_seq=None))) == {"type": "done", "last_seq": None}
    assert (
        json.loads(item_to_json(Failure(message="m", reason="cancelled")))["reason"] == "cancelled"
    )
    event = token("hi")
    assert ws_message(event) == event_to_json(event) == ndjson_line(event)[:-1]


# -- the async wrappers: heartbeats, failures ---------------------------------------------


async def test_heartbeats_fill_the_silence_and_stop_when_events_come() -> None:
    gate = asyncio.Event()

    async def source() -> AsyncIterator[Start | Token | End]:
        yield Start(seq=0, run_id="r", name="m", run_type="chat_model")
        await gate.wait()  # the model thinks, for as long as the test wants
        yield Token(seq=1, run_id="r", name="m", run_type="chat_model", text="hi")
        yield End(seq=2, run_id="r", name="m", run_type="chat_model")

    frames = []
    async for frame in sse_stream(source(), heartbeat=0.01, retry=2000):
        frames.append(frame)
        if frame == ": ping\n\n" and frames.count(frame) == 2:
            gate.set()
    pings = [i for i, frame in enumerate(frames) if frame == ": ping\n\n"]
    assert frames[0] == "retry: 2000\n\n"
    assert frames[1].startswith("id: 0\nevent: start\n")
    assert pings == [2, 3]  # only during the silence, never after the stream ended
    assert frames[4].startswith("id: 1\nevent: token\n")
    assert frames[5].startswith("id: 2\nevent: end\n")
    assert frames[6] == 'event: done\ndata: {"type":"done","last_seq":2}\n\n'
    assert len(frames) == 7


async def test_heartbeats_count_silence_on_the_wire_not_quiet_in_the_run() -> None:
    gate = asyncio.Event()

    async def busy() -> AsyncIterator[Start | Token | End]:
        yield Start(seq=0, run_id="r", name="m", run_type="chat_model")
        seq = 1
        while not gate.is_set() and seq < 5000:  # tokens keep coming, none selected
            yield Token(seq=seq, run_id="r", name="m", run_type="chat_model", text="x")
            seq += 1
            await asyncio.sleep(0.001)
        yield End(seq=seq, run_id="r", name="m", run_type="chat_model")

    run = as_subscription(busy()).run
    subscription = run.subscribe(selector=Selector(types="end"))
    frames = []
    async for frame in sse_stream(subscription, heartbeat=0.01):
        frames.append(frame)
        if frame == ": ping\n\n":
            gate.set()
    assert frames[0] == ": ping\n\n"
    assert frames[-2].startswith(f"id: {run.total - 1}\nevent: end\n")
    assert frames[-1].startswith("event: done\n")


async def test_ndjson_heartbeat_is_an_empty_line() -> None:
    gate = asyncio.Event()

    async def source() -> AsyncIterator[Start]:
        await gate.wait()
        yield Start(seq=0, run_id="r", name="m")

    lines = []
    async for line in ndjson_stream(source(), heartbeat=0.01):
        lines.append(line)
        gate.set()
    assert lines[0] == "\n"
    assert [json.loads(line)["type"] for line in lines if line.strip()] == ["start", "done"]


async def test_a_failing_stream_ends_with_a_safe_error_frame_and_logs_the_details(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def source() -> AsyncIterator[Start]:
        yield Start(seq=0, run_id="r", name="agent")
        raise RuntimeError("password=hunter2 in /srv/secret/config.py")

    caplog.set_level(logging.ERROR, logger="eventstream.adapters")
    body = "".join([frame async for frame in sse_stream(source(), heartbeat=None)])
    start, error = SSEParser().feed(body)
    assert start.event == "start"
    assert error.event == "error"
    assert json.loads(error.data) == {
        "type": "error",
        "message": "the run failed; the server log has the details",
        "reason": "failed",
    }
    assert "hunter2" not in body and "Traceback" not in body and ".py" not in body
    assert "hunter2" in caplog.text and "Traceback" in caplog.text


async def test_a_stream_read_to_its_end_leaves_no_task() -> None:
    async def source() -> AsyncIterator[Start]:
        yield Start(seq=0, run_id="r", name="agent")

    subscription = as_subscription(source())
    assert [frame async for frame in sse_stream(subscription)][-1].startswith("event: done")
    assert subscription.run.task is not None and subscription.run.task.done()


# -- what a request asks for ---------------------------------------------------------------


def test_selection_from_query_pairs_comma_separated_or_repeated() -> None:
    selector = parse_selection(
        [("types", "token, tool_call"), ("types", "end"), ("tags", "agent_llm"), ("page", "2")]
    )
    assert selector is not None
    assert selector.types == frozenset({"token", "tool_call", "end"})
    assert selector.tags == frozenset({"agent_llm"})
    assert selector.names is None and selector.inside is None
    assert parse_selection([("types", ""), ("inside", " , ")]) is None
    assert parse_selection([]) is None


def test_a_bad_selection_names_the_parameter() -> None:
    with pytest.raises(QueryError, match=r"^types: unknown event type") as caught:
        parse_selection([("types", "token,tokens")])
    assert caught.value.param == "types"
    assert isinstance(caught.value, ValueError)


def test_resume_point_last_event_id_wins_over_after() -> None:
    assert parse_resume(None, None) is None
    assert parse_resume("7", None) == 7
    assert parse_resume("7", "12") == 12
    assert parse_resume(" ", " 3 ") == 3
    assert parse_resume("-1", None) == -1
    with pytest.raises(QueryError, match=r"^Last-Event-ID: expected the seq"):
        parse_resume("7", "abc")
    with pytest.raises(QueryError, match=r"^after: expected a seq >= 0"):
        parse_resume("-2", None)


# -- the package ---------------------------------------------------------------------------


def test_every_public_name_is_exported_and_exists() -> None:
    modules = [
        module for name, module in sys.modules.items() if name.startswith("eventstream.adapters._")
    ]
    assert len(modules) >= 7
    for module in modules:
        for name in module.__all__:
            assert name in adapters.__all__, f"{module.__name__}.{name} is not exported"
    for name in adapters.__all__:
        assert hasattr(adapters, name)


def test_starlette_missing_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "starlette.responses", None)
    with pytest.raises(ImportError, match=r'pip install "eventstream\[serve\]"'):
        adapters.sse_response(as_subscription(_nothing()))


async def _nothing() -> AsyncIterator[Start]:
    return
    yield  # pragma: no cover
