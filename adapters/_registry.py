"""What every run registry offers a service, whichever process or store holds the runs.

Two registries keep this contract: :class:`~eventstream.adapters.RunRegistry` (in one
process, the default) and :class:`~eventstream.adapters.RedisRunRegistry` (runs on Redis
Streams, so several processes act as one service). A service written against
:class:`BaseRunRegistry` runs on either::

    runs: BaseRunRegistry = RunRegistry()            # or RedisRunRegistry("redis://…/0")
    await runs.open()                                # connects (Redis); checks it is there
    run_id = await runs.astart(agent, inputs)        # readable everywhere once this returns
    subscription = await runs.asubscribe(run_id, selector=…, after=…)
    await runs.acancel(run_id)                       # reaches the run wherever it runs
    await runs.aclose()

The limits are the same on both (``max_runs`` live runs, ``max_finished`` finished runs
held, ``buffer_size`` events and ``buffer_bytes`` bytes of JSON per run); a start
beyond ``max_runs`` raises :class:`TooManyRunsError`, which a service answers with
``429`` and its ``retry_after``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from eventstream import Event, EventStreamError, Selector

if TYPE_CHECKING:
    from eventstream.adapters._runs import Subscription

__all__ = [
    "DEFAULT_BUFFER_BYTES",
    "DEFAULT_BUFFER_SIZE",
    "DEFAULT_MAX_FINISHED",
    "DEFAULT_MAX_RUNS",
    "BaseRunRegistry",
    "RegistryUnavailableError",
    "RunInfo",
    "RunStatus",
    "TooManyRunsError",
]

RunStatus = Literal["pending", "running", "completed", "failed", "cancelled"]

RunSource = Literal["v2", "modes"]
"""What :meth:`BaseRunRegistry.astart` streams a runnable with: ``"v2"``,
``runnable.astream_events(input, config, version="v2")`` (any runnable; the default), or
``"modes"``, ``runnable.astream(input, config, stream_mode=STREAM_MODES,
subgraphs=True, version="v2")`` (a LangGraph graph, such as ``create_agent``'s: the same
events for a fraction of the cost)."""

RUN_SOURCES: tuple[RunSource, ...] = ("v2", "modes")

DEFAULT_BUFFER_SIZE = 10_000
"""Events kept per run (then a reader that is behind gets a ``gap``)."""

DEFAULT_BUFFER_BYTES = 4 * 1024 * 1024
"""Bytes of event JSON kept per run (the newest event is always kept)."""

DEFAULT_MAX_RUNS = 1_000
"""Runs running at once (per process); one more is refused with :class:`TooManyRunsError`."""

DEFAULT_MAX_FINISHED = 1_000
"""Finished runs held for late readers (per process); the oldest is dropped first."""


class TooManyRunsError(EventStreamError):
    """A start was refused: ``max_runs`` runs are running already. Try again later."""

    def __init__(self, max_runs: int, *, retry_after: int = 1) -> None:
        super().__init__(
            f"too many runs: {max_runs} are running, the registry's max_runs; "
            f"try again in {retry_after} s"
        )
        self.max_runs = max_runs
        self.retry_after = retry_after
        """Seconds a client should wait before trying again (HTTP ``Retry-After``)."""


class RegistryUnavailableError(EventStreamError, ConnectionError):
    """The store a registry keeps its runs in cannot be reached (Redis down, wrong URL)."""


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run as the registry knows it at one moment (a copy: it does not change)."""

    id: str
    status: RunStatus
    events: int
    """How many events the run has produced so far (the next event's seq)."""
    error: str | None = None
    """The safe message of a failed or cancelled run (what subscribers are told)."""
    subscribers: int = 0
    """Subscriptions attached now, on every process."""
    owner: str | None = None
    """The process running the run (Redis: that registry's ``process_id``; else ``None``)."""

    @property
    def finished(self) -> bool:
        """Whether the run completed, failed or was cancelled."""
        return self.status in ("completed", "failed", "cancelled")


class BaseRunRegistry(ABC):
    """The asynchronous interface both registries keep; see the module doc.

    Every method may raise :class:`~eventstream.adapters.UnknownRunError` for a run that
    does not exist (any more); a store that cannot be reached raises
    :class:`RegistryUnavailableError`.
    """

    async def open(self) -> None:  # noqa: B027 - a no-op unless the store needs connecting
        """Connect to the store and check it answers (once; later calls do nothing)."""

    @abstractmethod
    async def aclose(self) -> None:
        """Cancel the runs this process runs, await their tasks, let go of the store."""

    @abstractmethod
    async def astart(
        self,
        runnable: Any,
        input: Any,  # noqa: A002
        *,
        config: Any = None,
        source: RunSource = "v2",
    ) -> str:
        """Start ``runnable`` on ``input`` as a run, streamed the way ``source`` says
        (:data:`RunSource`: ``astream_events`` v2 by default); the run's id.

        The run is readable from every process sharing the store once this returns.
        :class:`TooManyRunsError` when ``max_runs`` runs are running; ``ValueError`` for
        an unknown ``source``.
        """

    @abstractmethod
    async def astart_events(self, events: AsyncIterable[Event]) -> str:
        """Start a run over any whole normalized stream (seq 0, 1, 2 …); its id."""

    @abstractmethod
    async def asubscribe(
        self, run_id: str, *, selector: Selector | None = None, after: int | None = None
    ) -> Subscription:
        """A reader of the run from its start, or after seq ``after``, with its selection."""

    @abstractmethod
    async def acancel(self, run_id: str) -> bool:
        """Cancel the run wherever it runs; ``False`` when it had already finished."""

    @abstractmethod
    async def ainfo(self, run_id: str) -> RunInfo:
        """The run's status now."""

    @abstractmethod
    async def ajoin(self, run_id: str) -> RunInfo:
        """Wait until the run has finished; its final status (it does not raise for it)."""
