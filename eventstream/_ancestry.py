"""Which run is inside which: the one tracker behind selection, traces, the demo and
the UI protocols.

Contract. Sans-IO: :meth:`Ancestry.see` takes each event of a normalized stream in
order and returns the :class:`RunInfo` of its run; a run is registered at its first
event (its ``Start``, in a stream the normalizer made) and forgotten at its ``End``, so
memory follows the runs open now, not all runs seen.

Where the source carries ancestry (``parent_ids``: ``astream_events`` v2, LangGraph
stream modes, v3, callbacks) a run's ``parent`` is its nearest ancestor seen in this
stream. Where it does not (``astream_events`` v1, ``astream_log``), ``parent`` is
``None`` and ``depth`` counts the runs open when it started: good for indenting a
trace, not for deciding membership, which then goes by names and inherited tags.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from eventstream._events import Event

__all__ = ["Ancestry", "RunInfo"]

# Events whose ``name`` is the name of their run (on tool-call events it is the called
# tool's name, on custom events the custom event's name).
RUN_NAMED = frozenset({"start", "token", "tool_result", "end"})


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What is known of one run: who it is and where it sits."""

    run_id: str
    name: str
    """The run's name ("" when the run was first seen through an event that names
    something else: a tool call, a custom event)."""
    run_type: str
    tags: tuple[str, ...]
    parent: RunInfo | None
    """The nearest ancestor seen in this stream; ``None`` for a root, or without ancestry."""
    depth: int
    """How deep the run is: its parent's depth + 1, or the runs open at its start."""
    tool_call_id: str | None = None
    """For a tool run, the id of the call it answers (from its ``Start``)."""
    tool: RunInfo | None = None
    """The nearest tool run among this run and its ancestors; ``None`` outside tools."""

    def lineage(self) -> Iterator[RunInfo]:
        """This run, then its ancestors, nearest first."""
        info: RunInfo | None = self
        while info is not None:
            yield info
            info = info.parent


class Ancestry:
    """The open runs of one normalized stream and how they nest."""

    def __init__(self) -> None:
        self._runs: dict[str, RunInfo] = {}
        self.has_ancestry = False
        """Whether some run arrived with ``parent_ids`` (then ``parent`` is reliable)."""

    def __len__(self) -> int:
        return len(self._runs)

    def get(self, run_id: str) -> RunInfo | None:
        """The info of an open run, or ``None``."""
        return self._runs.get(run_id)

    def see(self, event: Event) -> RunInfo:
        """The info of the event's run (registered now if new); an ``End`` forgets it."""
        info = self._runs.get(event.run_id)
        if info is None:
            info = self._register(event)
        if event.type == "end":
            del self._runs[event.run_id]
        return info

    def _register(self, event: Event) -> RunInfo:
        parent: RunInfo | None = None
        if event.parent_ids:
            self.has_ancestry = True
            for parent_id in reversed(event.parent_ids):
                parent = self._runs.get(parent_id)
                if parent is not None:
                    break
            depth = parent.depth + 1 if parent is not None else len(event.parent_ids)
        else:
            depth = len(self._runs)
        run_type = event.run_type
        info = RunInfo(
            run_id=event.run_id,
            name=event.name if event.type in RUN_NAMED else "",
            run_type=run_type,
            tags=event.tags,
            parent=parent,
            depth=depth,
            tool_call_id=event.tool_call_id if event.type == "start" else None,
            tool=None,
        )
        tool = info if run_type == "tool" else (parent.tool if parent is not None else None)
        if tool is not None:
            object.__setattr__(info, "tool", tool)
        if event.type != "custom":
            # A custom event may name a run that gives no other event (dispatched
            # from outside any run the source reports): nothing to keep.
            self._runs[event.run_id] = info
        return info
