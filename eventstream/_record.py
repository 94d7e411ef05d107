"""Recording raw streams to JSON Lines files, and replaying them.

Contract. ``record(source, path)`` passes every item of ``source`` through unchanged
(the very same objects, sync or async as the source iterates) and writes each one to
``path`` before handing it on, flushed line by line, so a crash leaves a readable
prefix; with ``flush="batch"`` lines are written in batches, at the latest 5 ms or
64 KB after they are made (see :func:`record` for what a crash can lose then).
``replay(path)`` gives the recorded items back, rebuilt as they were:
``normalize(replay(path))`` gives the events that ``normalize`` gave live.

The file: line 1 is a header, then one line per item, with the item's time offset in
seconds from the start of the iteration::

    {"format":"eventstream-recording","version":1,"source":"astream_events",
     "created":"2025-01-01T12:00:00+00:00","langchain_core":"1.7.2","eventstream":"0.1.0"}
    {"t":0.0012,"item":{"event":"on_chat_model_stream","run_id":"…","data":{"chunk":{"lc":1,…}}}}
    {"t":0.0020,"ops":[{"op":"add","path":"/logs/…","value":…}]}          (a RunLogPatch)
    {"t":0.0020,"ops":[…],"state":{…}}                                      (a RunLog)
    {"t":0.0031,"raised":{"$exception":{"type":"RuntimeError",…}}}          (the source raised)

Replay checks ``t`` (a finite number from 0 to :data:`MAX_OFFSET`, going back at most
:data:`OFFSET_TOLERANCE` from the line before): a bad one is a ``RecordingError`` naming
the line (strict), or the line's item is kept at the offset of the item before (lenient).

Values are in the form ``eventstream._serialize`` describes: LangChain objects in
LangChain's own serialization, everything else plain JSON or a ``$`` marker. A source
that raises is recorded too; replay raises it again (as a
:class:`~eventstream.ReplayedError` of the same type name) after the same items.

Items are written as they are when streamed. LangGraph changes some messages after
streaming them (it names an agent's messages, gives tool messages ids): a live
consumer that looks at an event later sees those changes, a replay does not. Replayed
items of one run share one metadata dict, as ``astream_events`` v2 items do: treat
replayed items as read-only.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import math
import operator
import os
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from importlib import metadata as _metadata
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar

from langchain_core.messages import AIMessageChunk

from eventstream._errors import RecordingError
from eventstream._serialize import (
    ReplayedError,
    Reviver,
    dump_lc,
    dumps_line,
    dumps_value,
    exception_fields,
    jsonable,
    loads_line,
    replayed_exception,
    text_fields,
    text_frame,
)
from eventstream._stream import Stream, apump, pump

if TYPE_CHECKING:
    # Imported when used: the module pulls in langsmith (a third of a second at
    # startup), and only astream_log streams need it.
    from langchain_core.tracers.log_stream import RunLogPatch

__all__ = [
    "BATCH_BYTES",
    "BATCH_SECONDS",
    "FORMAT",
    "MAX_OFFSET",
    "OFFSET_TOLERANCE",
    "VERSION",
    "WAITING_SECONDS",
    "Flush",
    "Recorder",
    "Redact",
    "Replay",
    "record",
    "replay",
]

FORMAT = "eventstream-recording"
"""The ``format`` named in a recording's header line."""

VERSION = 1
"""The version of the recording format this eventstream writes and reads."""

MAX_OFFSET = 7 * 24 * 3600.0
"""The largest time offset ``t`` replay accepts, in seconds (7 days)."""

OFFSET_TOLERANCE = 0.1
"""How far (seconds) a line's ``t`` may go back from the item before it. ``record()``
writes offsets that never go back; this leaves room for other writers' clocks."""

# The longest single sleep of pacing: a longer delay is slept in pieces, so no delay,
# however slow the speed, overflows time.sleep.
_LONGEST_SLEEP = 24 * 3600.0

T = TypeVar("T")

Redact = Callable[[dict[str, Any]], Mapping[str, Any]]
"""A hook that gets a copy of a run's metadata and returns what may be written."""

