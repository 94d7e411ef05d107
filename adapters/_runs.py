"""The in-process run registry: one background task per run, any number of subscribers.

A :class:`Run` pumps a normalized event stream (``seq`` 0, 1, 2 …) into a bounded
buffer from its own asyncio task. It never waits for a subscriber: each
:class:`Subscription` reads the buffer at its own pace from its own cursor, applies its
own :class:`~eventstream.Selector`, and sleeps on a future until the run appends more.

The policies, all explicit:

- **Falling behind.** The buffer keeps the last ``buffer_size`` events, and no more
  than ``buffer_bytes`` bytes of their JSON (the newest event is always kept, whatever
  its size). A subscriber whose cursor points before the oldest one gets a :class:`Gap`
  naming the seqs it lost, then continues with the oldest event still there. Nothing is
  lost silently.
- **Resuming.** ``after=<seq>`` (SSE's ``Last-Event-ID``) starts after that event: no
  duplicate; what the buffer no longer holds is a :class:`Gap`. A selection with
  ``inside`` is first shown the buffered events up to ``after`` (without yielding them),
  so it knows which runs are inside its subtrees.
- **The end.** Every subscription ends with one terminal item: :class:`Done`, or
  :class:`Failure` with a safe message (the exception goes to the ``eventstream.adapters``
  log once, with its traceback, never to the client).
- **The last subscriber leaves** (``when_idle``): ``"cancel"`` cancels the run
  ``idle_grace`` seconds later unless a subscriber came back meanwhile (a reconnecting
  ``EventSource``); ``"finish"`` lets it run to its end. A run nobody has subscribed to
  yet is never cancelled for that.
- **Dropping a finished run.** :class:`RunRegistry` forgets a run ``ttl`` seconds after
  it finished and frees its buffer, sooner when more than ``max_finished`` finished runs
  are held (the oldest first); a subscriber still reading gets a :class:`Gap` for what
  it had not read, then the terminal item. Later lookups raise :class:`UnknownRunError`.
- **Too many runs.** A start while ``max_runs`` runs are running raises
  :class:`~eventstream.adapters.TooManyRunsError` (a service answers ``429``).
- **Cancellation is real**: the run's task is cancelled, which closes
  ``astream_events`` and with it the model's HTTP request; :meth:`RunRegistry.aclose`
  cancels what still runs and awaits every task.

Subscriptions attach when their iteration starts and detach when it ends (also when
the iterating task is cancelled), so a response that is never sent counts for nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Any, Literal, cast

from eventstream.adapters._registry import (
    DEFAULT_BUFFER_BYTES,
    DEFAULT_BUFFER_SIZE,
    DEFAULT_MAX_FINISHED,
    DEFAULT_MAX_RUNS,
    RUN_SOURCES,
    BaseRunRegistry,
    RunInfo,
    RunSource,
    RunStatus,
    TooManyRunsError,
)
from eventstream.adapters._signals import (
    CANCELLED_MESSAGE,
    FAILED_MESSAGE,
    Done,
    Failure,
    Gap,
    Item,
)

from eventstream import EVENT_ADAPTER, Event, EventStreamError, Selector, event_to_json, normalize

__all__ = [
    "IdlePolicy",
    "Run",
    "RunFailedError",
    "RunRegistry",
    "RunStatus",
    "Subscription",
    "UnknownRunError",
    "as_subscription",
]

logger = logging.getLogger("eventstream.adapters")

IdlePolicy = Literal["cancel", "finish"]


class UnknownRunError(EventStreamError, LookupError):
    """No run with this id: it never existed, or it finished and was dropped (TTL)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"no run {run_id!r}: it does not exist, or it finished and its events were "
            f"dropped after the registry's ttl"
        )
        self.run_id = run_id


class RunFailedError(EventStreamError):
    """The source of a run raised. The original exception is the ``__cause__``.

    It stands in for the original inside the event stream, so the ``End`` events of
    the runs left open carry this safe text and not the original exception's message.
    """


