"""The run registry's policies, on real agent runs (scripted models, or ChatOpenAI over HTTP).

Each policy of ``eventstream.adapters._runs`` has a test: every subscriber at its own
pace gets the whole run; resuming gives no duplicate and no gap; falling behind gives a
``Gap`` (never silent loss); a finished run is dropped after its TTL; the last
subscriber leaving cancels the run (closing the model's HTTP request) or lets it finish;
a failure reaches subscribers as a safe message; no task is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from eventstream.adapters import (
    Done,
    Failure,
    Gap,
    Item,
    RunFailedError,
    RunRegistry,
    Subscription,
    UnknownRunError,
    as_subscription,
)

from eventstream import End, Event, Selector, Start, Token, normalize, select
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

from .conftest import CAT_INPUT


def cat_agent(delay: float = 0.0) -> Any:
    return build_cat_agent(lambda role: ScriptedChatModel(turns=CAT_SCRIPTS[role], delay=delay))


async def read(subscription: Subscription) -> list[Item]:
    return [item async for item in subscription]


def events_of(items: list[Item]) -> list[Event]:
    return [item for item in items if not isinstance(item, (Gap, Done, Failure))]


def answer(items: list[Item]) -> str:
    return "".join(
        e.text for e in events_of(items) if isinstance(e, Token) and "agent_llm" in e.tags
    )


async def no_tasks_left() -> set[asyncio.Task[Any]]:
    """The tasks other than the current one, once they had a chance to finish."""
    current = asyncio.current_task()
    for _ in range(200):
        others = {t for t in asyncio.all_tasks() if t is not current}
        if not others:
            return others
        await asyncio.sleep(0.01)
    return others


@contextlib.asynccontextmanager
async def registry(**options: Any) -> AsyncIterator[RunRegistry]:
    runs = RunRegistry(**options)
    try:
        yield runs
    finally:
        await runs.aclose()


# -- every subscriber, at its own pace ---------------------------------------------------


async def test_every_subscriber_gets_the_whole_run_in_order_at_its_own_pace() -> None:
    async with registry() as runs:
        run = runs.start(cat_agent(), CAT_INPUT)

        async def slow(subscription: Subscription) -> list[Item]:
            items = []
            async for item in subscription:
                items.append(item)
                await asyncio.sleep(0.001)
            return items

        fast, slowly = await asyncio.gather(read(run.subscribe()), slow(run.subscribe()))
        late = await read(runs.subscribe(run.id))  # after the run finished: from the buffer

        for items in (fast, slowly, late):
            seqs = [e.seq for e in events_of(items)]
            assert seqs == list(range(run.total))
            assert items[-1] == Done(last_seq=run.total - 1)
            assert answer(items) == ANSWER_TEXT
        assert run.status == "completed"
        assert await no_tasks_left() == set()


async def test_each_subscriber_gets_exactly_its_selection() -> None:
    async with registry() as runs:
        run = runs.start(cat_agent(), CAT_INPUT)
        full, answer_only, inside_items = await asyncio.gather(
            read(run.subscribe()),
            read(run.subscribe(selector=Selector(types="token", tags="agent_llm"))),
            read(run.subscribe(selector=Selector(types="token", inside="get_items"))),
        )
    everything = events_of(full)
    assert events_of(answer_only) == list(select(everything, types="token", tags="agent_llm"))
    assert answer(answer_only) == ANSWER_TEXT
    assert "".join(e.text for e in events_of(inside_items) if isinstance(e, Token)) == ITEMS_TEXT
    assert answer_only[-1] == inside_items[-1] == Done(last_seq=everything[-1].seq)


# -- resuming ---------------------------------------------------------------------------------


async def test_resuming_after_a_seq_gives_the_rest_without_duplicate_or_gap() -> None:
    async with registry() as runs:
        run = runs.start(cat_agent(), CAT_INPUT)
        full = events_of(await read(run.subscribe()))
        for after in (-1, 0, 17, len(full) // 2, len(full) - 2, len(full) - 1):
            rest = await read(run.subscribe(after=after))
            assert [e.seq for e in events_of(rest)] == list(range(after + 1, len(full)))
            assert rest[-1] == Done(last_seq=len(full) - 1)
            assert not any(isinstance(item, Gap) for item in rest)


async def test_resuming_an_inside_selection_still_knows_the_subtrees_started_before() -> None:
    async with registry() as runs:
        run = runs.start(cat_agent(), CAT_INPUT)
        full = events_of(await read(run.subscribe()))
        tool_start = next(
            e
            for e in full
            if isinstance(e, Start) and e.name == "get_items" and e.run_type == "tool"
        )
        rest = await read(
            run.subscribe(
                selector=Selector(types="token", inside="get_items"), after=tool_start.seq
            )
        )
    # The tool's Start is before the resume point; its LLM's tokens are still "inside".
    assert "".join(e.text for e in events_of(rest) if isinstance(e, Token)) == ITEMS_TEXT


async def test_resuming_while_the_run_is_live_continues_with_the_live_stream() -> None:
    async with registry() as runs:
        run = runs.start(cat_agent(delay=0.005), CAT_INPUT)
        first: list[Item] = []
        async with contextlib.aclosing(run.subscribe().stream()) as items:
            async for item in items:
                assert item is not None
                first.append(item)
                if len(first) == 20:
                    break
        assert not run.finished
        rest = await read(run.subscribe(after=first[-1].seq))  # type: ignore[union-attr]
        seqs = [e.seq for e in events_of(first) + events_of(rest)]
        assert seqs == list(range(run.total))
        assert answer(first + rest) == ANSWER_TEXT


# -- falling behind: a gap, never silent loss --------------------------------------------------


async def test_a_subscriber_that_falls_behind_the_buffer_gets_a_gap() -> None:
    async with registry(buffer_size=10) as runs:
        run = runs.start(cat_agent(), CAT_INPUT)
        subscription = run.subscribe()
        async with contextlib.aclosing(subscription.stream()) as items:
            first = await anext(items)
            await run.wait()  # the run goes on without waiting for this reader
            rest = [item async for item in items]
    total = run.total
    assert isinstance(first, Start) and first.seq == 0
    assert rest[0] == Gap(first=1, last=total - 11)
    assert rest[0].missed == total - 11
    assert [e.seq for e in events_of(rest)] == list(range(total - 10, total))  # type: ignore[arg-type]
    assert rest[-1] == Done(last_seq=total - 1)


async def test_resuming_from_before_the_buffer_gets_a_gap_for_what_is_gone() -> None:
    async with registry(buffer_size=10) as runs:
        run = runs.start(cat_agent(), CAT_INPUT)
        await run.wait()
        rest = await read(run.subscribe(after=5))
    total = run.total
    assert rest[0] == Gap(first=6, last=total - 11)
    assert [e.seq for e in events_of(rest)] == list(range(total - 10, total))


async def test_a_gap_for_an_inside_selection_names_only_what_it_had_not_seen() -> None:
    async with registry(buffer_size=10) as runs:
        run = runs.start(cat_agent(), CAT_INPUT)
        await run.wait()
        rest = await read(run.subscribe(selector=Selector(inside="cat_agent"), after=5))
    assert rest[0] == Gap(first=6, last=run.total - 11)


# -- dropping a finished run (TTL) --------------------------------------------------------------


async def test_a_finished_run_is_dropped_after_its_ttl() -> None:
    now = [1000.0]
    async with registry(ttl=60.0, clock=lambda: now[0]) as runs:
        run = runs.start(cat_agent(), CAT_INPUT)
        reader = run.subscribe()
        async with contextlib.aclosing(reader.stream()) as items:
            first = await anext(items)
            await run.wait()

            now[0] += 59.0
            assert runs.get(run.id) is run
            late = await read(runs.subscribe(run.id))
            assert [e.seq for e in events_of(late)] == list(range(run.total))

            now[0] += 1.0
            with pytest.raises(UnknownRunError, match=run.id) as caught:
                runs.get(run.id)
            assert isinstance(caught.value, LookupError)
            assert run.id not in runs
            # The reader still attached lost the buffer: it is told so, then the end.
            rest = [item async for item in items]
    assert isinstance(first, Start)
    assert rest == [Gap(first=1, last=run.total - 1), Done(last_seq=run.total - 1)]


async def test_the_ttl_frees_runs_nobody_asks_about() -> None:
    async with registry(ttl=0.0) as runs:
        run = runs.start(cat_agent(), CAT_INPUT)
        await run.wait()
        for _ in range(100):
            if run.id not in runs:
                break
            await asyncio.sleep(0.01)
        assert len(runs) == 0


# -- the last subscriber leaves ---------------------------------------------------------------


async def leave_after_first_token(subscription: Subscription) -> list[Item]:
    seen: list[Item] = []
    async with contextlib.aclosing(subscription.stream()) as items:
        async for item in items:
            assert item is not None
            seen.append(item)
            if isinstance(item, Token):
                break
    return seen


async def test_the_last_subscriber_leaving_cancels_the_run_and_its_http_request(
    http_cat: OpenAIServer,
) -> None:
    async with registry(when_idle="cancel", idle_grace=0) as runs:
        run = runs.start(openai_cat_agent(http_cat), CAT_INPUT)
        await leave_after_first_token(run.subscribe())
        await asyncio.wait_for(run.wait(), 10)
        assert run.status == "cancelled"
        # The model's streamed answer was cut: the server saw the client close it.
        assert await asyncio.to_thread(http_cat.wait_for_disconnect, 10)
        assert await no_tasks_left() == set()
        # Whoever comes later learns it was cancelled.
        assert (await read(run.subscribe()))[-1] == Failure(
            message="the run was cancelled", reason="cancelled"
        )


async def test_with_when_idle_finish_the_run_completes_without_subscribers(
    http_cat: OpenAIServer,
) -> None:
    async with registry(when_idle="finish") as runs:
        run = runs.start(openai_cat_agent(http_cat), CAT_INPUT)
        await leave_after_first_token(run.subscribe())
        await asyncio.wait_for(run.wait(), 30)
        assert run.status == "completed"
        assert answer(await read(run.subscribe())) == ANSWER_TEXT
    assert http_cat.disconnects == 0


async def test_a_subscriber_back_within_the_grace_keeps_the_run(http_cat: OpenAIServer) -> None:
    async with registry(when_idle="cancel", idle_grace=60) as runs:
        run = runs.start(openai_cat_agent(http_cat), CAT_INPUT)
        first = await leave_after_first_token(run.subscribe())
        assert run.subscribers == 0 and not run.finished
        rest = await read(run.subscribe(after=first[-1].seq))  # type: ignore[union-attr]
        assert run.status == "completed"
        assert [e.seq for e in events_of(first) + events_of(rest)] == list(range(run.total))
    assert http_cat.disconnects == 0


async def test_the_run_is_cancelled_when_the_grace_passes_with_nobody_back(
    http_cat: OpenAIServer,
) -> None:
    async with registry(when_idle="cancel", idle_grace=0.05) as runs:
        run = runs.start(openai_cat_agent(http_cat), CAT_INPUT)
        await leave_after_first_token(run.subscribe())
        await asyncio.wait_for(run.wait(), 10)
        assert run.status == "cancelled"
        assert await asyncio.to_thread(http_cat.wait_for_disconnect, 10)


async def test_one_subscriber_leaving_does_not_cancel_a_run_another_reads() -> None:
    async with registry(when_idle="cancel", idle_grace=0) as runs:
        run = runs.start(cat_agent(delay=0.002), CAT_INPUT)
        stays, _ = await asyncio.gather(
            read(run.subscribe()), leave_after_first_token(run.subscribe())
        )
        assert run.status == "completed"
        assert answer(stays) == ANSWER_TEXT


async def test_a_run_nobody_subscribed_to_is_not_cancelled_for_being_idle() -> None:
    async with registry(when_idle="cancel", idle_grace=0) as runs:
        run = runs.start(cat_agent(), CAT_INPUT)
        await run.wait()
        assert run.status == "completed"


# -- cancellation and failure -----------------------------------------------------------------


async def test_cancelling_a_run_ends_every_subscription_with_a_cancelled_failure() -> None:
    async with registry() as runs:
        run = runs.start(cat_agent(delay=0.01), CAT_INPUT)
        subscription = run.subscribe()
        async with contextlib.aclosing(subscription.stream()) as items:
            await anext(items)
            assert runs.cancel(run.id) is True
            rest = [item async for item in items]
        assert rest[-1] == Failure(message="the run was cancelled", reason="cancelled")
        assert run.status == "cancelled"
        assert runs.cancel(run.id) is False


async def test_a_run_cancelled_before_its_task_ever_ran_still_ends() -> None:
    async with registry() as runs:
        run = runs.start(cat_agent(), CAT_INPUT)
        run.cancel()
        items = await asyncio.wait_for(read(run.subscribe()), 10)
    assert items == [Failure(message="the run was cancelled", reason="cancelled")]


async def test_a_failing_run_reaches_subscribers_as_a_safe_message_and_the_log_gets_the_details(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The agent's own model fails mid-answer. (A tool that raises is not a failure of
    # the run: LangChain reports it as the tool's result, ``ToolResult.error``.)
    failing: list[list[Step]] = [
        *CAT_SCRIPTS["agent"][:2],
        [Text("The cat"), Fail("secret-token-7 at /srv/app.py")],
    ]
    scripts = {**CAT_SCRIPTS, "agent": failing}
    agent = build_cat_agent(lambda role: ScriptedChatModel(turns=scripts[role]))
    caplog.set_level(logging.ERROR, logger="eventstream.adapters")
    async with registry() as runs:
        run = runs.start(agent, CAT_INPUT)
        items = await read(run.subscribe())
    assert run.status == "failed"
    assert items[-1] == Failure(
        message="the run failed; the server log has the details", reason="failed"
    )
    # Nothing a client sees carries the exception's text ...
    ends = [e for e in events_of(items) if isinstance(e, End) and e.error]
    assert ends, "the runs left open end with an error"
    assert all("secret-token-7" not in (e.error or "") for e in ends)
    assert "secret-token-7" not in repr(items)
    # ... the server log has it, with the traceback.
    (record,) = [r for r in caplog.records if r.name == "eventstream.adapters"]
    assert run.id in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RunFailedError)
    assert "secret-token-7" in caplog.text and "Traceback" in caplog.text


async def test_a_source_that_is_not_a_whole_normalized_stream_fails_clearly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="eventstream.adapters")
    source = select(normalize(cat_agent().astream_events(CAT_INPUT, version="v2")), types="token")
    async with registry() as runs:
        run = runs.start_events(source)
        items = await read(run.subscribe())
    assert run.status == "failed" and isinstance(items[-1], Failure)
    assert "whole normalized stream" in caplog.text


# -- one-off streams, shutdown, bad arguments ---------------------------------------------


async def test_a_plain_stream_as_a_subscription_is_cancelled_when_its_reader_stops(
    http_cat: OpenAIServer,
) -> None:
    agent = openai_cat_agent(http_cat)
    subscription = as_subscription(normalize(agent.astream_events(CAT_INPUT, version="v2")))
    await leave_after_first_token(subscription)
    await asyncio.wait_for(subscription.run.wait(), 10)
    assert subscription.run.status == "cancelled"
    assert await asyncio.to_thread(http_cat.wait_for_disconnect, 10)
    assert await no_tasks_left() == set()


async def test_aclose_cancels_what_runs_and_leaves_no_task(http_cat: OpenAIServer) -> None:
    runs = RunRegistry()
    started = [runs.start(openai_cat_agent(http_cat), CAT_INPUT) for _ in range(3)]
    await asyncio.wait_for(asyncio.gather(*(anext(aiter(run.subscribe())) for run in started)), 10)
    await runs.aclose()
    assert [run.status for run in started] == ["cancelled"] * 3
    assert len(runs) == 0
    assert await no_tasks_left() == set()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"buffer_size": 0}, "buffer_size must be at least 1"),
        ({"when_idle": "stop"}, "when_idle must be 'cancel' or 'finish'"),
        ({"idle_grace": -1}, "idle_grace must be >= 0"),
        ({"ttl": -1}, "ttl must be >= 0"),
    ],
)
def test_bad_registry_options_are_refused_at_construction(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RunRegistry(**options)


async def test_bad_subscriptions_are_refused_clearly() -> None:
    async with registry() as runs:
        run = runs.start(cat_agent(), CAT_INPUT)
        with pytest.raises(ValueError, match="after must be a seq"):
            run.subscribe(after=-2)
        with pytest.raises(UnknownRunError, match="no run 'nope'"):
            runs.subscribe("nope")
        subscription = run.subscribe()
        await read(subscription)
        with pytest.raises(RuntimeError, match="iterated once"):
            await read(subscription)
