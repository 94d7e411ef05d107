"""Subscriptions: select events of a normalized stream by type, tag, name or ancestry.

``Selector`` is the sans-IO part: ``accepts(event)`` says whether one event passes;
it keeps only the ids of the open runs that are inside a selected subtree. ``select``
wraps it around any event stream, sync or async. Criteria are ANDed; within one
criterion any match passes.

``inside`` selects the subtree of every run whose name or tag is given: the run itself
and everything whose ``parent_ids`` include it. Sources without ancestry
(``astream_events`` v1, ``astream_log``) carry no ``parent_ids``: there ``inside``
selects only the named runs' own events, and runs that inherit a selected tag (LangChain
passes a run's config tags to its children).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator

from eventstream._ancestry import Ancestry
from eventstream._events import EVENT_TYPES, Event
from eventstream._stream import EventStream, Stream

__all__ = ["Selection", "Selector", "select"]


def _names(value: Iterable[str] | str | None, what: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    names = frozenset(value)
    if not all(isinstance(n, str) for n in names):
        msg = f"{what} must be strings, got {sorted(map(repr, names))}"
        raise TypeError(msg)
    return names


class Selector:
    """The criteria behind :func:`select`, usable on their own.

    The criteria are fixed at construction and can be shared. What a selection with
    ``inside`` remembers while it reads a stream (the runs found inside a selected
    subtree) belongs to one reading: :meth:`matcher` gives a fresh filter for each
    stream. ``accepts`` is one such filter, made at construction, for one stream.
    """

    def __init__(
        self,
        *,
        types: Iterable[str] | str | None = None,
        tags: Iterable[str] | str | None = None,
        exclude_tags: Iterable[str] | str | None = None,
        names: Iterable[str] | str | None = None,
        run_types: Iterable[str] | str | None = None,
        inside: Iterable[str] | str | None = None,
    ) -> None:
        self.types = _names(types, "types")
        if self.types is not None and not self.types <= set(EVENT_TYPES):
            unknown = ", ".join(sorted(self.types - set(EVENT_TYPES)))
            msg = f"unknown event type(s) {unknown}: expected some of {', '.join(EVENT_TYPES)}"
            raise ValueError(msg)
        self.tags = _names(tags, "tags")
        self.exclude_tags = _names(exclude_tags, "exclude_tags")
        self.names = _names(names, "names")
        self.run_types = _names(run_types, "run_types")
        self.inside = _names(inside, "inside")

        self.accepts: Callable[[Event], bool] = self.matcher()
        """Whether an event passes every criterion given: a filter for one stream (see
        :meth:`matcher`)."""

    def matcher(self) -> Callable[[Event], bool]:
        """A fresh filter for one stream: a closure over the criteria (it runs once per
        event, so it reads locals, not attributes) and, with ``inside``, over the
        state of that one reading."""
        is_inside = _inside_filter(self.inside) if self.inside is not None else None
        types, tags, exclude_tags = self.types, self.tags, self.exclude_tags
        names, run_types = self.names, self.run_types

        def accepts(event: Event) -> bool:
            if is_inside is not None and not is_inside(event):
                return False
            if types is not None and event.type not in types:
                return False
            if tags is not None and tags.isdisjoint(event.tags):
                return False
            if exclude_tags is not None and not exclude_tags.isdisjoint(event.tags):
                return False
            if names is not None and event.name not in names:
                return False
            return run_types is None or event.run_type in run_types

        return accepts


def _inside_filter(inside: frozenset[str]) -> Callable[[Event], bool]:
    """Whether an event belongs to the subtree of a run named or tagged in ``inside``:
    decided once per run, at its first event, from its lineage."""
    ancestry = Ancestry()
    verdicts: dict[str, bool] = {}

    def is_inside(event: Event) -> bool:
        run_id = event.run_id
        found = verdicts.get(run_id)
        if found is None:
            info = ancestry.see(event)
            found = any(
                run.name in inside or not inside.isdisjoint(run.tags) for run in info.lineage()
            )
            if event.type == "custom":
                # A custom event names its payload, not its run: it decides nothing
                # for its run (which may give no other event).
                return found
            verdicts[run_id] = found
        elif event.type == "end":
            ancestry.see(event)
        if event.type == "end":
            del verdicts[run_id]
        return found

    return is_inside


class Selection(Stream[Event]):
    """The events of a stream that a :class:`Selector` accepts; sync, async or both."""

    def __init__(self, events: Iterable[Event] | AsyncIterable[Event], selector: Selector) -> None:
        super().__init__(events)
        self.selector = selector

    def __iter__(self) -> Iterator[Event]:
        accepts = self.selector.matcher()
        if isinstance(self._source, EventStream):
            return self._source.filtered(accepts)
        return filter(accepts, self._sync_items())

    def __aiter__(self) -> AsyncIterator[Event]:
        accepts = self.selector.matcher()
        if isinstance(self._source, EventStream):
            return self._source.afiltered(accepts)
        return self._afilter(accepts)

    async def _afilter(self, accepts: Callable[[Event], bool]) -> AsyncIterator[Event]:
        async for event in self._async_items():
            if accepts(event):
                yield event


def select(
    events: Iterable[Event] | AsyncIterable[Event],
    *,
    types: Iterable[str] | str | None = None,
    tags: Iterable[str] | str | None = None,
    exclude_tags: Iterable[str] | str | None = None,
    names: Iterable[str] | str | None = None,
    run_types: Iterable[str] | str | None = None,
    inside: Iterable[str] | str | None = None,
) -> Selection:
    """Filter a normalized event stream; iterate the result as the input iterates.

    - ``types``: event types (``"token"``, ``"tool_call"`` …).
    - ``tags`` / ``exclude_tags``: the event's run has (none of) these tags.
    - ``names``: the event's ``name`` (a run's name; the tool's name on tool-call
      events; the custom event's name on custom events).
    - ``run_types``: ``"chat_model"``, ``"tool"`` …
    - ``inside``: the event belongs to the subtree of a run with one of these names
      or tags (``inside=["get_items"]``: tokens of LLMs running inside that tool).
    """
    selector = Selector(
        types=types,
        tags=tags,
        exclude_tags=exclude_tags,
        names=names,
        run_types=run_types,
        inside=inside,
    )
    return Selection(events, selector)
