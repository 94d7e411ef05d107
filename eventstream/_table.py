"""The run table: every open run, and the only place where events are built.

Contract. Readers (one per input format, see ``eventstream._readers``) turn raw items
into typed values and hand them to the table's entry points: a run starts
(:meth:`RunTable.start`), streams text (:meth:`RunTable.token`, :meth:`RunTable.chunk`)
and tool-call fragments, ends with its outcome (:meth:`RunTable.end`), dispatches a
custom event (:meth:`RunTable.custom`); the stream closes or fails. Each entry point
appends the events it produces to ``out``, in order.

Whole or nothing: an entry point first checks what it was given against the state (a
run that started already, a run that ended) and raises
:class:`~eventstream._errors.Problem` *before* it changes anything; after the checks
nothing can fail. Readers convert and validate a raw item completely before they call
the table, so a rejected item leaves no trace.

What the table guarantees, whatever it is fed: exactly one ``Start`` per run, before
anything else of that run, and exactly one ``End``; nothing of a run after its
``End``; ``seq`` 0, 1, 2 … without gaps; one ``ToolCall`` per call a model made, when
the model run ends, with the arguments LangChain will execute. A run whose parent ends
first (a model that raised inside a tool: ``astream_events`` v2 reports no error for
it) ends right before its parent, with an error saying it never reported an end.

Bounds (memory follows the runs open now, not all runs seen):

- :data:`ENDED_WINDOW` ids of ended runs are remembered, to reject an item for a run
  that already ended; an item for a run ended longer ago starts that id afresh.
- :data:`MAX_FRAGMENTS` tool-call fragments are kept per model run; past that, the
  fragments still stream as events but their call ends with an error saying so.
- Announced calls wait for the tool run that answers them only while the root run of
  the model that made them is open, and at most :data:`MAX_PENDING_CALLS` per root
  (the oldest are dropped first).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from eventstream._content import FinalCall, Fragment, Piece, parse_args
from eventstream._errors import Problem
from eventstream._events import (
    Custom,
    End,
    Event,
    Start,
    Token,
    ToolCall,
    ToolCallChunk,
    ToolResult,
    Usage,
)

__all__ = [
    "ENDED_WINDOW",
    "MAX_FRAGMENTS",
    "MAX_PENDING_CALLS",
    "MODEL_TYPES",
    "ModelEnd",
    "Run",
    "RunFields",
    "RunTable",
    "ToolEnd",
]

ENDED_WINDOW = 10_000
"""How many ended run ids the table remembers (to reject items for ended runs)."""

MAX_FRAGMENTS = 100_000
"""Tool-call fragments kept per model run; a call past it ends with an error."""

MAX_PENDING_CALLS = 1_000
"""Announced, unanswered tool calls kept per root run; the oldest go first."""

MODEL_TYPES = frozenset({"chat_model", "llm"})

_new = object.__new__
E = TypeVar("E", Start, End, Custom, ToolCall, ToolCallChunk, ToolResult)

ORPHANED = "the run's parent ended before this run reported an end"
"""The error of a run ended because its parent ended (the source never ended it)."""


class RunFields(NamedTuple):
    """Who a run is, as the source names it: the fields every event of it carries."""

    run_id: str
    name: str
    run_type: str
    tags: tuple[str, ...]
    metadata: Mapping[str, Any]
    parent_ids: tuple[str, ...]


class ModelEnd(NamedTuple):
    """What a model run's end output says, read by the reader before the end."""

    output: Any
    """What ``End.output`` carries: the final message (chat models) or text (LLMs)."""
    pieces: list[Piece]
    """The output's text, given as tokens only when the run streamed no text."""
    calls: list[FinalCall] | None
    """LangChain's parsed tool calls of the final message; ``None``: it has none."""
    usage: Usage | None


class ToolEnd(NamedTuple):
    """A tool's result, read by the reader before the run's end."""

    output: Any
    """The result's output: a ``ToolMessage``'s content, else what the tool returned."""
    tool_call_id: str | None
    """The call it answers, when the output or the source names it."""
    error: str | None


@dataclass(slots=True)
class _Call:
    """A tool call being streamed: what its fragments said so far."""

    index: int
    id: str | None
    name: str
    args: list[str] = field(default_factory=list)
    cut: bool = False
    """Fragments past :data:`MAX_FRAGMENTS` were not kept."""


