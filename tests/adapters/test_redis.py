"""What only the Redis registry has: a store to reach, owners that die, Redis that goes away.

Real ``redis-server`` processes (``tests/redis_server.py``); two registries in one loop
stand for two processes (the suite with real processes is ``tests/test_scale_out.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from eventstream.adapters import (
    Done,
    Failure,
    Gap,
    Item,
    RedisRunRegistry,
    RegistryUnavailableError,
    Subscription,
)
from eventstream.adapters._redis import CLOSED_MESSAGE, LOST_MESSAGE, ORPHAN_MESSAGE

from eventstream import Token
from eventstream.testing import CAT_SCRIPTS, OpenAIServer, openai_cat_agent
from tests.conftest import CAT_INPUT
from tests.redis_server import RedisServer, free_port
from tests.test_runs import cat_agent, events_of


@contextlib.asynccontextmanager
async def registry(url: str, **options: Any) -> AsyncIterator[RedisRunRegistry]:
    runs = RedisRunRegistry(url, **options)
    await runs.open()
    try:
        yield runs
    finally:
        await runs.aclose()


async def collect(items: Any) -> list[Item]:
    if isinstance(items, Subscription):
        items = items.stream()
    return [item async for item in items if item is not None]


async def read_until(subscription: Subscription, count: int) -> tuple[list[Item], Any]:
    """The first ``count`` items, and the stream to read the rest from."""
    items = subscription.stream()
    first: list[Item] = []
    while len(first) < count:
        item = await anext(items)
        assert item is not None
        first.append(item)
    return first, items


async def read_until_token(subscription: Subscription) -> tuple[list[Item], Any]:
    """Items up to the answer's first token (the agent's long last answer is streaming:
    its model's HTTP request is open), and the stream to read the rest from."""
    items = subscription.stream()
    first: list[Item] = []
    while not first or not (isinstance(first[-1], Token) and "agent_llm" in first[-1].tags):
        item = await anext(items)
        assert item is not None
        first.append(item)
    return first, items


async def test_redis_unreachable_at_start_is_a_clear_error_naming_the_url() -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/3"
    runs = RedisRunRegistry(url)
    with pytest.raises(RegistryUnavailableError) as caught:
        await runs.open()
    message = str(caught.value)
    assert f"cannot reach Redis at redis://:***@127.0.0.1:{url.split(':')[3]}" in message
    assert "hunter2" not in message
    assert "redis-server" in message
    with pytest.raises(ValueError, match="not a Redis URL: 'http://x'"):
        RedisRunRegistry("http://x")
    with pytest.raises(ValueError, match=r"ttl must be >= 0\.001 seconds on Redis, got 0"):
        RedisRunRegistry(url, ttl=0)  # Redis would drop a finished run's end at once
    with pytest.raises(RuntimeError, match=r"await registry\.open"):
        await runs.astart(cat_agent(), CAT_INPUT)


async def test_a_run_is_readable_on_another_process_as_soon_as_astart_returns(
    redis_server: RedisServer,
) -> None:
    async with registry(redis_server.url) as owner, registry(redis_server.url) as reader:
        for _ in range(20):
            run_id = await owner.astart(cat_agent(delay=0.01), CAT_INPUT)
            info = await reader.ainfo(run_id)  # no window where it is unknown
            assert info.status == "running" and info.owner == owner.process_id
            await owner.acancel(run_id)


async def test_a_process_closing_ends_its_readers_and_leaves_no_key_of_its_own(
    redis_server: RedisServer,
) -> None:
    async with registry(redis_server.url) as owner:
        reader = RedisRunRegistry(redis_server.url)
        await reader.open()
        run_id = await owner.astart(cat_agent(delay=0.05), CAT_INPUT)
        _, rest = await read_until(await reader.asubscribe(run_id), 2)
        await reader.aclose()
        tail = await asyncio.wait_for(collect(rest), 10)  # before: waited for ever
        assert tail[-1] == Failure(message=CLOSED_MESSAGE, reason="failed")
        keys = redis_server.command("KEYS", f"*{reader.process_id}*")
        assert keys == b"*0\r\n"  # neither its lease nor its wake stream
        assert (await owner.ajoin(run_id)).status == "completed"  # the run went on


