"""A stream of what a sans-IO reader makes of an event stream, sync or async.

The readers built on the normalized events (``AnswerReader``, the partial tool calls)
share one shape: ``feed(event) -> list``, ``close() -> list`` at the end, and
``fail(exc) -> list`` when the source raises (the exception then propagates as it
is). :class:`Driven` runs one over a stream, iterated as the stream iterates (``for``
or ``async for``), with a fresh reader for each iteration, and closes the source when
the consumer stops early (through :func:`~eventstream._stream.pump`).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

from eventstream._events import Event
from eventstream._stream import Stream, apump, pump

__all__ = ["Driven", "Reader"]

U = TypeVar("U")


class Reader(Protocol[U]):
    """What :class:`Driven` runs: a sans-IO reader of events."""

    def feed(self, event: Event) -> list[U]: ...

    def close(self) -> list[U]: ...

    def fail(self, exc: BaseException) -> list[U]: ...


class Driven(Stream[U]):
    """The items a reader makes of a stream of events; sync, async or both, as the
    stream is. ``make_reader`` is called once per iteration."""

    def __init__(
        self,
        events: Iterable[Event] | AsyncIterable[Event],
        make_reader: Callable[[], Reader[U]],
    ) -> None:
        super().__init__(events)
        self._make_reader = make_reader

    def __iter__(self) -> Iterator[U]:
        reader = self._make_reader()
        return pump(
            self._sync_items(),
            reader.feed,
            on_raise=reader.fail,
            at_end=_at_end(reader),
        )

    def __aiter__(self) -> AsyncIterator[U]:
        reader = self._make_reader()
        return apump(
            self._async_items(),
            reader.feed,
            on_raise=reader.fail,
            at_end=_at_end(reader),
        )


def _at_end(reader: Reader[U]) -> Callable[[Any], list[U]]:
    return lambda _: reader.close()
