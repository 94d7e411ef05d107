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

from eventstream._events import Event
from eventstream._normalizer import Normalizer

__all__ = ["EventStream", "apump", "normalize", "pump"]

T = TypeVar("T")
U = TypeVar("U")


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
        normalizer = self.normalizer
        return pump(
            self._sync_items(),
            normalizer.feed,
            on_raise=normalizer.fail,
            at_end=lambda _: normalizer.close(),
            accepts=accepts,
        )

    def afiltered(self, accepts: Callable[[Event], bool] | None) -> AsyncIterator[Event]:
        """The async twin of :meth:`filtered`."""
        normalizer = self.normalizer
        return apump(
            self._async_items(),
            normalizer.feed,
            on_raise=normalizer.fail,
            at_end=lambda _: normalizer.close(),
            accepts=accepts,
        )


def pump(
    items: Iterator[Any],
    step: Callable[[Any], Iterable[U]],
    *,
    on_raise: Callable[[Exception], Iterable[U]],
    at_end: Callable[[None], Iterable[U]] | None = None,
    cleanup: Callable[[], None] | None = None,
    accepts: Callable[[U], bool] | None = None,
) -> Iterator[U]:
    """Drive a source: yield ``step(item)`` for each item before pulling the next.

    When the source raises, yield ``on_raise(exc)`` and re-raise the same exception
    (errors thrown in by the consumer are not the source's: they pass through). When
    it ends, yield ``at_end(None)``. Only what ``accepts`` passes is yielded (all,
    without it). Always run ``cleanup`` and close the source, so an early stop cancels
    a LangChain run; a close that fails while an exception is on its way out does not
    replace it. ``normalize`` and ``record`` both run on this.
    """
    failing = False
    try:
        while True:
            try:
                item = next(items)
            except StopIteration:
                break
            except Exception as exc:
                yield from _passing(on_raise(exc), accepts)
                raise
            if accepts is None:
                yield from step(item)
            else:
                for value in step(item):
                    if accepts(value):
                        yield value
        if at_end is not None:
            yield from _passing(at_end(None), accepts)
    except BaseException:
        failing = True
        raise
    finally:
        _settle(cleanup, getattr(items, "close", None), failing)


async def apump(
    items: AsyncIterator[Any],
    step: Callable[[Any], Iterable[U]],
    *,
    on_raise: Callable[[Exception], Iterable[U]],
    at_end: Callable[[None], Iterable[U]] | None = None,
    cleanup: Callable[[], None] | None = None,
    accepts: Callable[[U], bool] | None = None,
) -> AsyncIterator[U]:
    """The async twin of :func:`pump`."""
    failing = False
    try:
        while True:
            try:
                item = await anext(items)
            except StopAsyncIteration:
                break
            except Exception as exc:
                for value in _passing(on_raise(exc), accepts):
                    yield value
                raise
            if accepts is None:
                for value in step(item):
                    yield value
            else:
                for value in step(item):
                    if accepts(value):
                        yield value
        if at_end is not None:
            for value in _passing(at_end(None), accepts):
                yield value
    except BaseException:
        failing = True
        raise
    finally:
        aclose = getattr(items, "aclose", None)
        try:
            if cleanup is not None:
                cleanup()
            if aclose is not None:
                result = aclose()
                if inspect.isawaitable(result):
                    await result
        except Exception:
            if not failing:
                raise
            # The exception on its way out is the one the caller must see.


def _passing(values: Iterable[U], accepts: Callable[[U], bool] | None) -> Iterable[U]:
    return values if accepts is None else [v for v in values if accepts(v)]


def _settle(
    cleanup: Callable[[], None] | None, close: Callable[[], Any] | None, failing: bool
) -> None:
    """Run ``cleanup``, then close the source; while an exception is on its way out,
    a failure here is dropped so that exception reaches the caller unchanged."""
    try:
        if cleanup is not None:
            cleanup()
        if close is not None:
            close()
    except Exception:
        if not failing:
            raise


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
