"""The sans-IO normalizer: raw LangChain stream items in, typed events out.

Contract: ``feed(item)`` takes one raw item and returns the events it produces, in
order; ``close()`` returns the events that end the stream; ``fail(exc)`` those that end
it when the source raised. Nothing here does I/O or waits; async and sync iteration,
recording and replay wrap this one object.

It is a thin facade. The first item picks a reader (``eventstream._readers.READERS``:
one per input format); the reader turns items into typed values for the run table
(``eventstream._table``), which holds every open run and builds every event. Here:
the item's position, strict or lenient mode, and the one place where a rejected item
becomes an error saying "item N: …".

Guarantees, whatever the input: every run gives exactly one ``Start`` (synthesized
when a run is first seen mid-stream) and exactly one ``End``; nothing of a run follows
its ``End``; ``seq`` counts 0, 1, 2 …; each tool call gives exactly one ``ToolCall``
when its model run ends. A malformed item raises the library's own error in strict
mode and is skipped and counted (``skipped``) otherwise; either way it leaves no trace
in the state. A stream whose first items no reader takes raises
:class:`~eventstream.UnknownFormatError` in both modes: lenient mode skips damaged items
inside a stream it recognised, it never turns a whole stream into silence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventstream._errors import (
    EventStreamError,
    MalformedItemError,
    Problem,
    RunStateError,
    UnknownEventError,
    UnknownFormatError,
    describe,
    error_text,
)
from eventstream._events import Event
from eventstream._readers import Reader, choose, looks_like, read_formats
from eventstream._table import RunTable

__all__ = ["DETECT_WINDOW", "Normalizer"]

DETECT_WINDOW = 16
"""Lenient mode skips at most this many unreadable items before the stream's format is
known; then (or when the stream ends first) it raises :class:`UnknownFormatError`."""


class Normalizer:
    """Turns raw stream items into normalized events, one item at a time.

    >>> normalizer = Normalizer()
    >>> events = [e for item in raw_items for e in normalizer.feed(item)]
    >>> events += normalizer.close()

    ``strict=True`` raises :class:`~eventstream.EventStreamError` subclasses for
    malformed items; otherwise they are skipped and counted in ``skipped``.
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.skipped = 0
        """How many raw items were skipped as malformed (lenient mode); for
        ``astream_log``, how many ops (one bad op does not drop its whole patch)."""
        self.position = -1
        """The 0-based position of the last item fed."""
        self._table = RunTable()
        self._reader: Reader | None = None
        self._unreadable: str | None = None  # what the first unreadable item looked like
        self._fast: Callable[[Any], list[Event] | None] | None = None

    # -- public API -------------------------------------------------------------

    def feed(self, item: Any) -> list[Event]:
        """Normalize one raw item; returns the events it produces (possibly none)."""
        self.position += 1
        fast = self._fast
        if fast is not None:
            events = fast(item)
            if events is not None:
                return events
        reader = self._reader
        if reader is None:
            reader = self._choose(item)
            if reader is None:
                return []
        out: list[Event] = []
        try:
            reader.feed(item, out)
        except Problem as problem:
            other = choose(item) if problem.run_id is None else None
            if other is not None and other is not type(reader):
                article = "an" if other.format[:1] in "aeiou" else "a"
                problem = Problem(
                    f"{article} {other.format} item in a stream of {reader.format}: a stream "
                    f"holds one format; got {describe(item)}"
                )
            self._reject(problem)
            return []
        except EventStreamError:
            raise  # a part of the item rejected in strict mode: already ours
        except Exception as exc:  # a foreign object misbehaving while it was read
            odd = Problem(f"could not read {describe(item)}: {error_text(exc)}")
            odd.__cause__ = exc
            self._reject(odd)
            return []
        return out

    def close(self) -> list[Event]:
        """End the stream: runs still open end with an error saying so (an
        ``astream_log`` root run ends here, with its output: the log never ends it)."""
        out: list[Event] = []
        reader = self._reader
        if reader is None:
            if self.skipped:
                raise self._unknown_format(None)
            return out
        problem: Problem | None = None
        try:
            reader.close(out)
        except Problem as found:
            if found.kind == "format":
                raise UnknownFormatError(str(found), position=self.position) from None
            problem = found
        except EventStreamError:
            raise
        except Exception as exc:  # a foreign object misbehaving while the stream ended
            problem = Problem(f"could not end the stream: {error_text(exc)}")
            problem.__cause__ = exc
        self._table.close("the stream ended before this run ended", out)
        if problem is not None:
            self._reject(problem)
        return out

    def fail(self, exc: BaseException) -> list[Event]:
        """End the stream because the source raised ``exc``: open runs end with it."""
        out: list[Event] = []
        if self._reader is not None:
            try:
                self._reader.fail(out)
            except Exception:  # the source's exception is what counts
                # Strict or not, never raised (it would hide ``exc``): the runs end below.
                self.skipped += 1
        self._table.close(error_text(exc), out)
        return out

    @property
    def format(self) -> str | None:
        """The input format read (``"astream_events (v1/v2)"`` …); ``None`` until known."""
        return None if self._reader is None else self._reader.format

    @property
    def open_runs(self) -> list[str]:
        """Ids of the runs started and not yet ended, oldest first."""
        return self._table.open_runs

    @property
    def table_size(self) -> dict[str, int]:
        """What the run table holds now (open runs, remembered ended ids, waiting calls)."""
        return self._table.size

    # -- inside -------------------------------------------------------------------

    def _choose(self, item: Any) -> Reader | None:
        reader_type = choose(item)
        if reader_type is None:
            if self.strict or self.position >= DETECT_WINDOW - 1:
                raise self._unknown_format(item)
            if self._unreadable is None:
                self._unreadable = looks_like(item)
            self.skipped += 1
            return None
        reader = self._reader = reader_type(self._table, self._reject)
        self._fast = None if type(reader).fast is Reader.fast else reader.fast
        return reader

    def _unknown_format(self, item: Any) -> UnknownFormatError:
        if item is not None:
            seen = f"its first items look like {self._unreadable or looks_like(item)}"
        else:
            seen = (
                f"none of its {self.position + 1} items could be read; the first looks "
                f"like {self._unreadable}"
            )
        return UnknownFormatError(
            f"no reader for this stream: {seen}. eventstream reads {read_formats()}",
            position=self.position,
        )

    def _reject(self, problem: Problem) -> None:
        message = str(problem)
        error: EventStreamError
        if problem.run_id is not None:
            error = RunStateError(message, position=self.position, run_id=problem.run_id)
        elif problem.kind == "event":
            error = UnknownEventError(message, position=self.position)
        else:
            error = MalformedItemError(message, position=self.position)
        if self.strict:
            raise error from problem.__cause__
        self.skipped += 1
