"""``CallbackSource``: a LangChain callback handler that is also the stream of its run.

    source = CallbackSource()
    task = source.follow(asyncio.create_task(agent.ainvoke(inputs, config={"callbacks": [source]})))
    async for ev in normalize(source):
        ...

Contract. The handler only queues: each callback becomes one
:class:`~eventstream._readers.callbacks.Callback` record holding the callback's own
arguments, and the reading side turns records into events
(:class:`~eventstream._readers.callbacks.CallbackReader`, chosen by ``normalize`` like
every reader). Nothing here parses, filters or does I/O.

It is a streaming handler (it inherits LangChain's ``_StreamingCallbackHandler``), so a
chat model streams under ``ainvoke`` / ``invoke`` when it is attached: without a
streaming handler a model run gives no tokens at all.

The stream ends when the root run ends: the first run the source sees, and any other
run whose parent it has not seen, started while one is open (a ``batch``'s inputs).
When the root run raises an ``Exception``, the stream raises that same exception after
the events before it (``normalize`` ends the runs still open with it first, as for
every source); a run that is cancelled ends its runs with ``CancelledError`` and the
stream ends. Callbacks after the end are dropped (counted in :attr:`dropped`).
``follow(task)`` ends the stream when the task ends without the root ever reporting its
end (it failed before its first callback; the source was not passed in ``config``).

Memory: at most ``maxsize`` records wait (default :data:`CALLBACK_BUFFER`). When the
buffer is full, a callback that starts a run, streams a token or dispatches a custom
event waits for the reader (backpressure: the run pauses, nothing is lost); the end
or error of a run never waits (one per run), so a run that fails or is cancelled
always finishes. Start the run in a task (or thread) and read: awaiting the run before
reading blocks it at the bound. When the reader stops early, the buffer is freed and
later callbacks are dropped, so the run never waits again.

Threads: callbacks come from the run's event loop (or, for sync code, a loop LangChain
makes per callback); the reader is ``async for`` on any loop, or ``for`` in another
thread. Every hand-over goes through one lock; a waiting side is woken through its
own loop (``call_soon_threadsafe``) or a thread event: no polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.tracers._streaming import _StreamingCallbackHandler

from eventstream._errors import CallbackSourceError
from eventstream._readers.callbacks import STARTS, Callback

__all__ = ["CALLBACK_BUFFER", "CallbackSource"]

CALLBACK_BUFFER = 1_000
"""How many callbacks a :class:`CallbackSource` keeps for its reader before the run waits."""

T = TypeVar("T")


class _Followed(Protocol):
    """An asyncio task or future, or a ``concurrent.futures`` future."""

    def add_done_callback(self, fn: Callable[[Any], object], /) -> None: ...


F = TypeVar("F", bound=_Followed)

_OPEN, _DONE, _GONE = "open", "done", "gone"  # the channel's states
_END = object()
_ENDS = frozenset(
    {"chain_end", "llm_end", "tool_end", "retriever_end"}
    | {"chain_error", "llm_error", "tool_error", "retriever_error"}
)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _wake(waiter: asyncio.Future[None] | threading.Event) -> None:
    """Wake a waiting side: a thread's event, or a future on its own loop."""
    if isinstance(waiter, threading.Event):
        waiter.set()
        return
    loop = waiter.get_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        _resolve(waiter)
        return
    with contextlib.suppress(RuntimeError):  # its loop has closed: nobody waits there
        loop.call_soon_threadsafe(_resolve, waiter)


def _future() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


