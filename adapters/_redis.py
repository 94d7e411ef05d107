"""The run registry on Redis Streams: several processes, one service.

:class:`RedisRunRegistry` keeps the contract of
:class:`~eventstream.adapters.BaseRunRegistry`, so ``eventstream serve --redis URL`` (or
any service written against it) runs as several processes behind a load balancer: a run
``POST``ed to one process is read, resumed and cancelled on any other. The key layout and
the scripts are in ``_redis_keys``. The policies, all explicit:

- **Who runs a run**: the process that started it (its *owner*). It appends each batch of
  normalized events to the run's stream (one script: whole or nothing, only while it
  still owns the run) and, at the end, one end entry. Writes are grouped: each wake-up
  of the writer sends what every run of the process produced since the last one, on the
  writer's own connection, without waiting for the replies of the batches before (read
  in order by a confirming task), so a busy process makes fewer, larger writes.
- **Readers**: each process keeps one *mirror* per run it has subscribers for: a
  :class:`~eventstream.adapters.Run` fed by ``XREAD BLOCK`` from the stream, with the same
  bounds (``buffer_size``, ``buffer_bytes``), which its subscribers read at their own
  pace with their own selection and resume point (``after`` / ``Last-Event-ID``) exactly
  as in one process: the SSE ``id`` is the event's ``seq`` on every process.
- **Readable at once**: :meth:`RedisRunRegistry.astart` returns after the run's hash is
  on Redis, so every process finds it once the ``POST`` has answered.
- **Length bound and gap**: the stream keeps the last ``buffer_size`` events and at most
  ``buffer_bytes`` bytes of their JSON (the newest event always); a reader asking for a
  trimmed position gets a ``Gap`` naming what it lost, never silent loss.
- **TTL**: a finished run's keys expire ``ttl`` seconds after its end; a running run's
  keys are kept alive by its owner (``ttl`` + 60 s, refreshed every second).
  ``max_finished`` bounds the finished runs each process keeps (the oldest deleted
  first); ``max_runs`` the runs each process runs (:class:`TooManyRunsError` beyond).
- **Owner failure**: each process refreshes a lease (a key with a ``lease``-second TTL,
  every ``lease / 5`` s). A mirror that has seen nothing for a second checks the owner's
  lease; when it is gone, it ends the run (one script, once, for everyone) with a
  ``failed`` end after every event written before the death: subscribers on every
  process get the events, then the error, never a duplicate. With the default 5 s
  lease that is about 6 s after the death.
- **Cancellation across processes**: :meth:`~RedisRunRegistry.acancel` (``DELETE
  /runs/{id}`` on any process) marks the run and publishes ``cancel`` to its owner, which
  cancels the run's task (closing ``astream_events`` and the model's HTTP request). The
  mark also reaches the owner at its next write or its next second, should the message
  be lost.
- **Subscribers anywhere count**: each process counts its subscriptions to a run on
  the run's hash (per process, so a dead process's count is ignored); when its count
  drops to none it tells the owner, which cancels the run when no live process has one
  for ``idle_grace`` seconds (``when_idle="cancel"``; a run nobody subscribed to is
  never cancelled for that).
- **Redis unreachable at start**: :meth:`~RedisRunRegistry.open` raises
  :class:`RegistryUnavailableError` naming the URL (without its password). **Redis lost
  mid-run**: a write that fails cancels the run (its task, its model request); its end,
  a ``failed`` saying Redis was lost, is written after the events that were, as soon as
  Redis is back; readers wait for Redis and then read on, so they see it then. A start
  or a subscribe while Redis is away raises :class:`RegistryUnavailableError` (``503``).

``redis`` (redis-py, ``pip install "eventstream[redis]"``) is imported when a registry
is built. Commands go through one ``redis.asyncio.Redis`` client per registry: its pool
holds one connection per mirror (each blocks in ``XREAD``) plus a few.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterable, Awaitable
from typing import Any, get_args

from eventstream.adapters._redis_keys import (
    APPEND,
    CANCEL,
    COUNT,
    FINISH,
    ORPHAN,
    Keys,
    decode_end,
    encode_end,
    entry_id,
    seq_of,
)
from eventstream.adapters._registry import (
    DEFAULT_BUFFER_BYTES,
    DEFAULT_BUFFER_SIZE,
    DEFAULT_MAX_FINISHED,
    DEFAULT_MAX_RUNS,
    BaseRunRegistry,
    RegistryUnavailableError,
    RunInfo,
    RunSource,
    RunStatus,
    TooManyRunsError,
)
from eventstream.adapters._runs import (
    IdlePolicy,
    Run,
    RunFailedError,
    Subscription,
    UnknownRunError,
    _check_options,
    check_registry_options,
    not_whole_message,
    run_events,
)
from eventstream.adapters._signals import CANCELLED_MESSAGE, FAILED_MESSAGE

from eventstream import Event, Selector, event_from_json, event_to_json

__all__ = ["RedisRunRegistry"]

logger = logging.getLogger("eventstream.adapters")

INSTALL_HINT = 'the Redis registry needs redis-py: pip install "eventstream[redis]"'

LOST_MESSAGE = "the run failed: its server lost its connection to Redis"
ORPHAN_MESSAGE = "the run failed: the server running it stopped responding"
GONE_MESSAGE = "the run is gone: it was dropped before this reader reached its end"
CLOSED_MESSAGE = "this server is shutting down; the run goes on: read it again from another"
REPLY_ERROR = "eventstream Redis registry: Redis answered with an error; retrying"

PENDING_HIGH = 512
"""Events of one run waiting for Redis before its source is made to wait."""

LIVE_GRACE = 60.0
"""Seconds a running run's keys outlive its owner's last refresh (beyond ``ttl``)."""

QUIET = 1.0
"""Seconds a mirror waits in ``XREAD`` before it checks the owner's lease."""

