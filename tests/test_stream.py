"""normalize(): iterated as the source is; each event handed over before the next
item is pulled; an early stop closes the source; a source's exception re-raised as is."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from eventstream import End, Start, Token, normalize, select

from .conftest import collect
from .readers.test_events import GOOD

# -- iteration ------------------------------------------------------------------------


async def test_async_only_source_refuses_plain_for() -> None:
    async def source() -> AsyncIterator[dict[str, Any]]:
        for item in GOOD:
            yield item

    with pytest.raises(TypeError, match="async for"):
        list(normalize(source()))
    assert len(await collect(normalize(source()))) == 4
    assert len(await collect(select(normalize(source()), types="token"))) == 2


async def test_sync_source_also_iterates_with_async_for() -> None:
    assert [e.type for e in await collect(normalize(GOOD))] == ["start", "token", "token", "end"]


def test_each_event_is_handed_over_before_the_next_item_is_pulled() -> None:
    pulled: list[int] = []

    def source() -> Iterator[dict[str, Any]]:
        for position, item in enumerate(GOOD):
            pulled.append(position)
            yield item

    for event in normalize(source()):
        if isinstance(event, Token) and event.text == "Hel":
            assert pulled == [0, 1]


def test_stopping_early_closes_the_source() -> None:
    closed: list[bool] = []

    def source() -> Iterator[dict[str, Any]]:
        try:
            yield from GOOD
        finally:
            closed.append(True)

    for event in normalize(source()):
        if isinstance(event, Start):
            break
    assert closed == [True]


async def test_source_raising_reraises_the_same_exception_after_ending_runs() -> None:
    failure = ConnectionError("socket closed")

    async def source() -> AsyncIterator[dict[str, Any]]:
        yield GOOD[0]
        yield GOOD[1]
        raise failure

    events: list[Any] = []
    with pytest.raises(ConnectionError) as raised:
        async for event in normalize(source()):
            events.append(event)
    assert raised.value is failure
    assert isinstance(events[-1], End) and events[-1].error == "ConnectionError: socket closed"


async def test_a_source_error_whose_str_raises_still_ends_the_runs_and_reaches_us() -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text for you")

    failure = Broken()

    async def source() -> AsyncIterator[dict[str, Any]]:
        yield GOOD[0]
        raise failure

    events: list[Any] = []
    with pytest.raises(Broken) as raised:
        async for event in normalize(source()):
            events.append(event)
    assert raised.value is failure
    assert isinstance(events[-1], End) and "Broken" in (events[-1].error or "")


async def test_a_source_whose_close_raises_does_not_replace_its_own_exception() -> None:
    failure = ConnectionError("socket closed")

    class Source:
        def __init__(self) -> None:
            self.items = iter(GOOD[:2])

        def __aiter__(self) -> Source:
            return self

        async def __anext__(self) -> Any:
            try:
                return next(self.items)
            except StopIteration:
                raise failure from None

        async def aclose(self) -> None:
            raise RuntimeError("closing failed too")

    with pytest.raises(ConnectionError) as raised:
        async for _ in normalize(Source()):
            pass
    assert raised.value is failure


def test_a_sync_source_whose_close_raises_does_not_replace_its_own_exception() -> None:
    failure = ConnectionError("socket closed")

    class Source:
        def __iter__(self) -> Source:
            return self

        def __next__(self) -> Any:
            raise failure

        def close(self) -> None:
            raise RuntimeError("closing failed too")

    with pytest.raises(ConnectionError) as raised:
        list(normalize(Source()))
    assert raised.value is failure