class _Channel:
    """The bounded hand-over between the callbacks and the one reader."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.lock = threading.Lock()
        self.items: deque[Callback] = deque()
        self.state = _OPEN
        self.failure: BaseException | None = None
        self.reader: asyncio.Future[None] | threading.Event | None = None
        self.writers: list[asyncio.Future[None]] = []
        self.dropped = 0

    async def put(self, item: Callback, *, wait: bool) -> None:
        while True:
            with self.lock:
                if self.state != _OPEN:
                    self.dropped += 1
                    return
                if not wait or len(self.items) < self.maxsize:
                    self.items.append(item)
                    reader, self.reader = self.reader, None
                    break
                room = _future()
                self.writers.append(room)
            await room
        if reader is not None:
            _wake(reader)

    def take(self, waiter: type[threading.Event] | None) -> Any:
        """All waiting records; or ``_END``; or a waiter to wait on before asking again
        (a future of the running loop, or a new ``waiter`` for a thread)."""
        with self.lock:
            if not self.items:
                if self.state != _OPEN:
                    return _END
                self.reader = _future() if waiter is None else waiter()
                return self.reader
            batch = list(self.items)
            self.items.clear()
            writers, self.writers = self.writers, []
        for room in writers:
            _wake(room)
        return batch

    def finish(self, failure: BaseException | None = None) -> None:
        """The run is over: the reader gets what is queued, then the end (or ``failure``)."""
        with self.lock:
            if self.state != _OPEN:
                return
            self.state = _DONE
            self.failure = failure
            reader, self.reader = self.reader, None
        if reader is not None:
            _wake(reader)

    def leave(self) -> None:
        """The reader stopped: free the buffer; later callbacks are dropped, never wait."""
        with self.lock:
            if self.state == _OPEN:
                self.state = _GONE
            self.dropped += len(self.items)
            self.items.clear()
            writers, self.writers = self.writers, []
        for room in writers:
            _wake(room)


class _AsyncReading:
    """``async for`` over the records, on any loop."""

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel
        self._batch: list[Callback] = []
        self._next = 0

    def __aiter__(self) -> _AsyncReading:
        return self

    async def __anext__(self) -> Callback:
        position = self._next
        if position < len(self._batch):
            self._next = position + 1
            return self._batch[position]
        channel = self._channel
        while True:
            got = channel.take(None)
            if type(got) is list:
                self._batch, self._next = got, 1
                return got[0]  # type: ignore[no-any-return]
            if got is _END:
                self._batch = []
                failure, channel.failure = channel.failure, None
                if failure is not None:
                    raise failure
                raise StopAsyncIteration
            await got

    async def aclose(self) -> None:
        self._channel.leave()


class _SyncReading:
    """``for`` over the records, in a thread that runs no event loop."""

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel
        self._batch: list[Callback] = []
        self._next = 0

    def __iter__(self) -> _SyncReading:
        return self

    def __next__(self) -> Callback:
        position = self._next
        if position < len(self._batch):
            self._next = position + 1
            return self._batch[position]
        channel = self._channel
        while True:
            got = channel.take(threading.Event)
            if type(got) is list:
                self._batch, self._next = got, 1
                return got[0]  # type: ignore[no-any-return]
            if got is _END:
                self._batch = []
                failure, channel.failure = channel.failure, None
                if failure is not None:
                    raise failure
                raise StopIteration
            got.wait()

    def close(self) -> None:
        self._channel.leave()


class CallbackSource(AsyncCallbackHandler, _StreamingCallbackHandler[Any]):
    """A LangChain callback handler whose run is read as a stream: pass it in
    ``config={"callbacks": [source]}``, run the runnable in a task (or thread), and read
    ``normalize(source)``.

    >>> source = CallbackSource()
    >>> task = source.follow(asyncio.create_task(chain.ainvoke(x, config={"callbacks": [source]})))
    >>> async for ev in normalize(source): ...

    One source serves one run and is read once. ``maxsize`` bounds the callbacks waiting
    for the reader; past it the run waits (see the module doc for the whole policy).
    Iterate it with ``async for`` on any loop, or with ``for`` in a thread that runs no
    event loop (the run then runs in another thread).
    """

    def __init__(self, *, maxsize: int = CALLBACK_BUFFER) -> None:
        super().__init__()
        if not isinstance(maxsize, int) or isinstance(maxsize, bool) or maxsize < 1:
            msg = f"maxsize must be a positive integer, got {maxsize!r}"
            raise ValueError(msg)
        self.maxsize = maxsize
        self._channel = _Channel(maxsize)
        self._lock = threading.Lock()
        self._open: dict[UUID, bool] = {}  # open run → whether it is a root of this source
        self._roots = 0
        self._seen = False
        self._read = False

    # -- what a reader and a test may ask ----------------------------------------------

    @property
    def buffered(self) -> int:
        """How many callbacks wait for the reader now (at most ``maxsize``, plus ends)."""
        return len(self._channel.items)

    @property
    def dropped(self) -> int:
        """Callbacks not kept: they came after the stream ended or its reader stopped."""
        return self._channel.dropped

    @property
    def ended(self) -> bool:
        """Whether the stream has ended (its root run ended, or ``follow``'s task did)."""
        return self._channel.state != _OPEN

    def follow(self, task: F) -> F:
        """End the stream when ``task`` (an ``asyncio`` task or a
        ``concurrent.futures`` future running the run) ends, if the run has not ended
        it: with the task's exception, or with :class:`~eventstream.CallbackSourceError`
        when the run never called this source. Returns ``task``."""
        task.add_done_callback(self._task_done)
        return task

    def __aiter__(self) -> AsyncIterator[Callback]:
        self._claim()
        return _AsyncReading(self._channel)

    def __iter__(self) -> Iterator[Callback]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            msg = (
                "a CallbackSource read with 'for' inside a running event loop would block "
                "the loop: use 'async for', or read it from another thread"
            )
            raise CallbackSourceError(msg)
        self._claim()
        return _SyncReading(self._channel)

    def __copy__(self) -> CallbackSource:
        return self  # LangChain may copy handlers; the stream must stay one

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> CallbackSource:
        return self

    # -- LangChain's streaming-handler protocol: outputs pass through untouched --------

    def tap_output_aiter(self, run_id: UUID, output: AsyncIterator[T]) -> AsyncIterator[T]:
        """Pass-through: the runs' own callbacks carry everything read here."""
        return output

    def tap_output_iter(self, run_id: UUID, output: Iterator[T]) -> Iterator[T]:
        """Pass-through: the runs' own callbacks carry everything read here."""
        return output

    # -- the callbacks -------------------------------------------------------------------

    async def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A chain (or prompt, parser, graph node …) started."""
        kwargs.update(tags=tags, metadata=metadata)
        await self._start("chain_start", run_id, parent_run_id, (serialized, inputs), kwargs)

    async def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A chat model run started."""
        kwargs.update(tags=tags, metadata=metadata)
        data = (serialized, messages)
        await self._start("chat_model_start", run_id, parent_run_id, data, kwargs)

    async def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A (text completion) LLM run started."""
        kwargs.update(tags=tags, metadata=metadata)
        await self._start("llm_start", run_id, parent_run_id, (serialized, prompts), kwargs)

    async def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A tool run started (``tool_call_id`` names the call it answers)."""
        kwargs.update(tags=tags, metadata=metadata, inputs=inputs)
        await self._start("tool_start", run_id, parent_run_id, (serialized, input_str), kwargs)

    async def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A retriever run started."""
        kwargs.update(tags=tags, metadata=metadata)
        await self._start("retriever_start", run_id, parent_run_id, (serialized, query), kwargs)

    async def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: Any = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """A model streamed a chunk."""
        item = Callback("llm_new_token", run_id, parent_run_id, (token,), {"chunk": chunk})
        await self._channel.put(item, wait=True)

    async def on_custom_event(
        self,
        name: str,
        data: Any,
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A custom event was dispatched."""
        kwargs.update(tags=tags, metadata=metadata)
        parent = kwargs.pop("parent_run_id", None)
        item = Callback("custom_event", run_id, parent, (name, data), kwargs)
        await self._channel.put(item, wait=True)

    async def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """A chain ended."""
        await self._end("chain_end", run_id, outputs, kwargs)

    async def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """A model run ended."""
        await self._end("llm_end", run_id, response, kwargs)

    async def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """A tool run ended."""
        await self._end("tool_end", run_id, output, kwargs)

    async def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """A retriever run ended."""
        await self._end("retriever_end", run_id, documents, kwargs)

    async def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A chain raised."""
        await self._end("chain_error", run_id, error, kwargs)

    async def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A model run raised."""
        await self._end("llm_error", run_id, error, kwargs)

    async def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A tool run raised."""
        await self._end("tool_error", run_id, error, kwargs)

    async def on_retriever_error(
        self, error: BaseException, *, run_id: UUID, **kwargs: Any
    ) -> None:
        """A retriever run raised."""
        await self._end("retriever_error", run_id, error, kwargs)

    # -- inside -------------------------------------------------------------------------

    def _claim(self) -> None:
        with self._lock:
            if self._read:
                msg = "a CallbackSource is read once: make one CallbackSource per run"
                raise CallbackSourceError(msg)
            self._read = True

    async def _start(
        self,
        event: str,
        run_id: UUID,
        parent_run_id: UUID | None,
        data: Sequence[Any],
        kwargs: dict[str, Any],
    ) -> None:
        assert event in STARTS
        with self._lock:
            self._seen = True
            root = parent_run_id is None or parent_run_id not in self._open
            self._open[run_id] = root
            if root:
                self._roots += 1
        item = Callback(event, run_id, parent_run_id, tuple(data), kwargs)
        await self._channel.put(item, wait=True)

    async def _end(self, event: str, run_id: UUID, payload: Any, kwargs: dict[str, Any]) -> None:
        assert event in _ENDS
        parent = kwargs.pop("parent_run_id", None)
        await self._channel.put(Callback(event, run_id, parent, (payload,), kwargs), wait=False)
        with self._lock:
            root = self._open.pop(run_id, False)
            if root:
                self._roots -= 1
            last = root and self._roots == 0
        if last:
            failed = event.endswith("_error") and isinstance(payload, Exception)
            self._channel.finish(payload if failed else None)

    def _task_done(self, task: Any) -> None:
        if task.cancelled():
            self._channel.finish()
            return
        failure = task.exception()
        if isinstance(failure, Exception):
            self._channel.finish(failure)
        elif not self._seen and failure is None:
            msg = (
                "the run ended without calling this CallbackSource: pass it to the run "
                "as config={'callbacks': [source]}"
            )
            self._channel.finish(CallbackSourceError(msg))
        else:
            self._channel.finish()
