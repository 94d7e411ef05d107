"""One suite, both registries: the interface every registry keeps (``BaseRunRegistry``).

Each test runs against the in-process :class:`RunRegistry` and against
:class:`RedisRunRegistry` on a real ``redis-server``, so the two cannot drift. On Redis a
run is started on one registry and read on another (two processes' registries, here in
one event loop): what the suite checks for one process, it checks across processes.
The agents are real (scripted models, or ``ChatOpenAI`` over HTTP against the test kit's
server, which records when a cancelled run closes its model request).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eventstream.adapters import (
    RUN_SOURCES,
    BaseRunRegistry,
    Done,
    Failure,
    Gap,
    Item,
    RedisRunRegistry,
    RunRegistry,
    RunSource,
    Subscription,
    TooManyRunsError,
    UnknownRunError,
)
from eventstream.adapters._runs import json_size

from eventstream import Event, Selector, Start, Token, ToolCall, ToolResult, normalize, select
from eventstream.testing import (
    ANSWER_TEXT,
    CAT_SCRIPTS,
    ITEMS_TEXT,
    Fail,
    OpenAIServer,
    ScriptedChatModel,
    Step,
    Text,
    build_cat_agent,
    openai_cat_agent,
)
from tests.conftest import CAT_INPUT
from tests.redis_server import RedisServer
from tests.test_runs import answer, cat_agent, events_of, read

BACKENDS = ["memory", "redis"]


@dataclass
class Pair:
    """Where runs start (``owner``) and where they are read (``reader``)."""

    owner: BaseRunRegistry
    reader: BaseRunRegistry


Registries = Callable[..., contextlib.AbstractAsyncContextManager[Pair]]


@pytest.fixture(params=BACKENDS)
def registries(request: pytest.FixtureRequest) -> Iterator[Registries]:
    """``async with registries(**options) as pair``: the same options on both sides."""
    if request.param == "memory":

        @contextlib.asynccontextmanager
        async def memory(**options: Any) -> AsyncIterator[Pair]:
            runs = RunRegistry(**options)
            try:
                yield Pair(runs, runs)
            finally:
                await runs.aclose()

        yield memory
        return
    server: RedisServer = request.getfixturevalue("redis_server")

    @contextlib.asynccontextmanager
    async def redis(**options: Any) -> AsyncIterator[Pair]:
        owner = RedisRunRegistry(server.url, **options)
        reader = RedisRunRegistry(server.url, **options)
        await owner.open()
        await reader.open()
        try:
            yield Pair(owner, reader)
        finally:
            await reader.aclose()
            await owner.aclose()

    yield redis


async def replayed(events: list[Event]) -> AsyncIterator[Event]:
    """A run's events again, byte for byte (a live run's ids and times differ)."""
    for event in events:
        yield event


async def leave_after_first_token(subscription: Subscription) -> list[Item]:
    seen: list[Item] = []
    async with contextlib.aclosing(subscription.stream()) as items:
        async for item in items:
            assert item is not None
            seen.append(item)
            if isinstance(item, Token):
                break
    return seen


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> None:
    """Poll an async check until it is true (a functional deadline, not a timing)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


# -- every subscriber, at its own pace -----------------------------------------------------


async def test_every_subscriber_gets_the_whole_run_in_order(registries: Registries) -> None:
    async with registries() as pair:
        run_id = await pair.owner.astart(cat_agent(delay=0.001), CAT_INPUT)

        async def slow(subscription: Subscription) -> list[Item]:
            items = []
            async for item in subscription:
                items.append(item)
                await asyncio.sleep(0.001)
            return items

        fast, slowly, on_owner = await asyncio.gather(
            read(await pair.reader.asubscribe(run_id)),
            slow(await pair.reader.asubscribe(run_id)),
            read(await pair.owner.asubscribe(run_id)),
        )
        info = await pair.reader.ajoin(run_id)
        late = await read(await pair.reader.asubscribe(run_id))
    assert info.status == "completed" and info.events > 100
    for items in (fast, slowly, on_owner, late):
        assert [e.seq for e in events_of(items)] == list(range(info.events))
        assert items[-1] == Done(last_seq=info.events - 1)
        assert answer(items) == ANSWER_TEXT
    # The same events, field for field, wherever they were read.
    assert events_of(fast) == events_of(on_owner) == events_of(late)