@dataclass(slots=True)
class _Pending:
    """An announced call waiting for the tool run that answers it."""

    name: str
    id: str | None
    args: dict[str, Any]


@dataclass(slots=True, eq=False)
class Run:
    """One open run. Readers read its fields; only the table changes them."""

    run_id: str
    name: str
    run_type: str
    tags: tuple[str, ...]
    metadata: Mapping[str, Any]
    parent_ids: tuple[str, ...]
    root: str
    """The root run whose calls this run's tool calls join (see the module doc)."""
    parent: Run | None = None
    """The nearest open ancestor (from ``parent_ids``), ended before it if need be."""
    children: dict[str, Run] | None = None
    tool_call_id: str | None = None
    streamed_text: bool = False
    calls: dict[int, _Call] | None = None
    fragments: int = 0
    ended: bool = False
    """Set when the run ends (readers that keep a run must not feed it after)."""

    @property
    def fields(self) -> RunFields:
        """Who the run is, as its events name it."""
        return RunFields(
            self.run_id, self.name, self.run_type, self.tags, self.metadata, self.parent_ids
        )


class RunTable:
    """Open runs by id; the only place events are built. See the module doc."""

    def __init__(self) -> None:
        self._seq = 0
        self._runs: dict[str, Run] = {}
        self._ended: set[str] = set()
        self._ended_order: deque[str] = deque()
        self._pending: dict[str, list[_Pending]] = {}
        self._has_ancestry = False

    # -- what readers may ask ----------------------------------------------------

    @property
    def runs(self) -> Mapping[str, Run]:
        """The open runs by id (a read-only view: a reader's fast path reads it)."""
        return self._runs

    def get(self, run_id: str) -> Run | None:
        """The open run with this id, or ``None``."""
        return self._runs.get(run_id)

    def ended(self, run_id: str) -> bool:
        """Whether this run ended (within the last :data:`ENDED_WINDOW` ended runs)."""
        return run_id in self._ended

    @property
    def open_runs(self) -> list[str]:
        """Ids of the open runs, oldest first."""
        return list(self._runs)

    @property
    def size(self) -> dict[str, int]:
        """How much the table holds now: open runs, remembered ended ids, waiting calls."""
        return {
            "open": len(self._runs),
            "ended": len(self._ended),
            "pending_calls": sum(len(calls) for calls in self._pending.values()),
        }

    # -- entry points --------------------------------------------------------------

    def start(
        self,
        fields: RunFields,
        input_: Any,
        out: list[Event],
        *,
        tool_call_id: str | None = None,
    ) -> Run:
        """Open a run and give its ``Start``. A tool run names the call it answers:
        ``tool_call_id`` when the source says, else the one announced call it can be."""
        self.check_new(fields.run_id)
        run_id = fields.run_id
        parent = None
        if fields.parent_ids:
            self._has_ancestry = True
            for parent_id in reversed(fields.parent_ids):
                parent = self._runs.get(parent_id)
                if parent is not None:
                    break
            root = fields.parent_ids[0]
        elif self._has_ancestry or not self._runs:
            root = run_id
        else:
            # No ancestry: the outermost open run stands for the root.
            root = next(iter(self._runs.values())).root
        run = Run(
            run_id,
            fields.name,
            fields.run_type,
            fields.tags,
            fields.metadata,
            fields.parent_ids,
            root,
            parent,
        )
        if parent is not None:
            if parent.children is None:
                parent.children = {}
            parent.children[run_id] = run
        if fields.run_type == "tool":
            run.tool_call_id = self._claim(run, input_, tool_call_id)
        self._runs[run_id] = run
        out.append(self._event(Start, run, input=input_, tool_call_id=run.tool_call_id))
        return run

    def check_new(self, run_id: str, what: str = "") -> None:
        """Raise :class:`Problem` when ``run_id`` is open or ended: it cannot start."""
        if run_id in self._runs or run_id in self._ended:
            state = "started" if run_id in self._runs else "ended"
            if what:
                message = f"{what} for run {run_id} which already {state}"
            else:
                message = f"run {run_id} {'started' if state == 'started' else 'ran'} already"
            raise Problem(message, run_id=run_id)

    def check_open(self, run_id: str, what: str) -> Run | None:
        """The open run ``run_id``; ``None`` when unknown; :class:`Problem` when ended."""
        run = self._runs.get(run_id)
        if run is None and run_id in self._ended:
            raise Problem(f"{what} for run {run_id} which already ended", run_id=run_id)
        return run

    def token(self, run: Run, text: str, kind: str = "text") -> Token:
        """One piece of text of an open run (never empty: the caller checks).

        The per-token path: the ``Token`` is built without the generated ``__init__``'s
        keyword handling (``tests/test_events.py`` checks it equals the constructor's)."""
        run.streamed_text = True
        seq = self._seq
        self._seq = seq + 1
        token: Token = _new(Token)
        token.seq = seq
        token.run_id = run.run_id
        token.parent_ids = run.parent_ids
        token.name = run.name
        token.run_type = run.run_type
        token.tags = run.tags
        token.metadata = run.metadata
        token.type = "token"
        token.text = text
        token.kind = kind  # type: ignore[assignment]
        return token

    def chunk(
        self, run: Run, pieces: list[Piece], fragments: list[Fragment], out: list[Event]
    ) -> None:
        """What one streamed model chunk carries: text pieces, then tool-call fragments."""
        for text, kind in pieces:
            out.append(self.token(run, text, kind))
        for fragment in fragments:
            self._fragment(run, fragment, out)

    def end(
        self,
        run: Run,
        out: list[Event],
        *,
        output: Any = None,
        error: str | None = None,
        model: ModelEnd | None = None,
        tool: ToolEnd | None = None,
    ) -> None:
        """End an open run: its open descendants first, then its tool calls (a model)
        or its result (a tool: when ``tool`` says what it returned), then ``End``."""
        if run.children:
            for child in reversed(list(run.children.values())):
                self.end(child, out, error=ORPHANED)
        usage = None
        if run.run_type in MODEL_TYPES:
            if model is not None:
                output = model.output
                usage = model.usage
                if not run.streamed_text:
                    # The model did not stream (or the source dropped its chunks): its
                    # final message still gives the text, so token readers miss nothing.
                    for text, kind in model.pieces:
                        out.append(self.token(run, text, kind))
            if error is None:
                self._announce_calls(run, model.calls if model is not None else None, out)
        elif tool is not None:
            self._result(run, tool, out)
        self._forget(run)
        out.append(self._event(End, run, output=output, error=error, usage=usage))

    def custom(self, fields: RunFields, name: str, data: Any, out: list[Event]) -> None:
        """A custom event dispatched by run ``fields.run_id`` (open, or never seen)."""
        run = self.check_open(fields.run_id, "a custom event")
        if run is not None:
            fields = RunFields(
                run.run_id, name, run.run_type, run.tags, run.metadata, run.parent_ids
            )
        out.append(self._event(Custom, fields, name=name, data=data))

    def close(self, error: str, out: list[Event]) -> None:
        """End every open run, innermost first, with ``error``."""
        for run in reversed(list(self._runs.values())):
            if run.run_id in self._runs:  # not ended already with its parent
                self.end(run, out, error=error)

    # -- inside -------------------------------------------------------------------

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = seq + 1
        return seq

    def _event(self, cls: type[E], run: Run | RunFields, **fields: Any) -> E:
        """An event of ``run`` (or of the run ``fields`` name), next in ``seq``: the one
        place the common fields are written (``Token`` has its own, hotter, path)."""
        common: dict[str, Any] = {"name": run.name}
        common.update(fields)
        return cls(
            seq=self._next_seq(),
            run_id=run.run_id,
            parent_ids=run.parent_ids,
            run_type=run.run_type,
            tags=run.tags,
            metadata=run.metadata,
            **common,
        )

    def _forget(self, run: Run) -> None:
        run_id = run.run_id
        del self._runs[run_id]
        run.ended = True
        if run.parent is not None and run.parent.children is not None:
            run.parent.children.pop(run_id, None)
        run.parent = None
        self._ended.add(run_id)
        order = self._ended_order
        order.append(run_id)
        if len(order) > ENDED_WINDOW:
            self._ended.discard(order.popleft())
        if run.root == run_id:
            self._pending.pop(run_id, None)

    def _fragment(self, run: Run, fragment: Fragment, out: list[Event]) -> None:
        index, call_id, call_name, args = fragment
        calls = run.calls
        if calls is None:
            calls = run.calls = {}
        if index is None:
            # No index from the provider: an id picks its call, a bare fragment
            # continues the latest call, anything else opens a new one.
            index = next((c.index for c in calls.values() if call_id and c.id == call_id), None)
            if index is None:
                if call_id is None and call_name is None and calls:
                    index = next(reversed(calls))
                else:
                    index = max(calls, default=-1) + 1
        call = calls.get(index)
        if call is None:
            call = calls[index] = _Call(index, call_id, call_name or "")
        else:
            if call_id and not call.id:
                call.id = call_id
            if call_name and not call.name:
                call.name = call_name
        run.fragments += 1
        if run.fragments > MAX_FRAGMENTS:
            call.cut = True
            call.args.clear()
        elif args:
            call.args.append(args)
        out.append(
            self._event(
                ToolCallChunk,
                run,
                name=call.name,
                index=index,
                tool_call_id=call.id,
                args_delta=args,
            )
        )

    def _announce_calls(self, run: Run, final: list[FinalCall] | None, out: list[Event]) -> None:
        """One ``ToolCall`` per call: LangChain's parse from the final message where
        there is one, matched to the streamed calls by id (else by position)."""
        streamed = sorted(run.calls.values(), key=lambda c: c.index) if run.calls else []
        if final is None:
            for call in streamed:
                text = "".join(call.args)
                if call.cut:
                    args: dict[str, Any] = {}
                    error: str | None = (
                        f"the call streamed more than {MAX_FRAGMENTS:,} fragments: its "
                        f"arguments were not kept"
                    )
                else:
                    args, error = parse_args(text)
                self._announce(run, call.index, call.id, call.name, args, text, error, out)
            return
        by_id = {call.id: call for call in streamed if call.id}
        unmatched = [call for call in streamed if not call.id]
        for position, final_call in enumerate(final):
            match = by_id.pop(final_call.id, None) if final_call.id else None
            if match is None and unmatched:
                match = unmatched.pop(0)
            index = match.index if match is not None else position
            text = "".join(match.args) if match is not None and not match.cut else ""
            self._announce(
                run,
                index,
                final_call.id,
                final_call.name or (match.name if match is not None else ""),
                final_call.args,
                text or final_call.args_text,
                final_call.error,
                out,
            )

    def _announce(
        self,
        run: Run,
        index: int,
        call_id: str | None,
        name: str,
        args: dict[str, Any],
        args_text: str,
        error: str | None,
        out: list[Event],
    ) -> None:
        out.append(
            self._event(
                ToolCall,
                run,
                name=name,
                index=index,
                tool_call_id=call_id,
                args=args,
                args_text=args_text,
                error=error,
            )
        )
        if error is None:
            pending = self._pending.setdefault(run.root, [])
            pending.append(_Pending(name, call_id, args))
            if len(pending) > MAX_PENDING_CALLS:
                del pending[0]

    def _claim(self, run: Run, input_: Any, known: str | None) -> str | None:
        """The id of the call a tool run answers: ``known``, or the one announced call
        of its name (and, when the input is known, its arguments); else ``None``: an id
        that could be wrong is never given."""
        pending = self._pending.get(run.root)
        if known is not None:
            self._drop_pending(run.root, known)
            return known
        if not pending:
            return None
        named = [call for call in pending if call.name == run.name]
        if isinstance(input_, Mapping):
            same = [call for call in named if call.args == input_]
            if same:
                named = same
        if len(named) != 1:
            return None
        pending.remove(named[0])
        return named[0].id

    def _drop_pending(self, root: str, call_id: str | None) -> None:
        pending = self._pending.get(root)
        if pending and call_id:
            for call in pending:
                if call.id == call_id:
                    pending.remove(call)
                    return

    def _result(self, run: Run, tool: ToolEnd, out: list[Event]) -> None:
        call_id = tool.tool_call_id or run.tool_call_id
        self._drop_pending(run.root, call_id)
        out.append(
            self._event(ToolResult, run, tool_call_id=call_id, output=tool.output, error=tool.error)
        )
