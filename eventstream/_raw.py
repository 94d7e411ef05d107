"""Raw stream items saved as JSON, without a recording's header: what ``dump`` and
``stats`` read besides recordings.

Contract. :func:`raw_form` says whether a file holds raw items and in which of two
forms; :class:`RawItems` gives them back for ``normalize``, which picks the reader by
the first item's shape, as for a live stream. The forms:

- **JSON Lines**, one item per line: ``astream_events`` v2/v1 dicts (chunks and outputs
  in ``model_dump()`` or ``dumpd`` form), ``astream_log`` patches (``{"ops": [...]}``
  or a bare list of ops), LangGraph stream-mode items (``{"type", "ns", "data"}`` dicts,
  or the tuples as JSON arrays), ``astream_events`` v3 events; also the JSON of each
  frame LangServe's ``/stream_events`` and ``/stream_log`` send.
- **Server-Sent Events**, as ``curl -N .../stream_events`` saves them: frames of
  ``event:`` / ``data:`` lines; ``data`` frames are items, ``metadata`` frames are
  skipped, ``end`` ends the stream, ``error`` is the stream raising.

Less exact than a recording: no time offsets (traces and tables show no durations), and
values stay the JSON they were saved as (a message is a dict, not a message object), so
some events carry dicts where a recording gives LangChain objects. JSON has no tuples:
LangGraph's tuple forms are read back as tuples here (top-level arrays, and the
``[message, metadata]`` pairs of the ``messages`` mode).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from typing import IO, Any, Literal

from eventstream._errors import RecordingError
from eventstream._readers import choose
from eventstream._serialize import replayed_exception

__all__ = ["RAW_NOTE", "RawForm", "RawItems", "raw_form"]

RawForm = Literal["json", "sse"]

RAW_NOTE = (
    "raw stream items without a recording header: no timings, values as saved "
    "(less exact than a recording made with eventstream.record)"
)
"""What ``dump`` and ``stats`` say when they read raw items."""

_LONGEST_FIRST_LINE = 64 * 1024 * 1024
_SSE_FIELDS = (b"event:", b"data:", b"id:", b"retry:", b":")


def _first_line(file: IO[bytes]) -> bytes:
    for line in file:
        if line.strip():
            return line[:_LONGEST_FIRST_LINE]
    return b""


def raw_form(path: str | os.PathLike[str]) -> RawForm | None:
    """``"json"`` or ``"sse"`` when the file holds raw items in that form; ``None`` for
    a recording, an empty or unreadable file, or anything else (``replay`` then says
    what it is)."""
    try:
        with open(path, "rb") as file:
            first = _first_line(file).strip()
    except OSError:
        return None
    if first.startswith(_SSE_FIELDS):
        return "sse"
    try:
        value = json.loads(first)
    except ValueError:
        return None
    if isinstance(value, dict) and value.get("format") == "eventstream-recording":
        return None
    return "json" if isinstance(value, dict | list) else None


def _tuples(item: Any) -> Any:
    """LangGraph's tuple forms, which JSON turned into arrays, as tuples again."""
    if isinstance(item, list):
        if len(item) in (2, 3) and not all(isinstance(op, dict) and "op" in op for op in item):
            item = tuple(item)
            if len(item) >= 2 and isinstance(item[-1], list) and len(item[-1]) == 2:
                item = (*item[:-1], tuple(item[-1]))
        return item
    if (
        isinstance(item, dict)
        and item.get("type") == "messages"
        and isinstance(item.get("data"), list)
        and len(item["data"]) == 2
    ):
        return {**item, "data": tuple(item["data"])}
    return item


class RawItems:
    """The items of a file of raw stream items, for ``for`` (see the module docstring).

    Shaped like :class:`~eventstream.Replay` where ``dump`` and ``stats`` use it:
    ``path``, ``header`` (``source`` names the form), ``offset`` (always 0: the file
    has no times), ``skipped`` and ``errors`` (unreadable lines, lenient mode).
    """

    def __init__(
        self, path: str | os.PathLike[str], form: RawForm, *, strict: bool = False
    ) -> None:
        self.path = os.fspath(path)
        self.form = form
        self.strict = strict
        self.header: dict[str, Any] = {
            "source": "Server-Sent Events" if form == "sse" else "JSON Lines"
        }
        self.offset = 0.0
        self.skipped = 0
        self.retimed = 0
        self.errors: list[RecordingError] = []

    def format(self) -> str | None:
        """The input format of the file's first item (``"astream_events"``,
        ``"astream_log"`` …) as the reader that takes it names it; ``None`` when no
        reader takes it (``normalize`` then says what it looks like)."""
        strict, self.strict = self.strict, False
        try:
            for item in self:
                reader = choose(item)
                return reader.format if reader is not None else None
        except Exception:  # an error frame first …: the iteration says so later
            return None
        finally:
            self.strict = strict
        return None

    def _fail(self, message: str, line: int, exc: BaseException | None = None) -> None:
        error = RecordingError(message, path=self.path, line=line)
        if self.strict:
            raise error from exc
        self.skipped += 1
        self.errors.append(error)

    def __iter__(self) -> Iterator[Any]:
        self.skipped = 0
        self.errors = []
        try:
            file = open(self.path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise RecordingError(f"cannot open: {exc.strerror or exc}", path=self.path) from exc
        with file:
            if self.form == "sse":
                yield from self._frames(file)
            else:
                yield from self._lines(file)

    def _lines(self, file: IO[bytes]) -> Iterator[Any]:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                why = (
                    "the line is cut short (the file ends mid-line)"
                    if not line.endswith(b"\n")
                    else f"not a JSON line ({exc})"
                )
                self._fail(why, number, exc)
                continue
            yield _tuples(item)

    def _frames(self, file: IO[bytes]) -> Iterator[Any]:
        event, first = "message", 0
        data: list[str] = []
        for number, raw in enumerate(itertools.chain(file, [b"\n"]), 1):
            line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
            if line:
                if not data and event == "message":
                    first = number
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    event = value
                elif field == "data":
                    data.append(value)
                continue
            if data or event != "message":
                if event == "end":
                    return
                if event == "error":
                    try:
                        payload = json.loads("\n".join(data))
                    except ValueError:
                        payload = "\n".join(data)
                    message = payload.get("message") if isinstance(payload, dict) else payload
                    raise replayed_exception({"type": "ServerError", "message": str(message)})
                if event in ("data", "message"):
                    try:
                        yield _tuples(json.loads("\n".join(data)))
                    except ValueError as exc:
                        self._fail(f"the frame's data is not JSON ({exc})", first, exc)
            event, data = "message", []
