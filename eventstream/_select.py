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

from eventstream._events import EVENT_TYPES
from eventstream._normalizer import Event
from eventstream._stream import EventStream, Stream

__all__ = ["Selection", "Selector", "select"]

# Events whose ``name`` is the name of the run itself (for ToolCall / ToolCallChunk it
# is the called tool's name, for Custom the custom event's name).
_RUN_NAMED = frozenset({"start", "token", "tool_result", "end"})


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
    """The filter behind :func:`select`, usable on its own: ``accepts(event)``."""

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
        self._inside_runs: set[str] = set()

        self.accepts: Callable[[Event], bool] = self._compile()
        """Whether an event passes every criterion given (a closure over the criteria:
        it runs once per event, so it reads locals, not attributes)."""

    def _compile(self) -> Callable[[Event], bool]:
        is_inside = self._is_inside if self.inside is not None else None
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

    def _is_inside(self, event: Event) -> bool:
        inside_runs = self._inside_runs
        run_id = event.run_id
        found = run_id in inside_runs
        if not found:
            assert self.inside is not None
            found = (event.type in _RUN_NAMED and event.name in self.inside) or not (
                self.inside.isdisjoint(event.tags)
            )
            if not found:
                found = any(parent in inside_runs for parent in event.parent_ids)
            if found and event.type != "custom":
                inside_runs.add(run_id)
        if event.type == "end":
            inside_runs.discard(run_id)
        return found


class Selection(Stream[Event]):
    """The events of a stream that a :class:`Selector` accepts; sync, async or both."""

    def __init__(self, events: Iterable[Event] | AsyncIterable[Event], selector: Selector) -> None:
        super().__init__(events)
        self.selector = selector

    def __iter__(self) -> Iterator[Event]:
        if isinstance(self._source, EventStream):
            return self._source.filtered(self.selector.accepts)
        return filter(self.selector.accepts, self._sync_items())

    def __aiter__(self) -> AsyncIterator[Event]:
        if isinstance(self._source, EventStream):
            return self._source.afiltered(self.selector.accepts)
        return self._afilter()

    async def _afilter(self) -> AsyncIterator[Event]:
        accepts = self.selector.accepts
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