def json_size(event: Event) -> int:
    """The size of the event's JSON in UTF-8 bytes (what ``buffer_bytes`` counts)."""
    try:
        return len(EVENT_ADAPTER.dump_json(event, fallback=str))
    except Exception:  # a value pydantic cannot write: event_to_json's stand-ins
        return len(event_to_json(event).encode("utf-8", "replace"))


def _check_options(
    buffer_size: int, when_idle: str, idle_grace: float, buffer_bytes: int = 1
) -> None:
    if buffer_size < 1:
        msg = f"buffer_size must be at least 1, got {buffer_size}"
        raise ValueError(msg)
    if buffer_bytes < 1:
        msg = f"buffer_bytes must be at least 1, got {buffer_bytes}"
        raise ValueError(msg)
    if when_idle not in ("cancel", "finish"):
        msg = f"when_idle must be 'cancel' or 'finish', got {when_idle!r}"
        raise ValueError(msg)
    if idle_grace < 0:
        msg = f"idle_grace must be >= 0 seconds, got {idle_grace}"
        raise ValueError(msg)


class Run:
    """One run: a task pumping normalized events into a bounded buffer.

    Build runs with :meth:`RunRegistry.start` (or :func:`as_subscription` for a
    one-off stream); attach readers with :meth:`subscribe`.
    """

    def __init__(
        self,
        events: AsyncIterable[Event],
        *,
        run_id: str | None = None,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        when_idle: IdlePolicy = "cancel",
        idle_grace: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        on_finish: Callable[[Run], None] | None = None,
    ) -> None:
        _check_options(buffer_size, when_idle, idle_grace, buffer_bytes)
        self.id = run_id or uuid.uuid4().hex
        self.buffer_size = buffer_size
        self.buffer_bytes = buffer_bytes
        self.when_idle: IdlePolicy = when_idle
        self.idle_grace = idle_grace
        self.status: RunStatus = "pending"
        self.error: str | None = None
        """The safe message of a failed or cancelled run."""
        self.exception: BaseException | None = None
        """What the source raised (server side only; never sent to clients)."""
        self.finished_at: float | None = None
        """``clock()`` when the run finished."""
        self.subscribers = 0
        """How many subscriptions are attached now."""
        self._source = events
        self._buffer: deque[Event] = deque()
        self._sizes: deque[int] = deque()
        self._bytes = 0
        self._total = 0
        self._waiters: set[asyncio.Future[bool]] = set()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle_handle: asyncio.TimerHandle | None = None
        self._clock = clock
        self._on_finish = on_finish

    # -- state ------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Whether the run completed, failed or was cancelled."""
        return self.status in ("completed", "failed", "cancelled")

    @property
    def total(self) -> int:
        """How many events the run has produced; the next event's seq."""
        return self._total

    @property
    def first_buffered(self) -> int:
        """The seq of the oldest event still buffered (``total`` when none is)."""
        return self._total - len(self._buffer)

    @property
    def buffered_bytes(self) -> int:
        """The size of the buffered events' JSON, in bytes."""
        return self._bytes

    def info(self) -> RunInfo:
        """The run's status now, as every registry reports it."""
        return RunInfo(
            id=self.id,
            status=self.status,
            events=self._total,
            error=self.error,
            subscribers=self.subscribers,
        )

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The task pumping the run (``None`` until it starts)."""
        return self._task

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.status} events={self._total} subscribers={self.subscribers}>"

    # -- subscribers ---------------------------------------------------------------

    def subscribe(
        self, *, selector: Selector | None = None, after: int | None = None
    ) -> Subscription:
        """A reader of this run's events from the start, or after seq ``after``."""
        return Subscription(self, selector=selector, after=after)

    def _attach(self) -> None:
        if self._task is None and not self.finished:
            self.start()
        self.subscribers += 1
        if self._idle_handle is not None:
            self._idle_handle.cancel()
            self._idle_handle = None

    def _detach(self) -> None:
        self.subscribers -= 1
        if self.subscribers or self.finished or self.when_idle != "cancel":
            return
        if self.idle_grace == 0 or self._loop is None:
            self.cancel()
        else:
            self._idle_handle = self._loop.call_later(self.idle_grace, self._cancel_if_idle)

    def _cancel_if_idle(self) -> None:
        self._idle_handle = None
        if self.subscribers == 0:
            self.cancel()

    # -- the task ------------------------------------------------------------------

    def start(self) -> None:
        """Start pumping in a task of the running loop (once; later calls do nothing)."""
        if self._task is not None or self.finished:
            return
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            msg = "a run is a task of the running event loop: start it from async code"
            raise RuntimeError(msg) from None
        self._task = self._loop.create_task(self._pump(), name=f"eventstream-run:{self.id}")
        self._task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        # A task cancelled before its first step never enters ``_pump``.
        if not self.finished:
            self._finish("cancelled", CANCELLED_MESSAGE)

    def cancel(self) -> bool:
        """Cancel the run; ``False`` when it already finished."""
        if self.finished:
            return False
        if self._task is None:
            self._finish("cancelled", CANCELLED_MESSAGE)
            return True
        return self._task.cancel()

    async def wait(self) -> None:
        """Return once the run has finished (it does not raise for a failed run)."""
        while not self.finished:
            await self._changed(None)

    async def _pump(self) -> None:
        self.status = "running"
        events = aiter(self._source)
        try:
            try:
                async for event in events:
                    if event.seq != self._total:
                        raise RunFailedError(not_whole_message(self._total, event.seq))
                    self._append(event, json_size(event))
            finally:
                # Leaving the loop early does not close an async generator; closing it
                # now ends LangChain's run at once (a no-op when it already ended).
                aclose = getattr(events, "aclose", None)
                if aclose is not None:
                    await aclose()
        except asyncio.CancelledError:
            self._finish("cancelled", CANCELLED_MESSAGE)
            raise
        except Exception as exc:
            logger.error("run %s failed", self.id, exc_info=exc)
            self.exception = exc
            self._finish("failed", FAILED_MESSAGE)
        else:
            self._finish("completed", None)

    def _append(self, event: Event, size: int) -> None:
        """Buffer the next event (``size``: its JSON's bytes), trim to the bounds, wake."""
        buffer = self._buffer
        sizes = self._sizes
        buffer.append(event)
        sizes.append(size)
        self._bytes += size
        self._total += 1
        while len(buffer) > self.buffer_size or (
            self._bytes > self.buffer_bytes and len(buffer) > 1
        ):
            buffer.popleft()
            self._bytes -= sizes.popleft()
        if self._waiters:
            self._wake()

    def _finish(self, status: RunStatus, error: str | None) -> None:
        self.status = status
        self.error = error
        self.finished_at = self._clock()
        if self._idle_handle is not None:
            self._idle_handle.cancel()
            self._idle_handle = None
        self._wake()
        if self._on_finish is not None:
            self._on_finish(self)

    def _drop(self) -> None:
        """Free the buffer: readers still behind get a gap, then the terminal item."""
        self._clear()
        self._wake()

    def _clear(self) -> None:
        self._buffer.clear()
        self._sizes.clear()
        self._bytes = 0

    # -- waking readers ------------------------------------------------------------

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(True)

    async def _changed(self, timeout: float | None) -> bool:
        """Wait until the run appends or finishes: ``True``; ``False`` after ``timeout``."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.add(waiter)
        handle = None if timeout is None else loop.call_later(timeout, _settle, waiter)
        try:
            return await waiter
        finally:
            if handle is not None:
                handle.cancel()
            self._waiters.discard(waiter)


def not_whole_message(expected: int, seq: int) -> str:
    return (
        f"a run's source must be a whole normalized stream (seq 0, 1, 2 …): event "
        f"{expected} has seq {seq}; select per subscriber instead"
    )


def _settle(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class Subscription:
    """One reader of a run: ``async for item in subscription`` (once).

    Yields the events its ``selector`` accepts (all, without one), :class:`Gap` items,
    and one terminal :class:`Done` or :class:`Failure`. :meth:`stream` with
    ``idle=<seconds>`` also yields ``None`` after that long without an item (a
    transport's cue for a heartbeat).
    """

    def __init__(
        self, run: Run, *, selector: Selector | None = None, after: int | None = None
    ) -> None:
        if after is not None and after < -1:
            msg = f"after must be a seq (>= 0) or -1 for 'from the start', got {after}"
            raise ValueError(msg)
        self.run = run
        self.selector = selector
        self.after = after
        start = 0 if after is None else after + 1
        self._resume = start
        # A selection with ``inside`` tracks subtrees from their Start events, so it
        # reads the skipped part of the buffer too (without yielding it).
        primes = selector is not None and selector.inside is not None
        self._next = 0 if primes else start
        self._accepts = None if selector is None else selector.matcher()
        self._iterated = False
        self._ended = False

    def __aiter__(self) -> AsyncIterator[Item]:
        return cast(AsyncIterator[Item], self.stream(idle=None))

    async def stream(self, idle: float | None = None) -> AsyncGenerator[Item | None, None]:
        """The items; with ``idle``, also ``None`` after ``idle`` seconds without one."""
        if self._iterated:
            msg = "a Subscription is iterated once: subscribe again to read again"
            raise RuntimeError(msg)
        self._iterated = True
        run = self.run
        run._attach()
        clock = asyncio.get_running_loop().time
        # Silence is counted from the last item yielded, not from the last wake-up:
        # a narrow selection on a busy run wakes often and yields nothing.
        quiet_until = clock() + (idle or 0.0)
        try:
            while True:
                item = self._take()
                if item is not None:
                    yield item
                    if self._ended:
                        return
                    if idle is not None:
                        quiet_until = clock() + idle
                elif idle is None:
                    await run._changed(None)
                elif not await run._changed(max(0.0, quiet_until - clock())):
                    yield None
                    quiet_until = clock() + idle
        finally:
            run._detach()

    def _take(self) -> Item | None:
        """The next item the buffer holds for this reader, or ``None`` for 'wait'."""
        run = self.run
        buffer = run._buffer
        accepts = self._accepts
        while True:
            first = run._total - len(buffer)
            cursor = self._next
            if cursor < first:
                self._next = first
                if first > self._resume:
                    return Gap(first=max(cursor, self._resume), last=first - 1)
                continue
            if cursor < run._total:
                event = buffer[cursor - first]
                self._next = cursor + 1
                if cursor < self._resume:
                    if accepts is not None:
                        accepts(event)
                    continue
                if accepts is None or accepts(event):
                    return event
                continue
            if not run.finished:
                return None
            self._ended = True
            if run.status == "completed":
                return Done(last_seq=run._total - 1 if run._total else None)
            reason: Literal["failed", "cancelled"] = (
                "cancelled" if run.status == "cancelled" else "failed"
            )
            return Failure(message=run.error or FAILED_MESSAGE, reason=reason)


def as_subscription(source: Subscription | AsyncIterable[Event]) -> Subscription:
    """A subscription as is; any other event stream as the one reader of its own run.

    That run starts when the reading starts and is cancelled when the reader stops
    early (a client that went away), so a plain ``normalize(...)`` stream gets the
    same framing, heartbeats and cancellation as a registry run.
    """
    if isinstance(source, Subscription):
        return source
    return Run(source, when_idle="cancel", idle_grace=0).subscribe()


def run_events(runnable: Any, input: Any, config: Any, source: RunSource) -> AsyncIterable[Event]:  # noqa: A002
    """The normalized events of one run of ``runnable``, streamed as ``source`` says."""
    if source == "v2":
        raw = runnable.astream_events(input, config=config, version="v2")
    elif source == "modes":
        from eventstream import STREAM_MODES

        raw = runnable.astream(
            input, config=config, stream_mode=list(STREAM_MODES), subgraphs=True, version="v2"
        )
    else:
        msg = f"unknown source {source!r}: pick one of {', '.join(map(repr, RUN_SOURCES))}"
        raise ValueError(msg)
    return normalize(_guarded(raw))


async def _guarded(source: AsyncIterable[Any]) -> AsyncIterator[Any]:
    """The raw items; an exception of the source becomes a :class:`RunFailedError`."""
    iterator = aiter(source)
    try:
        while True:
            try:
                item = await anext(iterator)
            except StopAsyncIteration:
                return
            except Exception as exc:
                raise RunFailedError(FAILED_MESSAGE) from exc
            yield item
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


class RunRegistry(BaseRunRegistry):
    """Runs by id in this process, each a background task with a bounded buffer.

    ``buffer_size`` events and ``buffer_bytes`` bytes of JSON per run; a finished run
    is dropped ``ttl`` seconds after it finished, or sooner when more than
    ``max_finished`` finished runs are held (the oldest first); at most ``max_runs``
    run at once (:class:`~eventstream.adapters.TooManyRunsError` beyond);
    ``when_idle`` / ``idle_grace`` say what happens when the last subscriber leaves.
    ``clock`` (monotonic seconds) decides the TTL; tests may pass their own. See the
    module doc for the policies; the ``a…`` methods are the interface it shares with
    :class:`~eventstream.adapters.RedisRunRegistry` (:class:`BaseRunRegistry`).
    """

    def __init__(
        self,
        *,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        ttl: float = 600.0,
        when_idle: IdlePolicy = "cancel",
        idle_grace: float = 5.0,
        max_runs: int = DEFAULT_MAX_RUNS,
        max_finished: int = DEFAULT_MAX_FINISHED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_registry_options(ttl=ttl, max_runs=max_runs, max_finished=max_finished)
        # Checked here so a bad option fails at construction, not at the first run.
        _check_options(buffer_size, when_idle, idle_grace, buffer_bytes)
        self.buffer_size = buffer_size
        self.buffer_bytes = buffer_bytes
        self.ttl = ttl
        self.when_idle: IdlePolicy = when_idle
        self.idle_grace = idle_grace
        self.max_runs = max_runs
        self.max_finished = max_finished
        self._clock = clock
        self._runs: dict[str, Run] = {}
        self._live: set[str] = set()
        self._finished_ids: dict[str, None] = {}
        """The finished runs held, oldest first (a dict as an ordered set)."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        return len(self._runs)

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._runs

    @property
    def runs(self) -> Mapping[str, Run]:
        """The runs held now, by id (read-only view)."""
        return self._runs

    @property
    def live(self) -> int:
        """How many runs are running (or about to)."""
        return len(self._live)

    def start(
        self,
        runnable: Any,
        input: Any,  # noqa: A002
        *,
        config: Any = None,
        source: RunSource = "v2",
    ) -> Run:
        """Start ``runnable`` on ``input`` as a run, streamed as ``source`` says
        (``astream_events`` v2 by default, or LangGraph's stream modes: :data:`RunSource`)."""
        self._check_room()
        return self.start_events(run_events(runnable, input, config, source))

    def start_events(self, events: AsyncIterable[Event]) -> Run:
        """Start a run over any whole normalized stream (a live or recorded one)."""
        self._check_room()
        run = Run(
            events,
            buffer_size=self.buffer_size,
            buffer_bytes=self.buffer_bytes,
            when_idle=self.when_idle,
            idle_grace=self.idle_grace,
            clock=self._clock,
            on_finish=self._finished,
        )
        self._runs[run.id] = run
        self._live.add(run.id)
        run.start()
        assert run.task is not None
        self._tasks.add(run.task)
        run.task.add_done_callback(self._tasks.discard)
        return run

    def _check_room(self) -> None:
        self.sweep()
        if len(self._live) >= self.max_runs:
            raise TooManyRunsError(self.max_runs)

    def get(self, run_id: str) -> Run:
        """The run with this id; :class:`UnknownRunError` when there is none (any more)."""
        self.sweep()
        try:
            return self._runs[run_id]
        except KeyError:
            raise UnknownRunError(run_id) from None

    def subscribe(
        self, run_id: str, *, selector: Selector | None = None, after: int | None = None
    ) -> Subscription:
        """A subscription to a run (see :meth:`Run.subscribe`)."""
        return self.get(run_id).subscribe(selector=selector, after=after)

    def cancel(self, run_id: str) -> bool:
        """Cancel a run; ``False`` when it already finished."""
        return self.get(run_id).cancel()

    def drop(self, run_id: str) -> None:
        """Forget a run now and free its buffer; a running one is cancelled first."""
        run = self._runs.get(run_id)
        if run is None:
            raise UnknownRunError(run_id)
        run.cancel()
        self._forget(run_id)

    def sweep(self) -> list[str]:
        """Drop the finished runs whose ``ttl`` has passed; their ids."""
        now = self._clock()
        expired = []
        # Oldest finished first: the first one still within its ttl ends the sweep.
        for run_id in self._finished_ids:
            finished_at = self._runs[run_id].finished_at
            if finished_at is None or now - finished_at < self.ttl:
                break
            expired.append(run_id)
        for run_id in expired:
            self._forget(run_id)
        return expired

    def _forget(self, run_id: str) -> Run | None:
        timer = self._timers.pop(run_id, None)
        if timer is not None:
            timer.cancel()
        self._finished_ids.pop(run_id, None)
        self._live.discard(run_id)
        run = self._runs.pop(run_id, None)
        if run is not None:
            run._drop()
        return run

    def _finished(self, run: Run) -> None:
        if run.id not in self._runs:  # dropped while running
            return
        self._live.discard(run.id)
        self._finished_ids[run.id] = None
        while len(self._finished_ids) > self.max_finished:
            self._forget(next(iter(self._finished_ids)))
        if run.id not in self._runs:  # max_finished 0
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        # Lookups sweep too; the timer frees the memory of runs nobody asks about.
        self._timers[run.id] = loop.call_later(self.ttl, self._expire, run.id)

    def _expire(self, run_id: str) -> None:
        self._timers.pop(run_id, None)
        self.sweep()

    async def aclose(self) -> None:
        """Cancel the runs still running, await every task, drop every run."""
        for run in list(self._runs.values()):
            run.cancel()
        tasks = list(self._tasks)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for run_id in list(self._runs):
            self._forget(run_id)

    # -- the interface every registry keeps (BaseRunRegistry) ---------------------------

    async def astart(
        self,
        runnable: Any,
        input: Any,  # noqa: A002
        *,
        config: Any = None,
        source: RunSource = "v2",
    ) -> str:
        return self.start(runnable, input, config=config, source=source).id

    async def astart_events(self, events: AsyncIterable[Event]) -> str:
        return self.start_events(events).id

    async def asubscribe(
        self, run_id: str, *, selector: Selector | None = None, after: int | None = None
    ) -> Subscription:
        return self.subscribe(run_id, selector=selector, after=after)

    async def acancel(self, run_id: str) -> bool:
        return self.cancel(run_id)

    async def ainfo(self, run_id: str) -> RunInfo:
        return self.get(run_id).info()

    async def ajoin(self, run_id: str) -> RunInfo:
        run = self.get(run_id)
        await run.wait()
        return run.info()


def check_registry_options(*, ttl: float, max_runs: int, max_finished: int) -> None:
    """The options every registry shares, refused clearly when out of range."""
    if ttl < 0:
        msg = f"ttl must be >= 0 seconds, got {ttl}"
        raise ValueError(msg)
    if max_runs < 1:
        msg = f"max_runs must be at least 1, got {max_runs}"
        raise ValueError(msg)
    if max_finished < 0:
        msg = f"max_finished must be >= 0, got {max_finished}"
        raise ValueError(msg)