MIRROR_LINGER = 1.0
"""Seconds a mirror nobody reads stays, for a reader that reconnects."""


def _redis_errors() -> tuple[type[BaseException], ...]:
    import redis.exceptions

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


def safe_url(url: str) -> str:
    """The URL without its password (what error messages and logs show)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{user}:***@{host}{port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


class _Owned:
    """What the owner keeps of a run it runs: its task and what is not on Redis yet."""

    __slots__ = (
        "done",
        "drained",
        "fenced",
        "finished_status",
        "id",
        "idle_since",
        "lost",
        "pending",
        "produced",
        "recheck",
        "sent",
        "task",
        "terminal",
        "written",
    )

    def __init__(self, run_id: str) -> None:
        self.id = run_id
        self.task: asyncio.Task[None] | None = None
        self.pending: list[bytes] = []
        self.produced = 0
        self.written = 0
        self.sent = 0
        """Events sent to Redis (written, or in flight)."""
        self.terminal: tuple[RunStatus, str | None] | None = None
        self.finished_status: RunStatus | None = None
        self.lost = False
        self.fenced = False
        self.idle_since: float | None = None
        self.recheck: asyncio.TimerHandle | None = None
        self.drained = asyncio.Event()
        self.drained.set()
        self.done = asyncio.Event()


_Op = tuple["_Owned | None", str, list[bytes]]
"""A command sent: whose (``None``: no run's), which kind, the events it carried."""


class _Wire:
    """A connection of its own: commands sent without waiting, replies read in order.

    No socket timeout: a blocking ``XREAD`` and a reply in flight are not failures.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._connection: Any = None

    async def send(self, commands: list[tuple[Any, ...]]) -> None:
        connection = self._connection
        if connection is None:
            pool = self._client.connection_pool
            options = {**pool.connection_kwargs, "socket_timeout": None}
            connection = pool.connection_class(**options)
            await connection.connect()
            self._connection = connection
        await connection.send_packed_command(connection.pack_commands(commands), check_health=False)

    async def read(self) -> Any:
        """The next reply; an error reply (a script's) is returned, not raised."""
        import redis.exceptions

        if self._connection is None:
            raise redis.exceptions.ConnectionError("the connection was closed")
        try:
            return await self._connection.read_response()
        except redis.exceptions.ResponseError as exc:
            return exc

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect()


class _Mirror(Run):
    """A run owned anywhere, as this process's subscribers read it: fed from its stream.

    Its buffer, bounds, waiters and subscriptions are :class:`Run`'s; the registry's one
    tailer feeds it (:meth:`take`) while somebody here reads it, from where it was.
    """

    def __init__(self, registry: RedisRunRegistry, run_id: str) -> None:
        super().__init__(
            _nothing(),
            run_id=run_id,
            buffer_size=registry.buffer_size,
            buffer_bytes=registry.buffer_bytes,
            when_idle="finish",
        )
        self.status = "running"
        self._registry = registry
        self.position = 0
        """The last entry read (event seq + 1)."""
        self.quiet_since = 0.0
        """When the tailer last brought something, or started following."""
        self.checking = False

    def start(self) -> None:
        if not self.finished:
            self._registry._follow(self)

    def _attach(self) -> None:
        self.start()
        super()._attach()
        self._registry._count(self.id, +1)

    def _detach(self) -> None:
        super()._detach()
        self._registry._count(self.id, -1)
        if self.subscribers == 0:
            self._registry._linger(self)

    def stop(self) -> None:
        """Stop following (nobody here reads); a later subscriber follows it again."""
        self._registry._unfollow(self)

    def cancel(self) -> bool:
        """Ask the run's owner to cancel it; ``False`` when it finished (as far as seen)."""
        if self.finished:
            return False
        self._registry._spawn(self._registry.acancel(self.id))
        return True

    def take(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Entries the tailer read from the run's stream, in order."""
        for stream_id, fields in entries:
            position = seq_of(stream_id)
            if position <= self.position or self.finished:
                continue  # read for another mirror of the same run, further behind
            payload = fields.get(b"e")
            if payload is None:
                status, error = decode_end(fields[b"end"])
                self.position = position
                self._finish(_status(status), error)
                self.stop()
                return
            if position - 1 > self._total:
                self._skip_to(position - 1)
            self.position = position
            self._append(event_from_json(payload), len(payload))

    def _skip_to(self, seq: int) -> None:
        """Events before ``seq`` were trimmed before this mirror read them: a gap."""
        self._clear()
        self._total = seq


async def _nothing() -> Any:
    return
    yield


_STATUSES: dict[str, RunStatus] = {status: status for status in get_args(RunStatus)}


def _status(value: str) -> RunStatus:
    return _STATUSES.get(value, "failed")


class RedisRunRegistry(BaseRunRegistry):
    """Runs on Redis Streams, shared by every process using the same ``url``.

        runs = RedisRunRegistry("redis://127.0.0.1:6379/0")
        await runs.open()          # RegistryUnavailableError when Redis does not answer
        ...
        await runs.aclose()

    The options are :class:`~eventstream.adapters.RunRegistry`'s (``max_runs`` and
    ``max_finished`` count this process's runs), plus ``lease`` (seconds without a
    refresh after which a process is taken for dead) and ``prefix`` (of every key, to
    share one Redis database between services). See the module doc for the policies.
    """

    def __init__(
        self,
        url: str,
        *,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        ttl: float = 600.0,
        when_idle: IdlePolicy = "cancel",
        idle_grace: float = 5.0,
        max_runs: int = DEFAULT_MAX_RUNS,
        max_finished: int = DEFAULT_MAX_FINISHED,
        lease: float = 5.0,
        prefix: str = "eventstream:",
    ) -> None:
        check_registry_options(ttl=ttl, max_runs=max_runs, max_finished=max_finished)
        _check_options(buffer_size, when_idle, idle_grace, buffer_bytes)
        if ttl < 0.001:  # Redis expires keys in whole milliseconds: 0 would drop the end
            msg = f"ttl must be >= 0.001 seconds on Redis, got {ttl}"
            raise ValueError(msg)
        if lease < 0.5:
            msg = f"lease must be >= 0.5 seconds, got {lease}"
            raise ValueError(msg)
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("redis", "rediss", "unix"):
            msg = (
                f"not a Redis URL: {safe_url(url)!r} (expected redis://HOST:PORT/DB, "
                f"rediss://… or unix://…)"
            )
            raise ValueError(msg)
        self.url = safe_url(url)
        """The Redis URL, without its password."""
        self._url = url
        self.buffer_size = buffer_size
        self.buffer_bytes = buffer_bytes
        self.ttl = ttl
        self.when_idle: IdlePolicy = when_idle
        self.idle_grace = idle_grace
        self.max_runs = max_runs
        self.max_finished = max_finished
        self.lease = lease
        self.process_id = uuid.uuid4().hex
        """This registry's name on Redis (runs' ``owner``, its lease, its channel)."""
        self._keys = Keys(prefix)
        self._client: Any = None  # redis.asyncio.Redis: its stubs type commands loosely
        self._pubsub: Any = None
        self._owned: dict[str, _Owned] = {}
        self._finished: dict[str, float] = {}
        """Finished runs this process ran, oldest first, with when they finished."""
        self._mirrors: dict[str, _Mirror] = {}
        self._following: set[_Mirror] = set()
        self._follow_changed = asyncio.Event()
        self._tail_blocked = False
        self._dirty: dict[str, _Owned] = {}
        self._deletes: list[str] = []
        self._counts: list[tuple[str, int]] = []
        self._wake_writer = asyncio.Event()
        self._wake_counter = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._warned = 0.0
        self._ending: set[asyncio.Task[Any]] = set()
        self._wires: list[_Wire] = []
        self._reaper: asyncio.Task[None] | None = None
        self._opened = False
        self._closed = False

    def __repr__(self) -> str:
        return f"<RedisRunRegistry {self.url} process={self.process_id}>"

    # -- connecting -----------------------------------------------------------------------

    async def open(self) -> None:
        if self._opened:
            return
        if self._closed:
            msg = "this registry was closed: build a new one"
            raise RuntimeError(msg)
        try:
            import redis.asyncio
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(INSTALL_HINT) from exc
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff

        # A pooled connection Redis closed (a restart) is retried on a new one, twice;
        # every write is idempotent (explicit ids, scripts that check what is there).
        # A reply a busy process has not read for 5 s is no sign that Redis is away.
        client = redis.asyncio.Redis.from_url(
            self._url,
            socket_connect_timeout=5,
            socket_timeout=30,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
            retry_on_error=list(_redis_errors()[:2]),
        )
        try:
            await client.ping()
            await client.set(self._keys.lease(self.process_id), b"1", px=self._lease_ms)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(self._keys.channel(self.process_id))
        except Exception as exc:
            await client.aclose()
            msg = (
                f"cannot reach Redis at {self.url}: {exc}. Is redis-server running there? "
                f"(eventstream serve --redis URL names another)"
            )
            raise RegistryUnavailableError(msg) from exc
        self._client = client
        self._pubsub = pubsub
        self._opened = True
        self._wake_writer = asyncio.Event()
        self._wake_counter = asyncio.Event()
        self._follow_changed = asyncio.Event()
        for name, loop in (
            ("writer", self._write_loop),
            ("tailer", self._tail_loop),
            ("counter", self._count_loop),
            ("lease", self._lease_loop),
            ("listener", self._listen_loop),
        ):
            task = asyncio.get_running_loop().create_task(loop(), name=f"eventstream-redis:{name}")
            self._loops.append(task)

    @property
    def _lease_ms(self) -> int:
        return int(self.lease * 1000)

    @property
    def _live_ms(self) -> int:
        return int((self.ttl + LIVE_GRACE) * 1000)

    def _require_open(self) -> None:
        if not self._opened or self._closed:
            msg = "the Redis registry is not open: await registry.open() first"
            raise RuntimeError(msg)

    async def _call(self, command: Awaitable[Any]) -> Any:
        """One command; Redis away is :class:`RegistryUnavailableError`."""
        try:
            return await command
        except _redis_errors() as exc:
            msg = f"Redis at {self.url} does not answer: {exc}"
            raise RegistryUnavailableError(msg) from exc

    def _warn_lost(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned > 5.0:
            self._warned = now
            logger.warning("Redis at %s does not answer (%s); retrying", self.url, exc)

    def _wire(self) -> _Wire:
        """A connection of its own for a loop; :meth:`aclose` closes it."""
        wire = _Wire(self._client)
        self._wires.append(wire)
        return wire

    def _stop(self, tasks: list[asyncio.Task[Any]]) -> None:
        """Cancel tasks and make sure they end: redis-py may swallow a cancellation that
        lands inside a command, so the tasks are cancelled again until they are done."""
        for task in tasks:
            task.cancel()
        self._ending.update(task for task in tasks if not task.done())
        if self._ending and self._reaper is None:
            self._reaper = asyncio.ensure_future(self._reap())

    async def _reap(self) -> None:
        try:
            while self._ending:
                await asyncio.wait(self._ending, timeout=0.2)
                self._ending = {task for task in self._ending if not task.done()}
                for task in self._ending:
                    task.cancel()
        finally:
            self._reaper = None

    async def _stopped(self) -> None:
        """Return once every task given to :meth:`_stop` has ended."""
        reaper = self._reaper
        if reaper is not None:
            await asyncio.shield(reaper)

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)

    # -- starting and running (the owner) ---------------------------------------------------

    async def astart(
        self,
        runnable: Any,
        input: Any,  # noqa: A002
        *,
        config: Any = None,
        source: RunSource = "v2",
    ) -> str:
        self._check_room()
        return await self._start(run_events(runnable, input, config, source))

    async def astart_events(self, events: AsyncIterable[Event]) -> str:
        self._check_room()
        return await self._start(events)

    def _check_room(self) -> None:
        self._require_open()
        if len(self._owned) >= self.max_runs:
            raise TooManyRunsError(self.max_runs)

    async def _start(self, events: AsyncIterable[Event]) -> str:
        owned = _Owned(uuid.uuid4().hex)
        self._owned[owned.id] = owned
        meta = self._keys.meta(owned.id)
        pipe = self._client.pipeline(transaction=True)
        pipe.hset(
            meta,
            mapping={"status": "running", "owner": self.process_id, "events": 0, "bytes": 0},
        )
        pipe.pexpire(meta, self._live_ms)
        try:
            await self._call(pipe.execute())
        except BaseException:
            del self._owned[owned.id]
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
            raise
        owned.task = asyncio.get_running_loop().create_task(
            self._pump(owned, events), name=f"eventstream-run:{owned.id}"
        )
        return owned.id

    async def _pump(self, owned: _Owned, events: AsyncIterable[Event]) -> None:
        status: RunStatus = "completed"
        error: str | None = None
        iterator = aiter(events)
        try:
            try:
                async for event in iterator:
                    if event.seq != owned.produced:
                        raise RunFailedError(not_whole_message(owned.produced, event.seq))
                    owned.produced += 1
                    owned.pending.append(event_to_json(event).encode("utf-8", "replace"))
                    self._dirty[owned.id] = owned
                    self._wake_writer.set()
                    if len(owned.pending) >= PENDING_HIGH:
                        owned.drained.clear()
                        await owned.drained.wait()
            finally:
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
        except asyncio.CancelledError:
            status, error = ("failed", LOST_MESSAGE) if owned.lost else ("cancelled", None)
        except Exception as exc:
            logger.error("run %s failed", owned.id, exc_info=exc)
            status, error = "failed", FAILED_MESSAGE
        if status == "cancelled":
            error = CANCELLED_MESSAGE
        if owned.fenced:  # ended on Redis by someone else: nothing more to write
            self._ended(owned, "failed")
            return
        if owned.lost:
            owned.pending.clear()
        owned.terminal = (status, error)
        self._dirty[owned.id] = owned
        self._wake_writer.set()

    def _ended(self, owned: _Owned, status: RunStatus) -> None:
        owned.finished_status = status
        owned.drained.set()
        owned.done.set()
        if owned.recheck is not None:
            owned.recheck.cancel()
        self._owned.pop(owned.id, None)
        self._dirty.pop(owned.id, None)
        now = time.monotonic()
        finished = self._finished
        finished[owned.id] = now
        while finished:
            oldest, at = next(iter(finished.items()))
            if now - at >= self.ttl:  # expired on Redis already
                del finished[oldest]
            elif len(finished) > self.max_finished:  # the oldest goes first
                del finished[oldest]
                self._deletes.append(oldest)
                self._wake_writer.set()
            else:
                break

    async def _write_loop(self) -> None:
        """Write what the runs produced: each wake-up sends one batch (every run's new
        events) on a connection of its own without waiting for the replies of the
        batches before, which :meth:`_confirm` reads in order."""
        errors = _redis_errors()
        backoff = 0.05
        keys = self._keys
        wire = self._wire()
        inflight: collections.deque[_Op] = collections.deque()
        confirming: asyncio.Task[None] | None = None
        try:
            while not self._closed:
                await self._wake_writer.wait()
                self._wake_writer.clear()
                batch = list(self._dirty.values())
                self._dirty.clear()
                deletes, self._deletes = self._deletes, []
                commands: list[tuple[Any, ...]] = []
                ops: list[_Op] = []
                for owned in batch:
                    meta, stream = keys.meta(owned.id), keys.stream(owned.id)
                    if owned.pending:
                        payloads, owned.pending = owned.pending, []
                        owned.drained.set()
                        limits = (self.buffer_size, self.buffer_bytes, self._live_ms)
                        first = owned.sent
                        owned.sent += len(payloads)
                        commands.append(
                            ("EVAL", APPEND, 2, meta, stream, self.process_id, first, *limits,
                             *payloads)
                        )  # fmt: skip
                        ops.append((owned, "append", payloads))
                    if owned.terminal is not None:
                        status, error = owned.terminal
                        end = encode_end(status, error)
                        commands.append(
                            ("EVAL", FINISH, 2, meta, stream, self.process_id, status, end,
                             error or "", self._ttl_ms)
                        )  # fmt: skip
                        ops.append((owned, "finish", []))
                for run_id in deletes:
                    commands.append(("DEL", keys.meta(run_id), keys.stream(run_id)))
                    ops.append((None, "delete", []))
                if not ops:
                    continue
                try:
                    await wire.send(commands)
                except errors as exc:
                    self._warn_lost(exc)
                    await wire.close()
                    for sent, _kind, _ in [*inflight, *ops]:
                        if sent is not None:
                            self._lose(sent)
                    inflight.clear()
                    self._deletes.extend(deletes)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    self._wake_writer.set()
                    continue
                backoff = 0.05
                inflight.extend(ops)
                if confirming is None or confirming.done():
                    confirming = asyncio.ensure_future(self._confirm(wire, inflight))
        finally:
            if confirming is not None:
                self._stop([confirming])

    async def _confirm(self, wire: _Wire, inflight: collections.deque[_Op]) -> None:
        """Read the replies of the batches sent, in order, and settle each run's."""
        errors = _redis_errors()
        while inflight:
            try:
                result = await wire.read()
            except errors as exc:
                self._warn_lost(exc)
                await wire.close()
                lost = list(inflight)
                inflight.clear()
                for owned, _, _ in lost:
                    if owned is not None:
                        self._lose(owned)
                return
            owned, kind, payloads = inflight.popleft()
            if owned is None:
                continue
            try:
                self._settle(owned, kind, payloads, result)
            except Exception:  # one run's bug must not stop every run's writes
                logger.exception("run %s: settling a write failed", owned.id)

    def _settle(self, owned: _Owned, kind: str, payloads: list[bytes], result: Any) -> None:
        if isinstance(result, Exception):
            if isinstance(result, _redis_errors()):
                self._lose(owned)
                return
            logger.error("run %s: Redis refused a write", owned.id, exc_info=result)
            result = b"hole"
        if kind == "append":
            if result in (b"ok", b"cancel"):
                owned.written += len(payloads)
                if result == b"cancel" and owned.task is not None:
                    owned.task.cancel()
            elif result == b"fenced":
                owned.fenced = True
                if owned.task is not None:
                    owned.task.cancel()
            else:  # a hole: an earlier batch never arrived
                self._lose(owned)
        elif result in (b"ok", b"ended", b"gone"):
            assert owned.terminal is not None
            self._ended(owned, owned.terminal[0] if result == b"ok" else "failed")

    def _lose(self, owned: _Owned) -> None:
        """A write failed: the run cannot go on whole; end it as soon as Redis is back."""
        if not owned.lost:
            owned.lost = True
            owned.pending.clear()
            if owned.task is not None and not owned.task.done():
                owned.task.cancel()
        if owned.terminal is not None:
            if owned.terminal[0] != "failed" or owned.terminal[1] != LOST_MESSAGE:
                owned.terminal = ("failed", LOST_MESSAGE)
            self._dirty[owned.id] = owned
            self._wake_writer.set()

    async def _lease_loop(self) -> None:
        """Refresh the lease and the running runs' keys; check idleness and cancel marks."""
        errors = _redis_errors()
        lease_key = self._keys.lease(self.process_id)
        while not self._closed:
            await asyncio.sleep(self.lease / 5)
            try:
                pipe = self._client.pipeline(transaction=False)
                pipe.set(lease_key, b"1", px=self._lease_ms)
                owned = [o for o in self._owned.values() if o.terminal is None]
                for run in owned:
                    pipe.pexpire(self._keys.meta(run.id), self._live_ms)
                    pipe.pexpire(self._keys.stream(run.id), self._live_ms)
                await pipe.execute()
            except errors as exc:
                self._warn_lost(exc)
                continue
            except Exception:  # an error reply (READONLY after a failover, MISCONF, OOM)
                logger.exception(REPLY_ERROR)
                continue
            try:
                await self._check_runs(owned)
            except errors as exc:
                self._warn_lost(exc)
            except Exception:  # the lease must go on: a bug here is logged, not fatal
                logger.exception("eventstream Redis registry: checking runs failed")

    async def _check_runs(self, runs: list[_Owned]) -> None:
        """Cancel the runs marked for it, and those no live process reads any more."""
        if not runs:
            return
        pipe = self._client.pipeline(transaction=False)
        for run in runs:
            pipe.hgetall(self._keys.meta(run.id))
        metas = await pipe.execute()
        counts = [_subscriptions(meta) for meta in metas]
        alive = await self._alive(sorted({p for c in counts for p in c}))
        now = time.monotonic()
        for run, meta, count in zip(runs, metas, counts, strict=True):
            if run.task is None or run.task.done():
                continue
            if meta.get(b"cancel"):
                run.task.cancel()
                continue
            if self.when_idle != "cancel" or not count:  # nobody ever subscribed
                continue
            if _attached(count, alive):
                run.idle_since = None
                continue
            if run.idle_since is None:
                run.idle_since = now
            if now - run.idle_since >= self.idle_grace:
                run.task.cancel()
            elif run.recheck is None:
                delay = self.idle_grace - (now - run.idle_since)
                run.recheck = asyncio.get_running_loop().call_later(delay, self._recheck, run)

    async def _alive(self, processes: list[str]) -> set[str]:
        """This process, and those of ``processes`` whose lease is still there."""
        others = [p for p in processes if p != self.process_id]
        alive = {self.process_id}
        if others:
            pipe = self._client.pipeline(transaction=False)
            for process in others:
                pipe.exists(self._keys.lease(process))
            alive.update(p for p, up in zip(others, await pipe.execute(), strict=True) if up)
        return alive

    def _recheck(self, run: _Owned) -> None:
        run.recheck = None
        if self._owned.get(run.id) is run and not self._closed:
            self._spawn(self._check_runs([run]))

    async def _listen_loop(self) -> None:
        """The owner's channel: ``cancel`` and ``idle`` messages from any process."""
        errors = _redis_errors()
        channel = self._keys.channel(self.process_id)
        while not self._closed:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except errors as exc:
                self._warn_lost(exc)
                await asyncio.sleep(0.2)
                with contextlib.suppress(*errors):
                    await self._pubsub.subscribe(channel)
                continue
            if message is None or message.get("type") != "message":
                continue
            kind, _, run_id = bytes(message["data"]).decode().partition(" ")
            run = self._owned.get(run_id)
            if run is None or run.task is None:
                continue
            if kind == "cancel":
                run.task.cancel()
            elif kind == "idle":
                self._spawn(self._check_runs([run]))

    # -- counting subscribers (every process) -------------------------------------------

    def _count(self, run_id: str, delta: int) -> None:
        if self._closed or not self._opened:
            return
        self._counts.append((run_id, delta))
        self._wake_counter.set()

    async def _count_loop(self) -> None:
        errors = _redis_errors()
        field = f"subs:{self.process_id}"
        while not self._closed:
            await self._wake_counter.wait()
            self._wake_counter.clear()
            batch, self._counts = self._counts, []
            pipe = self._client.pipeline(transaction=False)
            for run_id, delta in batch:
                meta = self._keys.meta(run_id)
                pipe.eval(COUNT, 1, meta, field, delta, self._keys.channel_prefix, run_id)
            try:
                await pipe.execute(raise_on_error=False)
            except Exception as exc:  # lost, or an error reply: counted again later
                if isinstance(exc, errors):
                    self._warn_lost(exc)
                else:
                    logger.exception(REPLY_ERROR)
                self._counts[:0] = batch
                await asyncio.sleep(0.2)
                self._wake_counter.set()

    # -- reading (every process) ----------------------------------------------------------

    async def asubscribe(
        self, run_id: str, *, selector: Selector | None = None, after: int | None = None
    ) -> Subscription:
        self._require_open()
        # A mirror is shared once somebody reads it (it registers itself then), and
        # lingers a moment after the last reader left.
        mirror = self._mirrors.get(run_id)
        if mirror is None:
            if not await self._call(self._client.exists(self._keys.meta(run_id))):
                raise UnknownRunError(run_id)
            mirror = self._mirrors.get(run_id)
            if mirror is None:
                mirror = self._mirrors[run_id] = _Mirror(self, run_id)
                self._linger(mirror)  # a subscription never read does not keep it
        return mirror.subscribe(selector=selector, after=after)

    def _linger(self, mirror: _Mirror) -> None:
        """The last reader here left: stop tailing soon unless one comes back."""

        def drop() -> None:
            if mirror.subscribers == 0:
                mirror.stop()
                if self._mirrors.get(mirror.id) is mirror:
                    del self._mirrors[mirror.id]

        with contextlib.suppress(RuntimeError):  # no loop: closing
            asyncio.get_running_loop().call_later(MIRROR_LINGER, drop)

    def _follow(self, mirror: _Mirror) -> None:
        if mirror in self._following or self._closed:
            return
        mirror.quiet_since = time.monotonic()
        self._following.add(mirror)
        self._follow_changed.set()
        if self._tail_blocked:  # interrupt its XREAD: it reads this stream too from now on
            self._spawn(self._client.xadd(self._wake_key, {b"w": b"1"}, maxlen=10))

    def _unfollow(self, mirror: _Mirror) -> None:
        self._following.discard(mirror)

    @property
    def _wake_key(self) -> str:
        return self._keys.wake(self.process_id)

    async def _tail_loop(self) -> None:
        """Feed every mirror this process follows: one ``XREAD BLOCK`` over all streams."""
        errors = _redis_errors()
        wake_key = self._wake_key.encode()
        wake_at = b"0-0"
        backoff = 0.05
        block = int(QUIET * 1000)
        keys = self._keys
        wire = self._wire()
        while not self._closed:
            if not self._following:
                self._follow_changed.clear()
                await self._follow_changed.wait()
                continue
            groups: dict[bytes, list[_Mirror]] = {}
            for mirror in self._following:
                groups.setdefault(keys.stream(mirror.id).encode(), []).append(mirror)
            names: list[bytes] = [wake_key, *groups]
            ids: list[bytes | str] = [wake_at]
            ids.extend(entry_id(min(m.position for m in mirrors)) for mirrors in groups.values())
            command = ("XREAD", "COUNT", 1000, "BLOCK", block, "STREAMS", *names, *ids)
            self._tail_blocked = True
            try:
                await wire.send([command])
                reply = await wire.read()
                if isinstance(reply, Exception):
                    raise reply
            except errors as exc:
                self._warn_lost(exc)
                await wire.close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            except Exception:  # an error reply: readers wait, the tailer goes on
                logger.exception(REPLY_ERROR)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            finally:
                self._tail_blocked = False
            backoff = 0.05
            now = time.monotonic()
            for key, entries in _stream_entries(reply):
                if key == wake_key:
                    wake_at = entries[-1][0]
                    continue
                for mirror in groups.get(key, ()):
                    mirror.quiet_since = now
                    try:
                        mirror.take(entries)
                    except Exception:
                        logger.exception("run %s: an entry could not be read", mirror.id)
                        mirror._finish("failed", FAILED_MESSAGE)
                        mirror.stop()
            for mirrors in groups.values():
                for mirror in mirrors:
                    if not mirror.checking and now - mirror.quiet_since >= QUIET:
                        mirror.checking = True
                        self._spawn(self._check_mirror(mirror))

    async def _check_mirror(self, mirror: _Mirror) -> None:
        try:
            if await self._check_owner(mirror.id) and not mirror.finished:
                mirror._finish("failed", GONE_MESSAGE)
                mirror.stop()
        finally:
            mirror.quiet_since = time.monotonic()
            mirror.checking = False

    async def _check_owner(self, run_id: str) -> bool:
        """After a quiet spell: end the run if its owner died; ``True`` when it is gone."""
        meta = self._keys.meta(run_id)
        status, owner = await self._client.hmget(meta, "status", "owner")
        if status is None:
            return True
        if status != b"running" or owner is None:
            return False
        process = owner.decode()
        lease = self._keys.lease(process)
        if await self._client.exists(lease):
            return False
        end = encode_end("failed", ORPHAN_MESSAGE)
        stream = self._keys.stream(run_id)
        ended = await self._client.eval(
            ORPHAN, 3, meta, stream, lease, process, end, ORPHAN_MESSAGE, self._ttl_ms
        )
        if ended:
            logger.error("run %s: its owner %s stopped responding; it was ended", run_id, process)
        return False

    @property
    def _ttl_ms(self) -> int:
        return int(self.ttl * 1000)

    # -- status and cancellation ------------------------------------------------------------

    async def acancel(self, run_id: str) -> bool:
        self._require_open()
        owned = self._owned.get(run_id)
        meta = self._keys.meta(run_id)
        result = await self._call(
            self._client.eval(CANCEL, 1, meta, self._keys.channel_prefix, run_id)
        )
        if result == -1:
            raise UnknownRunError(run_id)
        if owned is not None and owned.task is not None:
            owned.task.cancel()
        return bool(result == 1)

    async def ainfo(self, run_id: str) -> RunInfo:
        self._require_open()
        meta = await self._call(self._client.hgetall(self._keys.meta(run_id)))
        if not meta:
            raise UnknownRunError(run_id)
        counts = _subscriptions(meta)
        alive = await self._call(self._alive(list(counts)))
        error = meta.get(b"error")
        return RunInfo(
            id=run_id,
            status=_status_of(meta),
            events=int(meta.get(b"events", b"0")),
            error=error.decode() if error else None,
            subscribers=_attached(counts, alive),
            owner=meta[b"owner"].decode() if b"owner" in meta else None,
        )

    async def ajoin(self, run_id: str) -> RunInfo:
        owned = self._owned.get(run_id)
        if owned is not None:
            await owned.done.wait()
        while True:
            info = await self.ainfo(run_id)
            if info.finished:
                return info
            await asyncio.sleep(0.05)

    # -- closing ----------------------------------------------------------------------------

    async def aclose(self, timeout: float = 10.0) -> None:
        """Cancel this process's runs and write their ends (``timeout`` seconds at most,
        should Redis be away), stop reading, give up the lease, disconnect."""
        if self._closed or not self._opened:
            self._closed = True
            return
        owned = list(self._owned.values())
        for run in owned:
            if run.task is not None:
                run.task.cancel()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(run.done.wait() for run in owned)), timeout=timeout
            )
        self._closed = True
        self._following.clear()
        for mirror in self._mirrors.values():
            if not mirror.finished:  # its readers would wait for entries nobody reads
                mirror._finish("failed", CLOSED_MESSAGE)
        self._mirrors.clear()
        self._wake_writer.set()
        self._wake_counter.set()
        self._follow_changed.set()
        tasks = [
            *self._loops,
            *self._background,
            *(run.task for run in owned if run.task is not None),
        ]
        self._stop(tasks)
        await self._stopped()
        for wire in self._wires:
            await wire.close()
        with contextlib.suppress(*_redis_errors()):
            await self._client.delete(self._keys.lease(self.process_id), self._wake_key)
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        await self._client.aclose()


def _stream_entries(reply: Any) -> list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]:
    """A raw ``XREAD`` reply (RESP2's list or RESP3's map) as (stream, entries) pairs."""
    if not reply:
        return []
    if isinstance(reply, dict):
        reply = reply.items()
    return [
        (
            key,
            [
                (entry_id, dict(zip(fields[::2], fields[1::2], strict=True)))
                for entry_id, fields in entries
            ],
        )
        for key, entries in reply
    ]


def _subscriptions(meta: dict[bytes, bytes]) -> dict[str, int]:
    """Subscriptions attached to a run, by process, from its hash."""
    return {key[5:].decode(): int(value) for key, value in meta.items() if key.startswith(b"subs:")}


def _attached(counts: dict[str, int], alive: set[str]) -> int:
    """Subscriptions attached on the processes still alive."""
    return sum(n for p, n in counts.items() if p in alive and n > 0)


def _status_of(meta: dict[bytes, bytes]) -> RunStatus:
    return _status(meta.get(b"status", b"failed").decode())


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        if not isinstance(exc, _redis_errors()):
            logger.error("eventstream Redis registry: a background step failed", exc_info=exc)