Flush = Literal["line", "batch"]
"""When ``record`` writes its lines: each before its item is handed on, or in batches."""

BATCH_SECONDS = 0.005
"""``flush="batch"``: the longest a line waits in memory (while the source iterates)."""

BATCH_BYTES = 64 * 1024
"""``flush="batch"``: the most that waits in memory; a fuller buffer is written at once."""

WAITING_SECONDS = 0.001
"""``flush="batch"``: an item that comes this long after the one before is written at
once (with what waits): the source is slow, so it is likely to wait again."""

_BATCH_NS = int(BATCH_SECONDS * 1e9)
_WAITING_NS = int(WAITING_SECONDS * 1e9)

_SCALARS = frozenset({str, int, float, bool, type(None)})

# Looked up at call time, so tests can run the pacing and the batches on a fake clock.
_clock = time.perf_counter_ns
_now = time.monotonic
_sleep = time.sleep


async def _asleep(seconds: float) -> None:
    import asyncio  # here, not at the top: it is 10 ms of `import eventstream`

    await asyncio.sleep(seconds)


@functools.cache  # importlib.metadata scans sys.path: about half a millisecond a call
def _version(package: str) -> str:
    try:
        return _metadata.version(package)
    except _metadata.PackageNotFoundError:
        return "unknown"


def _log_patch(item: Any) -> bool:
    """Whether ``item`` is a ``RunLogPatch`` (or a ``RunLog``), without importing
    LangChain's log module: a live patch means it is imported already."""
    module = sys.modules.get("langchain_core.tracers.log_stream")
    return module is not None and isinstance(item, module.RunLogPatch)


def _log_state(item: Any) -> bool:
    """Whether the patch ``item`` is a ``RunLog`` (it carries the whole state)."""
    return isinstance(item, sys.modules["langchain_core.tracers.log_stream"].RunLog)


def _source_format(item: Any) -> str:
    if _log_patch(item):
        return "astream_log"
    if isinstance(item, Mapping) and "event" in item:
        return "astream_events"
    return "unknown"


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    try:
        return copy.deepcopy(value)
    except Exception:  # an uncopyable value inside: the hook still gets its own dict
        return dict(value)


# -- recording ----------------------------------------------------------------------


def _all_str(values: list[Any]) -> bool:
    return all(type(value) is str for value in values)


def _unchanged(metadata: Any, snapshot: Any) -> bool:
    try:
        return bool(metadata == snapshot)
    except Exception:  # values whose == does not give a bool (arrays …)
        return False


def _members(obj: dict[str, Any]) -> bytes:
    """The members of a JSON object, without braces: what goes between other members."""
    return dumps_line(obj)[1:-2]


class _Template:
    """The constant part of a run's stream events, encoded once.

    A run streams many events (one per token) that differ only in their chunk (and
    time offset): their line is ``{"t":<offset>`` + ``head`` + ``<chunk>`` + ``tail``,
    the same JSON as converting the whole event. ``fits`` checks that an event is one
    of those: the same keys in the same order, the metadata the same dict and unchanged
    (LangChain passes a run's dict on each event), every other value equal to the
    snapshot (strings, ``None`` and lists of strings, whose equality is exact).

    A model's text tokens also differ only in their text: once ``text`` holds a
    :func:`~eventstream._serialize.text_frame`, a chunk with the same other fields
    is written as ``text_head + <content> + text_tail``.
    """

    __slots__ = (
        "get",
        "head",
        "keys",
        "metadata",
        "snapshot",
        "tail",
        "text",
        "text_head",
        "text_tail",
    )

    def __init__(
        self,
        keys: tuple[str, ...],
        get: Callable[[Any], Any],
        snapshot: Any,
        metadata: dict[str, Any],
        head: bytes,
        tail: bytes,
    ) -> None:
        self.keys = keys
        self.get = get
        self.snapshot = snapshot
        self.metadata = metadata
        self.head = head
        self.tail = tail
        self.text: Any = None  # the text frame's fields: no chunk has None
        self.text_head = self.text_tail = b""

    def fits(self, item: dict[Any, Any]) -> bool:
        if item.get("metadata") is not self.metadata or tuple(item) != self.keys:
            return False
        try:
            return bool(self.get(item) == self.snapshot)
        except Exception:  # values whose == does not give a bool (arrays …)
            return False

    def line(self, offset: float, chunk: Any) -> bytes:
        time = dumps_value(offset)
        if type(chunk) is AIMessageChunk:
            fields = chunk.__dict__
            text = fields["content"]
            if self.text is not None and type(text) is str and text_fields(fields) == self.text:
                return b"".join((b'{"t":', time, self.text_head, dumps_value(text), self.text_tail))
            frame = text_frame(chunk)
            if frame is not None:
                self.text, before, after = frame
                self.text_head, self.text_tail = self.head + before, after + self.tail
                return b"".join((b'{"t":', time, self.text_head, dumps_value(text), self.text_tail))
        # jsonable(data) without its checks: a "chunk" key needs no "$dict" wrapper.
        return b"".join((b'{"t":', time, self.head, dumps_value(jsonable(chunk)), self.tail))


