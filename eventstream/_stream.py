"""``normalize()``: wraps a raw source in a stream of events, iterated as the source is.

A sync source (a list, a recording) is iterated with ``for``; an async one
(``astream_events``, ``astream_log``) with ``async for``; a source that is both (a
recording) supports both. Each event is handed over before the next raw item is
pulled. When the source raises, the runs still open are ended with that error
(innermost first) and then the original exception propagates unchanged. When the
consumer stops early, the source is closed, so LangChain cancels the run.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from eventstream._normalizer import Event, Normalizer

__all__ = ["EventStream", "normalize"]

T = TypeVar("T")


class Stream(Generic[T]):
    """An iterable that is sync, async or both, as its source is."""

    def __init__(self, source: Iterable[Any] | AsyncIterable[Any]) -> None:
        self._source = source

    def _sync_items(self) -> Iterator[Any]:
        if not isinstance(self._source, Iterable):
            msg = (
                f"{type(self._source).__name__} is an async source: iterate this stream "
                f"with 'async for', not 'for'"
            )
            raise TypeError(msg)
        return iter(self._source)

    def _async_items(self) -> AsyncIterator[Any]:
        if isinstance(self._source, AsyncIterable):
            return aiter(self._source)
        return _as_async(self._sync_items())

    @property
    def is_async(self) -> bool:
        """Whether the source can be iterated with ``async for``."""
        return isinstance(self._source, AsyncIterable)

    def __iter__(self) -> Iterator[T]:
        raise NotImplementedError

    def __aiter__(self) -> AsyncIterator[T]:
        raise NotImplementedError


class EventStream(Stream[Event]):
    """Normalized events of one raw source. See :func:`normalize`.

    ``normalizer`` is the underlying :class:`Normalizer` (its ``skipped`` counts the
    malformed items that lenient mode dropped). A stream is iterated once.
    """

    def __init__(self, source: Iterable[Any] | AsyncIterable[Any], *, strict: bool = False) -> None:
        super().__init__(source)
        self.normalizer = Normalizer(strict=strict)

    def __iter__(self) -> Iterator[Event]:
        return self.filtered(None)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self.afiltered(None)

    def filtered(self, accepts: Callable[[Event], bool] | None) -> Iterator[Event]:
        """Iterate only the events ``accepts`` passes (one loop: no nested generators)."""
        items = self._sync_items()
        normalizer = self.normalizer
        feed = normalizer.feed
        try:
            while True:
                try:
                    item = next(items)
                except StopIteration:
                    break
                except Exception as exc:
                    yield from _passing(normalizer.fail(exc), accepts)
                    raise
                if accepts is None:
                    yield from feed(item)
                else:
                    for event in feed(item):
                        if accepts(event):
                            yield event
            yield from _passing(normalizer.close(), accepts)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    async def afiltered(self, accepts: Callable[[Event], bool] | None) -> AsyncIterator[Event]:
        """The async twin of :meth:`filtered`."""
        items = self._async_items()
        normalizer = self.normalizer
        feed = normalizer.feed
        try:
            while True:
                try:
                    item = await anext(items)
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    for event in _passing(normalizer.fail(exc), accepts):
                        yield event
                    raise
                for event in feed(item):
                    if accepts is None or accepts(event):
                        yield event
            for event in _passing(normalizer.close(), accepts):
                yield event
        finally:
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                result = aclose()
                if inspect.isawaitable(result):
                    await result


def _passing(events: list[Event], accepts: Callable[[Event], bool] | None) -> list[Event]:
    return events if accepts is None else [e for e in events if accepts(e)]


async def _as_async(items: Iterator[Any]) -> AsyncIterator[Any]:
    try:
        for item in items:
            yield item
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def normalize(source: Iterable[Any] | AsyncIterable[Any], *, strict: bool = False) -> EventStream:
    """Normalize a raw LangChain stream into typed events.

    ``source`` yields ``astream_events`` dicts (v1 or v2), or ``astream_log`` patches
    (``RunLogPatch``, ``RunLog``, or their JSON forms), live or recorded. Iterate
    the result with ``for`` or ``async for``, as the source iterates. With
    ``strict=True`` a malformed item raises an :class:`~eventstream.EventStreamError`
    naming its position; by default it is skipped and counted in
    ``stream.normalizer.skipped``.
    """
    return EventStream(source, strict=strict)