async def test_each_subscriber_gets_exactly_its_selection(registries: Registries) -> None:
    async with registries() as pair:
        run_id = await pair.owner.astart(cat_agent(), CAT_INPUT)
        full, answer_only, inside_items = await asyncio.gather(
            read(await pair.reader.asubscribe(run_id)),
            read(
                await pair.reader.asubscribe(
                    run_id, selector=Selector(types="token", tags="agent_llm")
                )
            ),
            read(
                await pair.reader.asubscribe(
                    run_id, selector=Selector(types="token", inside="get_items")
                )
            ),
        )
    everything = events_of(full)
    assert events_of(answer_only) == list(select(everything, types="token", tags="agent_llm"))
    assert answer(answer_only) == ANSWER_TEXT
    assert "".join(e.text for e in events_of(inside_items) if isinstance(e, Token)) == ITEMS_TEXT
    assert answer_only[-1] == inside_items[-1] == Done(last_seq=everything[-1].seq)


# -- resuming ---------------------------------------------------------------------------------


async def test_resuming_after_a_seq_gives_the_rest_without_duplicate_or_gap(
    registries: Registries,
) -> None:
    async with registries() as pair:
        run_id = await pair.owner.astart(cat_agent(), CAT_INPUT)
        full = events_of(await read(await pair.reader.asubscribe(run_id)))
        for after in (-1, 0, 17, len(full) // 2, len(full) - 2, len(full) - 1):
            rest = await read(await pair.reader.asubscribe(run_id, after=after))
            assert [e.seq for e in events_of(rest)] == list(range(after + 1, len(full)))
            assert rest[-1] == Done(last_seq=len(full) - 1)
            assert not any(isinstance(item, Gap) for item in rest)


async def test_resuming_an_inside_selection_knows_the_subtrees_started_before(
    registries: Registries,
) -> None:
    async with registries() as pair:
        run_id = await pair.owner.astart(cat_agent(), CAT_INPUT)
        full = events_of(await read(await pair.reader.asubscribe(run_id)))
        tool_start = next(
            e
            for e in full
            if isinstance(e, Start) and e.name == "get_items" and e.run_type == "tool"
        )
        selector = Selector(types="token", inside="get_items")
        rest = await read(
            await pair.reader.asubscribe(run_id, selector=selector, after=tool_start.seq)
        )
    assert "".join(e.text for e in events_of(rest) if isinstance(e, Token)) == ITEMS_TEXT


async def test_resuming_mid_run_on_another_reader_continues_with_the_live_stream(
    registries: Registries,
) -> None:
    async with registries(idle_grace=60) as pair:
        run_id = await pair.owner.astart(cat_agent(delay=0.005), CAT_INPUT)
        first: list[Item] = []
        async with contextlib.aclosing((await pair.owner.asubscribe(run_id)).stream()) as items:
            async for item in items:
                assert item is not None
                first.append(item)
                if len(first) == 20:
                    break
        assert not (await pair.reader.ainfo(run_id)).finished
        last = events_of(first)[-1].seq
        rest = await read(await pair.reader.asubscribe(run_id, after=last))
        info = await pair.reader.ajoin(run_id)
    assert [e.seq for e in events_of(first) + events_of(rest)] == list(range(info.events))
    assert answer(first + rest) == ANSWER_TEXT


# -- the bounds: a gap, never silent loss ----------------------------------------------------


async def test_a_subscriber_that_falls_behind_the_buffer_gets_a_gap(
    registries: Registries,
) -> None:
    async with registries(buffer_size=10) as pair:
        run_id = await pair.owner.astart(cat_agent(delay=0.001), CAT_INPUT)
        subscription = await pair.reader.asubscribe(run_id)
        async with contextlib.aclosing(subscription.stream()) as items:
            first = await anext(items)
            total = (await pair.reader.ajoin(run_id)).events
            await asyncio.sleep(0.2)  # a mirror reads what is left on Redis
            rest = [item async for item in items]
    assert first is not None
    # Every seq is either delivered or named by a gap, in order, once: no silent loss.
    covered: list[int] = []
    for item in [first, *rest[:-1]]:
        if isinstance(item, Gap):
            covered.extend(range(item.first, item.last + 1))
        else:
            assert not isinstance(item, (Done, Failure))
            covered.append(item.seq)
    assert covered == list(range(total))
    gap = [item for item in rest if isinstance(item, Gap)][-1]
    kept = rest[rest.index(gap) + 1 : -1]
    assert [e.seq for e in kept] == list(range(gap.last + 1, total))  # type: ignore[union-attr]
    assert len(kept) <= 10
    assert rest[-1] == Done(last_seq=total - 1)


async def test_resuming_from_before_the_buffer_gets_a_gap_for_what_is_gone(
    registries: Registries,
) -> None:
    async with registries(buffer_size=10) as pair:
        run_id = await pair.owner.astart(cat_agent(), CAT_INPUT)
        total = (await pair.owner.ajoin(run_id)).events
        rest = await read(await pair.reader.asubscribe(run_id, after=5))
        # At the bound: exactly buffer_size events are kept.
        assert rest[0] == Gap(first=6, last=total - 11)
        assert [e.seq for e in events_of(rest)] == list(range(total - 10, total))


async def test_buffer_bytes_keeps_what_fits_at_the_bound(registries: Registries) -> None:
    events = [e async for e in normalize(cat_agent().astream_events(CAT_INPUT, version="v2"))]
    total = len(events)
    last_ten = sum(json_size(e) for e in events[-10:])
    for bound, kept in ((last_ten, 10), (last_ten - 1, 9)):
        async with registries(buffer_bytes=bound) as pair:
            run_id = await pair.owner.astart_events(replayed(events))
            assert (await pair.owner.ajoin(run_id)).events == total
            rest = await read(await pair.reader.asubscribe(run_id, after=-1))
        assert rest[0] == Gap(first=0, last=total - kept - 1), bound
        assert [e.seq for e in events_of(rest)] == list(range(total - kept, total))
        assert rest[-1] == Done(last_seq=total - 1)


async def test_an_event_larger_than_buffer_bytes_is_still_delivered_live(
    registries: Registries,
) -> None:
    async with registries(buffer_bytes=1) as pair:
        run_id = await pair.owner.astart(cat_agent(delay=0.002), CAT_INPUT)
        live = await read(await pair.reader.asubscribe(run_id))
        late = await read(await pair.reader.asubscribe(run_id))
    total = late[-1].last_seq + 1  # type: ignore[union-attr]
    # A reader keeping up may still fall behind by an event; nothing is lost silently.
    seen = {e.seq for e in events_of(live)} | {
        seq for g in live if isinstance(g, Gap) for seq in range(g.first, g.last + 1)
    }
    assert seen == set(range(total))
    assert late == [Gap(first=0, last=total - 2), *events_of(late), Done(last_seq=total - 1)]
    assert [e.seq for e in events_of(late)] == [total - 1]


async def test_max_runs_refuses_one_more_and_frees_a_place_when_one_ends(
    registries: Registries,
) -> None:
    async with registries(max_runs=2) as pair:
        slow = [await pair.owner.astart(cat_agent(delay=0.01), CAT_INPUT) for _ in range(2)]
        with pytest.raises(TooManyRunsError, match="2 are running") as refused:
            await pair.owner.astart(cat_agent(), CAT_INPUT)
        assert refused.value.retry_after >= 1
        assert await pair.owner.acancel(slow[0]) is True
        await pair.owner.ajoin(slow[0])
        third = await pair.owner.astart(cat_agent(), CAT_INPUT)
        assert (await pair.owner.ajoin(third)).status == "completed"


async def test_max_finished_drops_the_oldest_finished_run_first(registries: Registries) -> None:
    async with registries(max_finished=2) as pair:
        ids = []
        for _ in range(3):
            ids.append(await pair.owner.astart(cat_agent(), CAT_INPUT))
            await pair.owner.ajoin(ids[-1])

        async def dropped() -> bool:
            try:
                await pair.reader.ainfo(ids[0])
            except UnknownRunError:
                return True
            return False

        await eventually(dropped)
        for run_id in ids[1:]:
            assert answer(await read(await pair.reader.asubscribe(run_id))) == ANSWER_TEXT


async def test_a_finished_run_is_dropped_after_its_ttl(registries: Registries) -> None:
    async with registries(ttl=0.5) as pair:
        run_id = await pair.owner.astart(cat_agent(), CAT_INPUT)
        assert (await pair.reader.ajoin(run_id)).status == "completed"

        async def gone() -> bool:
            try:
                await pair.reader.asubscribe(run_id)
            except UnknownRunError:
                return True
            return False

        await eventually(gone)
        with pytest.raises(UnknownRunError, match=run_id):
            await pair.reader.ainfo(run_id)


# -- how runs are streamed ---------------------------------------------------------------------


async def test_a_run_on_stream_modes_gives_the_same_run_as_on_astream_events(
    registries: Registries,
) -> None:
    def picture(items: list[Item]) -> list[tuple[Any, ...]]:
        """What a client shows: tool calls, their results, each model's text by its tags
        (runs have other ids on each execution; tools may run in either order)."""
        shown: list[tuple[Any, ...]] = []
        text: dict[str, tuple[tuple[str, ...], str]] = {}
        for event in events_of(items):
            if isinstance(event, ToolCall):
                shown.append(("call", event.tool_call_id, event.name, dict(event.args)))
            elif isinstance(event, ToolResult):
                shown.append(("result", event.tool_call_id, repr(event.output)))
            elif isinstance(event, Token):
                tags, before = text.get(event.run_id, ((), ""))
                tags = tuple(t for t in event.tags if ":" not in t)
                text[event.run_id] = (tags, before + event.text)
        return sorted(shown + [("text", *told) for told in text.values()], key=repr)

    async with registries() as pair:
        by_source = {}
        for source in RUN_SOURCES:
            run_id = await pair.owner.astart(cat_agent(), CAT_INPUT, source=source)
            by_source[source] = await read(await pair.reader.asubscribe(run_id))
    assert answer(by_source["modes"]) == ANSWER_TEXT
    assert isinstance(by_source["modes"][-1], Done)
    assert picture(by_source["modes"]) == picture(by_source["v2"])

    def internal_tags(items: list[Item]) -> set[str]:  # only astream_events has them
        return {t for e in events_of(items) for t in e.tags if t.startswith("seq:step:")}

    assert internal_tags(by_source["v2"]) and not internal_tags(by_source["modes"])


async def test_an_unknown_source_is_refused_before_anything_starts(
    registries: Registries,
) -> None:
    async with registries(max_runs=1) as pair:
        with pytest.raises(ValueError, match="unknown source 'v3': pick one of 'v2', 'modes'"):
            await pair.owner.astart(cat_agent(), CAT_INPUT, source="v3")  # type: ignore[arg-type]
        # It took no place: the one run allowed starts.
        run_id = await pair.owner.astart(cat_agent(), CAT_INPUT)
        assert answer(await read(await pair.reader.asubscribe(run_id))) == ANSWER_TEXT


# -- the last subscriber leaves (wherever it was) ---------------------------------------------


@pytest.mark.parametrize("source", RUN_SOURCES)
async def test_the_last_subscriber_leaving_cancels_the_run_and_its_http_request(
    registries: Registries, http_cat: OpenAIServer, source: RunSource
) -> None:
    async with registries(when_idle="cancel", idle_grace=0) as pair:
        run_id = await pair.owner.astart(openai_cat_agent(http_cat), CAT_INPUT, source=source)
        await leave_after_first_token(await pair.reader.asubscribe(run_id))
        info = await asyncio.wait_for(pair.owner.ajoin(run_id), 15)
        assert info.status == "cancelled"
        # The model's streamed answer was cut: the server saw the client close it.
        assert await asyncio.to_thread(http_cat.wait_for_disconnect, 10)
        late = await read(await pair.reader.asubscribe(run_id))
        assert late[-1] == Failure(message="the run was cancelled", reason="cancelled")


async def test_with_when_idle_finish_the_run_completes_without_subscribers(
    registries: Registries, http_cat: OpenAIServer
) -> None:
    async with registries(when_idle="finish", idle_grace=0) as pair:
        run_id = await pair.owner.astart(openai_cat_agent(http_cat), CAT_INPUT)
        await leave_after_first_token(await pair.reader.asubscribe(run_id))
        assert (await asyncio.wait_for(pair.owner.ajoin(run_id), 30)).status == "completed"
        assert answer(await read(await pair.reader.asubscribe(run_id))) == ANSWER_TEXT
    assert http_cat.disconnects == 0


async def test_a_subscriber_back_within_the_grace_keeps_the_run(
    registries: Registries, http_cat: OpenAIServer
) -> None:
    async with registries(when_idle="cancel", idle_grace=60) as pair:
        run_id = await pair.owner.astart(openai_cat_agent(http_cat), CAT_INPUT)
        first = await leave_after_first_token(await pair.reader.asubscribe(run_id))
        last = events_of(first)[-1].seq
        rest = await read(await pair.owner.asubscribe(run_id, after=last))
        info = await pair.reader.ajoin(run_id)
    assert info.status == "completed"
    assert [e.seq for e in events_of(first) + events_of(rest)] == list(range(info.events))
    assert http_cat.disconnects == 0


async def test_one_subscriber_leaving_does_not_cancel_a_run_another_reads(
    registries: Registries,
) -> None:
    async with registries(when_idle="cancel", idle_grace=0) as pair:
        run_id = await pair.owner.astart(cat_agent(delay=0.005), CAT_INPUT)
        # One reader on each side: the one leaving is on the owner's side.
        stays, _ = await asyncio.gather(
            read(await pair.reader.asubscribe(run_id)),
            leave_after_first_token(await pair.owner.asubscribe(run_id)),
        )
        assert (await pair.owner.ajoin(run_id)).status == "completed"
        assert answer(stays) == ANSWER_TEXT


async def test_a_run_nobody_subscribed_to_is_not_cancelled_for_being_idle(
    registries: Registries,
) -> None:
    async with registries(when_idle="cancel", idle_grace=0) as pair:
        run_id = await pair.owner.astart(cat_agent(delay=0.002), CAT_INPUT)
        assert (await pair.reader.ajoin(run_id)).status == "completed"


# -- cancellation and failure ------------------------------------------------------------------


async def test_cancelling_from_the_reader_ends_every_subscription_and_the_model_request(
    registries: Registries, http_cat: OpenAIServer
) -> None:
    async with registries() as pair:
        run_id = await pair.owner.astart(openai_cat_agent(http_cat), CAT_INPUT)
        subscription = await pair.reader.asubscribe(run_id)
        async with contextlib.aclosing(subscription.stream()) as items:
            first = [await anext(items)]
            while not isinstance(first[-1], Token):  # the model's request is open
                first.append(await anext(items))
            assert await pair.reader.acancel(run_id) is True
            rest = [item async for item in items]
        assert rest[-1] == Failure(message="the run was cancelled", reason="cancelled")
        assert (await pair.owner.ajoin(run_id)).status == "cancelled"
        assert await asyncio.to_thread(http_cat.wait_for_disconnect, 10)
        assert await pair.reader.acancel(run_id) is False
        seqs = [e.seq for e in events_of(first + rest)]  # type: ignore[operator]
        assert seqs == list(range(len(seqs)))


async def test_a_failing_run_reaches_subscribers_as_a_safe_message(
    registries: Registries, caplog: pytest.LogCaptureFixture
) -> None:
    failing: list[list[Step]] = [
        *CAT_SCRIPTS["agent"][:2],
        [Text("The cat"), Fail("secret-token-7 at /srv/app.py")],
    ]
    scripts = {**CAT_SCRIPTS, "agent": failing}
    agent = build_cat_agent(lambda role: ScriptedChatModel(turns=scripts[role]))
    caplog.set_level(logging.ERROR, logger="eventstream.adapters")
    async with registries() as pair:
        run_id = await pair.owner.astart(agent, CAT_INPUT)
        items = await read(await pair.reader.asubscribe(run_id))
        info = await pair.reader.ajoin(run_id)
    assert info.status == "failed"
    assert items[-1] == Failure(
        message="the run failed; the server log has the details", reason="failed"
    )
    assert "secret-token-7" not in repr(items)
    assert "secret-token-7" in caplog.text and "Traceback" in caplog.text


async def test_a_source_that_is_not_a_whole_normalized_stream_fails_clearly(
    registries: Registries, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="eventstream.adapters")
    source = select(normalize(cat_agent().astream_events(CAT_INPUT, version="v2")), types="token")
    async with registries() as pair:
        run_id = await pair.owner.astart_events(source)
        items = await read(await pair.reader.asubscribe(run_id))
    assert isinstance(items[-1], Failure) and items[-1].reason == "failed"
    assert "whole normalized stream" in caplog.text


async def test_unknown_runs_are_refused_clearly(registries: Registries) -> None:
    async with registries() as pair:
        for call in (
            pair.reader.asubscribe("nope"),
            pair.reader.acancel("nope"),
            pair.reader.ainfo("nope"),
        ):
            with pytest.raises(UnknownRunError, match="no run 'nope'"):
                await call
        run_id = await pair.owner.astart(cat_agent(), CAT_INPUT)
        with pytest.raises(ValueError, match="after must be a seq"):
            await pair.reader.asubscribe(run_id, after=-2)
        await pair.owner.ajoin(run_id)


async def test_aclose_cancels_what_runs(registries: Registries, http_cat: OpenAIServer) -> None:
    async with registries() as pair:
        ids = [await pair.owner.astart(openai_cat_agent(http_cat), CAT_INPUT) for _ in range(3)]
        subscriptions = [await pair.reader.asubscribe(run_id) for run_id in ids]
        streams = [s.stream() for s in subscriptions]

        async def first_token(items: AsyncIterator[Item | None]) -> None:
            while not isinstance(await anext(items), Token):  # the model's request is open
                pass

        await asyncio.wait_for(asyncio.gather(*(first_token(items) for items in streams)), 10)
        await pair.owner.aclose()
        assert await asyncio.to_thread(http_cat.wait_for_disconnect, 10, 3)
        if pair.reader is not pair.owner:
            for run_id in ids:
                assert (await pair.reader.ajoin(run_id)).status == "cancelled"
        for items in streams:
            await items.aclose()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"buffer_size": 0}, "buffer_size must be at least 1"),
        ({"buffer_bytes": 0}, "buffer_bytes must be at least 1"),
        ({"when_idle": "stop"}, "when_idle must be 'cancel' or 'finish'"),
        ({"idle_grace": -1}, "idle_grace must be >= 0"),
        ({"ttl": -1}, "ttl must be >= 0"),
        ({"max_runs": 0}, "max_runs must be at least 1"),
        ({"max_finished": -1}, "max_finished must be >= 0"),
    ],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_options_are_refused_at_construction(
    backend: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        if backend == "memory":
            RunRegistry(**options)
        else:
            RedisRunRegistry("redis://127.0.0.1:1/0", **options)