class _HookError(Exception):
    """Carries an exception of the redact hook past the writer's fallbacks."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class _Writer:
    """Writes one recording: the header at the first item, then a line per item.

    ``flush="line"``: each line is one ``write()`` as soon as it is made. ``"batch"``:
    lines gather in a buffer of :data:`BATCH_BYTES`, written when it is full, when its
    oldest line is :data:`BATCH_SECONDS` old (checked at each item, and by a timer on
    the event loop when ``schedule`` is given: ``loop.call_later``), at once when an
    item came :data:`WAITING_SECONDS` or more after the one before (the source is slow,
    so it is likely waiting again), and when the recording fails or closes.
    """

    def __init__(
        self,
        path: str,
        redact: Redact | None,
        flush: Flush = "line",
        schedule: Callable[[float, Callable[[], None]], Any] | None = None,
    ) -> None:
        self.path = path
        self._redact = redact
        self._batch = flush == "batch"
        self._file: IO[bytes] = open(  # noqa: SIM115
            path, "wb", buffering=BATCH_BYTES if self._batch else 0
        )
        self._start = self._last = _clock()
        self._created = dt.datetime.now(dt.timezone.utc).isoformat()
        self._header_written = False
        # batch mode: when the oldest line not yet written was made (ns), or None; the
        # timer that will write it; an error the timer met, for the caller to see
        self._since: int | None = None
        self._schedule = schedule
        self._timer: Any = None
        self._error: OSError | None = None
        # run id -> (metadata object, snapshot of it, its JSON form)
        self._metadata: dict[Any, tuple[Any, Any, Any]] = {}
        # run id -> the encoded constant part of its stream events
        self._templates: dict[str, _Template] = {}

    def _write(self, line: bytes) -> None:
        written = self._file.write(line)
        if written != len(line):
            self._write_rest(line, written or 0)

    def _write_rest(self, line: bytes, written: int) -> None:
        # An unbuffered write may write less than asked (rare for files): finish it.
        view = memoryview(line)
        while written < len(line):
            written += self._file.write(view[written:]) or 0

    def _header(self, source: str | None) -> None:
        header = {
            "format": FORMAT,
            "version": VERSION,
            "source": source,
            "created": self._created,
            "langchain_core": _version("langchain-core"),
            "eventstream": _version("eventstream"),
        }
        self._write(dumps_line(header))
        self._header_written = True

    def _offset(self, now: int) -> float:
        # Whole microseconds, in seconds: the float nearest the 6-digit decimal, as
        # round(seconds, 6) gives, without round()'s decimal conversion (a hot path).
        return (now - self._start) // 1000 / 1e6

    def item(self, item: Any) -> None:
        if not self._header_written:
            self._header(_source_format(item))
        now = _clock()
        offset = (now - self._start) // 1000 / 1e6  # _offset(), inlined: a hot path
        try:
            if type(item) is dict:
                data = self._stream_line(item, offset) or dumps_line(
                    {"t": offset, "item": self._event(item)}
                )
            elif _log_patch(item):
                line: dict[str, Any] = {"t": offset, "ops": self._ops(item.ops)}
                if _log_state(item):
                    line["state"] = jsonable(self._redact_state(item.state))
                data = dumps_line(line)
            else:
                data = dumps_line({"t": offset, "item": jsonable(item)})
        except _HookError as failed:  # the redact hook's own error: the caller's to see
            raise failed.error from None
        except Exception as exc:  # a value that defeats every fallback (a cycle …)
            note = f"<not recorded: {type(exc).__name__}: {exc}>"
            failure = {
                "$repr": {
                    "type": f"{type(item).__module__}.{type(item).__qualname__}",
                    "repr": note,
                    "str": note,
                }
            }
            data = dumps_line({"t": offset, "item": failure})
        if self._batch:
            self._gather(data, now)
            return
        written = self._file.write(data)
        if written != len(data):
            self._write_rest(data, written or 0)

    def _gather(self, data: bytes, now: int) -> None:
        """Batch mode: buffer a line; write the buffer when it is due."""
        if self._error is not None:
            raise self._error
        self._file.write(data)  # a full buffer is written here
        since = self._since
        if now - self._last >= _WAITING_NS or (since is not None and now - since >= _BATCH_NS):
            self._flush()
        elif since is None:
            self._since = now
            if self._schedule is not None and self._timer is None:
                self._timer = self._schedule(BATCH_SECONDS, self._due)
        self._last = now

    def _flush(self) -> None:
        self._since = None
        self._file.flush()

    def _due(self) -> None:
        """The timer of batch mode: write what waits (on the event loop, between items)."""
        self._timer = None
        if self._since is None or self._file.closed:
            return
        try:
            self._flush()
        except OSError as exc:  # the disk is full …: raised to the caller at the next item
            self._error = exc

    def raised(self, exc: BaseException) -> None:
        if not self._header_written:
            self._header(None)
        line = {
            "t": self._offset(_clock()),
            "raised": {"$exception": exception_fields(exc)},
        }
        self._write(dumps_line(line))
        if self._batch:
            self._flush()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            if not self._header_written:
                self._header(None)
        finally:
            self._since = None
            self._file.close()  # writes what is buffered
        if self._error is not None:
            raise self._error

    # -- items -------------------------------------------------------------------------

    def _stream_line(self, item: dict[Any, Any], offset: float) -> bytes | None:
        """The line of a stream event (a token …) from its run's template; None for
        any other item, which :meth:`_event` converts whole."""
        data = item.get("data")
        if type(data) is not dict or len(data) != 1 or "chunk" not in data:
            return None
        run_id = item.get("run_id")
        if type(run_id) is not str:
            return None
        template = self._templates.get(run_id)
        if template is None or not template.fits(item):
            template = self._template(run_id, item)
            if template is None:
                return None
        return template.line(offset, data["chunk"])

    def _template(self, run_id: str, item: dict[Any, Any]) -> _Template | None:
        """The encoded constant part of ``item``, cached for its run's next stream
        events. None (the item is converted whole, as every other item is) when a part
        is not of a form the template checks cheaply, or when the metadata dict is not
        one the run passed before: LangChain passes a new one with each v1 event."""
        metadata = item.get("metadata")
        seen = self._metadata.get(run_id)
        if "lc" in item or seen is None or seen[0] is not metadata:
            return None
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        snapshot: list[Any] = []
        side = before
        for key, value in item.items():
            if type(key) is not str:
                return None
            if key == "data":
                side = after
                continue
            if key == "metadata":
                side[key] = self._metadata_of(run_id, value)
                value = self._metadata[run_id][1]
            elif type(value) is list and _all_str(value):
                side[key] = value
                value = list(value)
            elif type(value) is str or value is None:
                side[key] = value
            else:
                return None
            snapshot.append(value)
        head = b',"item":{' + _members(before) + (b"," if before else b"") + b'"data":{"chunk":'
        tail = b"}" + (b"," + _members(after) if after else b"") + b"}}\n"
        template = _Template(
            tuple(item),
            operator.itemgetter(*before, *after),
            # What the getter gives: a tuple, or the value itself for a single key.
            tuple(snapshot) if len(snapshot) > 1 else snapshot[0],
            metadata,
            head,
            tail,
        )
        if len(self._templates) > 4096:
            self._templates.clear()
        self._templates[run_id] = template
        return template

    def _event(self, item: Any) -> Any:
        if type(item) is not dict or "metadata" not in item:
            return jsonable(item)
        out = dict(item)
        for key, value in item.items():
            if type(key) is not str:
                out["metadata"] = self._redacted(item["metadata"])
                return jsonable(out)
            cls = type(value)
            if cls is str or value is None:
                continue
            if cls is dict:
                if key == "metadata":
                    out[key] = self._metadata_of(item.get("run_id"), value)
                    continue
                if len(value) == 1 and type(value.get("chunk")) is AIMessageChunk:
                    out[key] = {"chunk": dump_lc(value["chunk"])}  # a token: the hot path
                    continue
            elif cls is list and _all_str(value):  # tags, parent_ids: as they are
                continue
            out[key] = jsonable(value)
        if "lc" in out:
            return {"$dict": out}
        return out

    def _metadata_of(self, run_id: Any, metadata: Any) -> Any:
        """The JSON form of a run's metadata; redacted and converted once per run when
        LangChain passes the same unchanged dict on each event (v2 does)."""
        try:
            cached = self._metadata.get(run_id)
        except TypeError:  # an unhashable run id
            return jsonable(self._redacted(metadata))
        if cached is not None and cached[0] is metadata and _unchanged(metadata, cached[1]):
            return cached[2]
        encoded = jsonable(self._redacted(metadata))
        if isinstance(metadata, dict):
            if len(self._metadata) > 4096:
                self._metadata.clear()
            self._metadata[run_id] = (metadata, _copy(metadata), encoded)
        return encoded

    def _redacted(self, metadata: Any) -> Any:
        if self._redact is None or not isinstance(metadata, Mapping):
            return metadata
        try:
            result = self._redact(_copy(dict(metadata)))
            if not isinstance(result, Mapping):
                msg = f"redact must return a dict, got {type(result).__name__}"
                raise TypeError(msg)
        except Exception as exc:
            raise _HookError(exc) from exc
        return result

    def _ops(self, ops: Iterable[Any]) -> list[Any]:
        out = []
        for op in ops:
            if self._redact is not None and isinstance(op, Mapping):
                value = op.get("value")
                path = op.get("path")
                if path == "" and isinstance(value, Mapping):
                    value = self._redact_state(value)
                elif (
                    isinstance(path, str)
                    and path.startswith("/logs/")
                    and path.count("/") == 2
                    and isinstance(value, Mapping)
                ):
                    value = self._redact_entry(value)
                op = {**op, "value": value}
            out.append(jsonable(op))
        return out

    def _redact_entry(self, entry: Mapping[str, Any]) -> Mapping[str, Any]:
        if self._redact is None or "metadata" not in entry:
            return entry
        return {**entry, "metadata": self._redacted(entry["metadata"])}

    def _redact_state(self, state: Mapping[str, Any]) -> Mapping[str, Any]:
        logs = state.get("logs")
        if self._redact is None or not isinstance(logs, Mapping):
            return state
        entries = {
            name: self._redact_entry(entry) if isinstance(entry, Mapping) else entry
            for name, entry in logs.items()
        }
        return {**state, "logs": entries}


class Recorder(Stream[T]):
    """The items of a source, passed through while they are written to a recording.

    Iterate it as the source iterates (``for`` / ``async for``), once. See
    :func:`record`.
    """

    def __init__(
        self,
        source: Iterable[T] | AsyncIterable[T],
        path: str | os.PathLike[str],
        *,
        redact: Redact | None = None,
        flush: Flush = "line",
    ) -> None:
        if flush not in ("line", "batch"):
            msg = f"flush must be 'line' or 'batch', got {flush!r}"
            raise ValueError(msg)
        super().__init__(source)
        self.path = os.fspath(path)
        self.redact = redact
        self.flush_mode: Flush = flush
        """When lines are written: ``"line"`` or ``"batch"`` (see :func:`record`)."""
        self._used = False

    def _writer(
        self, schedule: Callable[[float, Callable[[], None]], Any] | None = None
    ) -> _Writer:
        if self._used:
            msg = f"this recorder of {self.path} was already iterated: record again"
            raise RuntimeError(msg)
        self._used = True
        return _Writer(self.path, self.redact, self.flush_mode, schedule)

    # Generators, so the file is opened on the first pull, not when iteration is asked
    # for (an async source iterated with ``for`` fails before anything is opened).

    def __iter__(self) -> Iterator[T]:
        items = self._sync_items()
        writer = self._writer()
        yield from pump(
            items,
            _passing_through(writer),
            on_raise=_recording_raise(writer),
            cleanup=writer.close,
        )

    async def __aiter__(self) -> AsyncIterator[T]:
        import asyncio  # here, not at the top (see _asleep); loaded once a loop runs anyway

        items = self._async_items()
        writer = self._writer(asyncio.get_running_loop().call_later)
        pumped = apump(
            items,
            _passing_through(writer),
            on_raise=_recording_raise(writer),
            cleanup=writer.close,
        )
        try:
            async for item in pumped:
                yield item
        finally:
            # ``async for`` does not close what it iterates when we are closed early.
            await pumped.aclose()  # type: ignore[attr-defined]


def _passing_through(writer: _Writer) -> Callable[[T], tuple[T]]:
    def step(item: T) -> tuple[T]:
        writer.item(item)  # written (or, flush="batch", buffered) before it is handed on
        return (item,)

    return step


def _recording_raise(writer: _Writer) -> Callable[[Exception], tuple[()]]:
    def on_raise(exc: Exception) -> tuple[()]:
        writer.raised(exc)
        return ()

    return on_raise


def record(
    source: Iterable[T] | AsyncIterable[T],
    path: str | os.PathLike[str],
    *,
    redact: Redact | None = None,
    flush: Flush = "line",
) -> Recorder[T]:
    """Record a raw stream to ``path`` while passing its items through unchanged.

    ``source`` is a sync or async iterable of ``astream_events`` dicts (v1 or v2) or
    ``astream_log`` patches (``RunLogPatch`` / ``RunLog``)::

        async for event in normalize(record(agent.astream_events(inputs), "run.jsonl")):
            ...

    The file is opened when iteration starts (and overwritten). ``redact`` gets a
    copy of each run's metadata (also of ``astream_log`` run entries) and returns
    what may be written; the live items are never changed.

    ``flush`` says when lines reach the file (neither mode calls ``fsync``: both
    survive a crash of the process, not of the machine):

    - ``"line"`` (the default): each line is written before its item is handed on. A
      crash loses nothing that was handed on.
    - ``"batch"``: lines gather in memory and are written when 64 KB have gathered,
      when the oldest is 5 ms old, at once when an item came 1 ms or more after the one
      before (a slow source, likely to wait again), and always when the source raises,
      the iteration is cancelled or stopped, or the source ends. Iterated with
      ``async for``, a timer on the event loop keeps the 5 ms while the source waits,
      so a crash loses at most the last 5 ms of items (at most 64 KB). Iterated with
      ``for``, nothing runs while a sync source blocks: the lines of at most the 5 ms
      before it blocked wait for its next item. About a third cheaper per item than
      ``"line"``: one ``write`` per batch instead of one per item.
    """
    return Recorder(source, path, redact=redact, flush=flush)


# -- replay -------------------------------------------------------------------------


def _read_header(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as file:
            first = file.readline(64 * 1024)
    except FileNotFoundError as exc:
        raise RecordingError("no such file", path=path) from exc
    except IsADirectoryError as exc:
        raise RecordingError("is a directory, not a recording", path=path) from exc
    except OSError as exc:
        raise RecordingError(f"cannot open: {exc.strerror or exc}", path=path) from exc
    hint = f"not an eventstream recording (line 1 must be its {FORMAT!r} header)"
    if not first.strip():
        raise RecordingError(f"empty file: {hint}", path=path, line=1)
    try:
        header = json.loads(first)
    except ValueError as exc:
        raise RecordingError(hint, path=path, line=1) from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecordingError(hint, path=path, line=1)
    version = header.get("version")
    if type(version) is not int:
        raise RecordingError(f"header has no format version: {hint}", path=path, line=1)
    if version > VERSION:
        raise RecordingError(
            f"recording format version {version} is newer than this eventstream reads "
            f"({VERSION}): upgrade eventstream",
            path=path,
            line=1,
        )
    return header


class _BadLine(Exception):
    pass


class Replay:
    """The items of a recording, for ``for`` and ``async for``. See :func:`replay`.

    Each iteration reads the file again. While iterating, ``offset`` is the recorded
    time offset (seconds) of the item yielded last; ``skipped`` counts the unreadable
    lines skipped (lenient mode), ``retimed`` the lines whose time offset could not be
    used (lenient mode: their items are kept, at the offset of the item before), and
    ``errors`` says what was wrong with each line of either kind.

    A time offset ``t`` is usable when it is a finite number from 0 to
    :data:`MAX_OFFSET` (7 days) that goes back at most :data:`OFFSET_TOLERANCE`
    (0.1 s) from the item before. So ``offset`` is always such a number, and pacing
    (``speed``) never waits longer than the recording says, nor overflows.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        speed: float | None = None,
        strict: bool = False,
    ) -> None:
        if speed is not None and not speed > 0:
            msg = f"speed must be a positive number or None, got {speed!r}"
            raise ValueError(msg)
        self.path = os.fspath(path)
        self.speed = speed
        self.strict = strict
        self.header = _read_header(self.path)
        """The header line: format, version, source, created, langchain_core …"""
        self.offset = 0.0
        self.skipped = 0
        self.retimed = 0
        self.errors: list[RecordingError] = []

    @property
    def source(self) -> str | None:
        """``"astream_events"`` or ``"astream_log"``: what was recorded."""
        source = self.header.get("source")
        return source if isinstance(source, str) else None

    def _fail(self, message: str, line: int, exc: BaseException | None = None) -> None:
        error = RecordingError(message, path=self.path, line=line)
        if self.strict:
            raise error from exc
        self.skipped += 1
        self.errors.append(error)

    def _items(self) -> Iterator[Any]:
        """Every readable item, in order; sets ``offset`` before each."""
        self.offset = 0.0
        self.skipped = 0
        self.retimed = 0
        self.errors = []
        reviver = Reviver()
        revive_event = reviver.event
        loads = loads_line
        try:
            file = open(self.path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise RecordingError(f"cannot open: {exc}", path=self.path) from exc
        with file:
            _read_header_line(file, self.path)
            number = 1
            low = 0.0  # the earliest offset the next line may have
            for line in file:
                number += 1
                raised: ReplayedError | None = None
                try:
                    record = loads(line)
                    offset = record["t"]
                    if "item" in record:
                        item = revive_event(record["item"])
                    elif "ops" in record:
                        item = _patch(record, reviver)
                    elif "raised" in record:
                        error = reviver.value(record["raised"])
                        if not isinstance(error, ReplayedError):
                            error = replayed_exception({"message": repr(error)})
                        raised = error
                    else:
                        raise _BadLine("expected an 'item', 'ops' or 'raised' key")
                except Exception as exc:
                    if not line.strip():
                        continue
                    self._fail(_why(line, exc), number, exc)
                    continue
                if (type(offset) is not float and type(offset) is not int) or not (
                    low <= offset <= MAX_OFFSET
                ):
                    offset = self._retime(offset, number)
                self.offset = offset
                low = offset - OFFSET_TOLERANCE if offset > OFFSET_TOLERANCE else 0.0
                if raised is not None:
                    raise raised
                yield item

    def _retime(self, offset: Any, line: int) -> float:
        """A time offset that cannot be used: strict, an error naming the line; lenient,
        the line keeps its item at the offset of the item before (no wait)."""
        before = self.offset
        if type(offset) is not float and type(offset) is not int:
            why = f"bad time offset {offset!r:.40}: 't' must be a number of seconds"
        elif offset != offset or offset in (math.inf, -math.inf):
            why = f"time offset {offset!r} is not a finite number"
        elif offset < 0:
            why = f"time offset {offset!r} is negative"
        elif offset > MAX_OFFSET:
            why = (
                f"time offset {offset!r:.40} is beyond {MAX_OFFSET:.0f} s (7 days), "
                "the longest a recording can span"
            )
        else:
            why = (
                f"time offset {offset!r} is {before - offset:.6g} s before the item before "
                f"it ({before!r}); lines may go back by {OFFSET_TOLERANCE} s at most: "
                "lines out of order, or two recordings joined?"
            )
        error = RecordingError(why, path=self.path, line=line)
        if self.strict:
            raise error
        self.retimed += 1
        self.errors.append(error)
        return before

    def entries(self) -> Iterator[tuple[float, Any]]:
        """``(offset, item)`` pairs, without pacing."""
        for item in self._items():
            yield self.offset, item

    def __iter__(self) -> Iterator[Any]:
        speed = self.speed
        if speed is None:
            yield from self._items()
            return
        start = _now()
        for item in self._items():
            delay = self.offset / speed - (_now() - start)
            while delay > _LONGEST_SLEEP:
                _sleep(_LONGEST_SLEEP)
                delay -= _LONGEST_SLEEP
            if delay > 0:
                _sleep(delay)
            yield item

    async def __aiter__(self) -> AsyncIterator[Any]:
        speed = self.speed
        start = _now()
        for item in self._items():
            if speed is not None:
                delay = self.offset / speed - (_now() - start)
                while delay > _LONGEST_SLEEP:
                    await _asleep(_LONGEST_SLEEP)
                    delay -= _LONGEST_SLEEP
                if delay > 0:
                    await _asleep(delay)
            yield item


def _read_header_line(file: IO[bytes], path: str) -> None:
    first = file.readline()
    try:
        header = json.loads(first)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecordingError("the header line changed while reading", path=path, line=1)


def _patch(record: dict[str, Any], reviver: Reviver) -> RunLogPatch:
    from langchain_core.tracers.log_stream import RunLog, RunLogPatch

    ops = reviver.value(record["ops"])
    if type(ops) is not list or not all(isinstance(op, dict) for op in ops):
        raise _BadLine("'ops' must be a list of JSON patch operations")
    if "state" in record:
        state = reviver.value(record["state"])
        if not isinstance(state, dict):
            raise _BadLine("'state' must be an object")
        return RunLog(*ops, state=state)  # type: ignore[arg-type]
    return RunLogPatch(*ops)


def _why(line: bytes, exc: Exception) -> str:
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        if not line.endswith(b"\n"):
            return "the line is cut short (the file ends mid-line: an interrupted recording?)"
        return f"not a JSON line ({exc})"
    if isinstance(exc, (KeyError, TypeError)) and not isinstance(exc, _BadLine):
        return f"not a recording line: expected an object with a time offset 't' ({exc!r})"
    return f"unreadable line: {exc}"


def replay(
    path: str | os.PathLike[str],
    *,
    speed: float | None = None,
    strict: bool = False,
) -> Replay:
    """The items recorded in ``path``, usable with ``for`` and ``async for``::

        events = list(normalize(replay("run.jsonl")))
        async for event in normalize(replay("run.jsonl", speed=1.0)): ...

    ``speed=1.0`` keeps the recorded pacing (``2.0`` twice as fast; ``None``, the
    default, never waits). LangChain objects are rebuilt only for the allow-listed
    message, output, document and prompt-value classes; anything else stays a dict.
    A file that is not a recording raises :class:`~eventstream.RecordingError` here.
    An unreadable line raises one naming the file and line when ``strict``; otherwise
    it is skipped and counted in ``skipped``. So does a time offset ``t`` that is not a
    finite number from 0 to 7 days, or that goes back more than 0.1 s from the item
    before; lenient replay keeps that line's item, at the offset of the item before
    (no wait), and counts it in ``retimed``.
    """
    return Replay(path, speed=speed, strict=strict)