async def test_an_error_reply_does_not_stop_the_lease(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with registry(redis_server.url, lease=1) as owner:
        # Writes refused for a while (as a replica after a failover, or MISCONF, would):
        # each refresh of the lease gets an error reply, not a lost connection.
        redis_server.command("CONFIG", "SET", "min-replicas-to-write", "1")
        await asyncio.sleep(0.6)
        redis_server.command("CONFIG", "SET", "min-replicas-to-write", "0")
        await asyncio.sleep(1.5)  # longer than the lease: only a live loop keeps it
        lease = f"eventstream:lease:{owner.process_id}"
        assert redis_server.command("EXISTS", lease) == b":1\r\n"
        assert "Redis answered with an error" in caplog.text


async def test_the_stream_is_bounded_and_finished_runs_expire_after_the_ttl(
    redis_server: RedisServer,
) -> None:
    async with registry(redis_server.url, buffer_size=10, ttl=30) as owner:
        run_id = await owner.astart(cat_agent(), CAT_INPUT)
        await owner.ajoin(run_id)
        stream = f"eventstream:run:{run_id}:events"
        assert redis_server.command("XLEN", stream) == b":11\r\n"  # 10 events and the end
        for key in (stream, f"eventstream:run:{run_id}"):
            ttl = int(redis_server.command("PTTL", key)[1:-2])
            assert 25_000 < ttl <= 30_000


async def test_an_owner_that_stops_responding_ends_its_run_for_readers_after_its_events(
    redis_server: RedisServer,
) -> None:
    # The owner freezes (no lease refresh, no writes), as a process that died or hangs:
    # a reader elsewhere ends the run after every event written, once, for everyone.
    # When the owner thaws, its next write is refused and it stops the run for good.
    with OpenAIServer(CAT_SCRIPTS, delay=0.05) as model:
        async with (
            registry(redis_server.url, lease=1.0) as owner,
            registry(redis_server.url, lease=1.0) as reader,
        ):
            run_id = await owner.astart(openai_cat_agent(model), CAT_INPUT)
            first, items = await read_until(await reader.asubscribe(run_id), 5)
            frozen_loops = [
                t for t in owner._loops if t.get_name().rsplit(":", 1)[1] in ("writer", "lease")
            ]
            owner._stop(frozen_loops)
            await owner._stopped()
            frozen = time.monotonic()
            redis_server.command("DEL", f"eventstream:lease:{owner.process_id}")
            rest = await asyncio.wait_for(_rest(items), 30)
            took = time.monotonic() - frozen
            late = [item async for item in await reader.asubscribe(run_id)]
            assert model.disconnects == 0  # the frozen owner's run still streams
            owner._loops.append(asyncio.ensure_future(owner._write_loop()))
            owner._wake_writer.set()
            assert await asyncio.to_thread(model.wait_for_disconnect, 10)
            assert (await owner.ajoin(run_id)).error == ORPHAN_MESSAGE
    assert took < 15, f"the error came {took:.1f} s after the owner stopped"
    print(f"owner stopped → error for the reader: {took:.2f} s (lease 1 s)")
    assert rest[-1] == Failure(message=ORPHAN_MESSAGE, reason="failed")
    seqs = [e.seq for e in events_of(first + rest)]
    assert seqs == list(range(len(seqs)))
    assert late == [*events_of(first + rest), rest[-1]]


async def test_redis_lost_mid_run_ends_the_run_with_an_error_readers_see_when_it_is_back(
    redis_server: RedisServer,
) -> None:
    with OpenAIServer(CAT_SCRIPTS, delay=0.05) as model:
        async with (
            registry(redis_server.url, lease=30.0) as owner,
            registry(redis_server.url, lease=30.0) as reader,
        ):
            run_id = await owner.astart(openai_cat_agent(model), CAT_INPUT)
            first, items = await read_until_token(await reader.asubscribe(run_id))
            await asyncio.to_thread(redis_server.stop, save=True)  # the loop runs meanwhile
            # The owner's next write fails: the run stops, and its model request with it.
            assert await asyncio.to_thread(model.wait_for_disconnect, 15)
            await asyncio.to_thread(redis_server.start)
            rest = await asyncio.wait_for(_rest(items), 30)
            info = await asyncio.wait_for(reader.ajoin(run_id), 30)
    assert rest[-1] == Failure(message=LOST_MESSAGE, reason="failed")
    assert info.status == "failed" and info.error == LOST_MESSAGE
    # Nothing half-written: the events on Redis are a whole prefix, then the end.
    seqs = [e.seq for e in events_of(first + rest)]
    assert seqs == list(range(len(seqs))) and len(seqs) == info.events
    assert not any(isinstance(item, (Gap, Done)) for item in rest)


async def _rest(items: Any) -> list[Item]:
    return [item async for item in items if item is not None]


async def test_a_start_or_a_subscribe_while_redis_is_away_is_refused_clearly(
    redis_server: RedisServer,
) -> None:
    async with registry(redis_server.url) as runs:
        run_id = await runs.astart(cat_agent(), CAT_INPUT)
        await runs.ajoin(run_id)
        redis_server.stop()
        with pytest.raises(RegistryUnavailableError, match="does not answer"):
            await runs.astart(cat_agent(), CAT_INPUT)
        with pytest.raises(RegistryUnavailableError, match="does not answer"):
            await runs.asubscribe(run_id)
        redis_server.start()
