"""Only the answer: the text an agent writes for its user, as it is written.

Contract. :class:`AnswerReader` is sans-IO: ``feed(event)`` takes each event of a
normalized stream in order and returns the :class:`AnswerText` pieces and
:class:`AnswerEnd` markers it gives; ``close()`` ends what is still open when the
stream ends, ``fail(exc)`` when the source raises. :func:`answer` runs it over a
stream, sync or async, as the stream iterates. It reads events only, so it works on
every source the normalizer reads.

The agent's model runs are the ``chat_model`` / ``llm`` runs that are inside no tool
(by ``parent_ids``, through the one :class:`~eventstream._ancestry.Ancestry` tracker)
and, when ``tags`` / ``names`` are given, that carry one of those tags / names. Turns
are numbered 0, 1, 2 … in the order those runs start. Three ways to mark the answer:

1. default: every text token of the agent's model is answer text; each turn's end says
   whether it was final (it made no tool calls and did not fail), so a UI can show the
   text of intermediate turns and still know which turn answered. Without ancestry
   (``astream_events`` v1, ``astream_log``) a model nested in another run may be inside
   a tool: then ``tags`` or ``names`` must say which model is the agent's.
2. ``tool="final_answer", field="answer"``: the answer is a string argument of a tool
   call, streamed out of the arguments' JSON fragments by a
   :class:`~eventstream._partial_json.FieldStreamer` (escapes decoded, never half an
   escape); the call's end carries all its arguments (``args``).
3. ``prefix="Final Answer:"``: ReAct text; of each turn, what follows the first
   occurrence of the prefix (however tokens split it; whitespace right after it
   dropped). A turn in which the prefix never comes gives nothing.

Data the model got wrong (an answer field that is not a string, arguments that are not
JSON) ends the turn with ``error`` set; options that cannot work raise at once, and a
source that cannot answer the question asked raises :class:`NoAncestryError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from eventstream._ancestry import Ancestry, RunInfo
from eventstream._driven import Driven
from eventstream._errors import NoAncestryError, error_text
from eventstream._events import Event
from eventstream._partial_json import FieldStreamer, PartialJSONError

__all__ = [
    "Answer",
    "AnswerEnd",
    "AnswerItem",
    "AnswerReader",
    "AnswerText",
    "NoAncestryError",
    "answer",
]

_MODEL_RUN_TYPES = frozenset({"chat_model", "llm"})
_NO_ARGS: dict[str, Any] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerText:
    """A piece of the answer's text, in the order it was written."""

    type: Literal["answer_text"] = "answer_text"
    """Always ``"answer_text"``."""

    text: str
    """The piece; never empty. By default and with ``prefix``: a text token of the
    agent's model (after the prefix); with ``tool``: the answer field's characters
    decoded from one fragment of the call's arguments."""

    turn: int
    """Which turn of the agent's model wrote it: 0, 1, 2 … in the order the agent's
    model runs started. A new number starts a new turn."""

    run_id: str
    """The model run that wrote it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerEnd:
    """The end of a turn: by default every turn of the agent's model; with ``tool``,
    each call of that tool; with ``prefix``, each turn in which the prefix came."""

    type: Literal["answer_end"] = "answer_end"
    """Always ``"answer_end"``."""

    turn: int
    """The turn that ended (see :attr:`AnswerText.turn`)."""

    run_id: str
    """The model run of that turn."""

    final: bool
    """Whether this turn gave the answer, whole: by default, the turn made no tool
    calls and did not fail; with ``tool``, the call completed and its answer field was
    read; with ``prefix``, the turn ended without error. ``False`` whenever ``error``
    is set."""

    tool_calls: tuple[str, ...] = ()
    """By default: the names of the tools this turn called, in order (why it was not
    final). Empty in the other modes."""

    args: dict[str, Any] = field(default_factory=lambda: _NO_ARGS)
    """With ``tool``: the call's complete arguments, parsed (the answer field among
    them, and the others: the math agent's ``tools_used``). ``{}`` otherwise."""

    error: str | None = None
    """``None``, or what went wrong: the model run's error, or why the answer field
    could not be read (not a string, missing, arguments not JSON)."""


AnswerItem = AnswerText | AnswerEnd
"""What :func:`answer` yields; tell them apart by ``type`` (or ``isinstance``)."""

_new = object.__new__
_set = object.__setattr__


def new_text(text: str, turn: int, run_id: str) -> AnswerText:
    """``AnswerText(...)`` for the per-piece path: the same frozen object, built without
    the generated ``__init__``'s keyword handling (0.5 µs against 1.1 µs, measured).
    ``tests/test_answer.py`` checks that it equals the constructor's result."""
    item: AnswerText = _new(AnswerText)
    _set(item, "type", "answer_text")
    _set(item, "text", text)
    _set(item, "turn", turn)
    _set(item, "run_id", run_id)
    return item


class _Call:
    """A call of the answer tool being streamed (or one whose name is not known yet)."""

    __slots__ = ("error", "held", "ignored", "streamer")

    def __init__(self) -> None:
        self.streamer: FieldStreamer | None = None
        self.held: list[str] = []  # fragments that came before the tool's name
        self.ignored = False  # another tool's call
        self.error: str | None = None


class _Turn:
    """One model run of the agent: the state of one turn, in every mode."""

    __slots__ = ("calls", "found", "number", "run_id", "stripping", "tail", "tools")

    def __init__(self, number: int, run_id: str) -> None:
        self.number = number
        self.run_id = run_id
        self.tools: list[str] = []  # default mode: the tools it called
        self.calls: dict[int, _Call] = {}  # tool mode: calls by index
        self.found = False  # prefix mode: the prefix came
        self.stripping = True  # prefix mode: dropping whitespace after the prefix
        self.tail = ""  # prefix mode: the last len(prefix) - 1 characters seen


def _names(value: Iterable[str] | str | None, what: str) -> frozenset[str] | None:
    if value is None:
        return None
    names = frozenset([value] if isinstance(value, str) else value)
    if not names or not all(isinstance(n, str) and n for n in names):
        msg = f"{what} must be non-empty strings, got {sorted(map(repr, names))}"
        raise ValueError(msg)
    return names


class AnswerReader:
    """The sans-IO core of :func:`answer`: events in, answer items out.

    ``feed(event)`` for each event in order; ``close()`` at the end of the stream;
    ``fail(exc)`` when the source raised. One reader reads one stream. See the module
    docstring for the three modes and how the agent's model is found.
    """

    def __init__(
        self,
        *,
        tool: str | None = None,
        field: str | None = None,
        prefix: str | None = None,
        tags: Iterable[str] | str | None = None,
        names: Iterable[str] | str | None = None,
    ) -> None:
        if tool is not None and prefix is not None:
            msg = "answer() takes tool= or prefix=, not both: they are two ways to mark it"
            raise ValueError(msg)
        if tool is not None:
            if not isinstance(tool, str) or not tool:
                msg = f"tool must be a tool's name, got {tool!r}"
                raise ValueError(msg)
            if field is None:
                msg = (
                    f"tool={tool!r} needs field=: the name of the string argument that "
                    "holds the answer (field='answer' for the math agent's final_answer tool)"
                )
                raise ValueError(msg)
            FieldStreamer(field)  # checks the name
        elif field is not None:
            msg = f"field={field!r} needs tool=: the tool whose argument holds the answer"
            raise ValueError(msg)
        if prefix is not None and (not isinstance(prefix, str) or not prefix):
            msg = f"prefix must be a non-empty string such as 'Final Answer:', got {prefix!r}"
            raise ValueError(msg)
        self.tool = tool
        """The answer tool's name (mode 2), or ``None``."""
        self.field = field
        """The answer argument's name (mode 2), or ``None``."""
        self.prefix = prefix
        """The text that introduces the answer (mode 3), or ``None``."""
        self.tags = _names(tags, "tags")
        """Tags, one of which the agent's model runs carry (``None``: any)."""
        self.names = _names(names, "names")
        """Names of the agent's model runs (``None``: any)."""
        self._keep = len(prefix) - 1 if prefix else 0
        self._ancestry = Ancestry()
        self._runs: dict[str, _Turn | None] = {}  # open runs: their turn, or None
        self._turns = 0

    def feed(self, event: Event) -> list[AnswerItem]:
        """The answer items this event gives (often none)."""
        run_id = event.run_id
        kind = event.type
        turn = self._runs.get(run_id, _UNSEEN)
        if turn is _UNSEEN:
            info = self._ancestry.see(event)
            if kind == "custom":
                return []
            turn = self._turn_of(event, info)
            self._runs[run_id] = turn
        elif kind == "end":
            self._ancestry.see(event)
        if kind == "end":
            del self._runs[run_id]
        if turn is None:
            return []
        if self.tool is not None:
            return self._tool_mode(turn, event)
        if self.prefix is not None:
            return self._prefix_mode(turn, event)
        return self._text_mode(turn, event)

    def close(self) -> list[AnswerItem]:
        """End the turns still open: the stream ended before their model runs did."""
        return self._end_open("the stream ended before this turn's model run ended")

    def fail(self, exc: BaseException) -> list[AnswerItem]:
        """End the turns still open with the source's exception."""
        return self._end_open(error_text(exc))

    # -- which runs are the agent's model -------------------------------------------

    def _turn_of(self, event: Event, info: RunInfo) -> _Turn | None:
        if event.run_type not in _MODEL_RUN_TYPES:
            return None
        if self.tags is not None and self.tags.isdisjoint(event.tags):
            return None
        if self.names is not None and info.name not in self.names:
            return None
        if info.tool is not None:
            return None
        others = len(self._ancestry) - (self._ancestry.get(event.run_id) is not None)
        if not event.parent_ids and others:
            # Nested in an open run, with no parent ids: inside a tool or not?
            chosen = self.tags is not None or self.names is not None
            if self._ancestry.has_ancestry:
                if not chosen:
                    return None  # an orphan run in a source with ancestry: not the agent
            elif not chosen and self.tool is None and self.prefix is None:
                raise NoAncestryError(_no_ancestry_message(event, info))
        number = self._turns
        self._turns += 1
        return _Turn(number, event.run_id)

    # -- mode 1: the agent's model text ---------------------------------------------

    def _text_mode(self, turn: _Turn, event: Event) -> list[AnswerItem]:
        if event.type == "token":
            if event.kind == "text":
                return [new_text(event.text, turn.number, turn.run_id)]
        elif event.type == "tool_call":
            turn.tools.append(event.name)
        elif event.type == "end":
            tools = tuple(turn.tools)
            return [
                AnswerEnd(
                    turn=turn.number,
                    run_id=turn.run_id,
                    final=not tools and event.error is None,
                    tool_calls=tools,
                    error=event.error,
                )
            ]
        return []

    # -- mode 2: a string argument of the answer tool -------------------------------

    def _tool_mode(self, turn: _Turn, event: Event) -> list[AnswerItem]:
        if event.type == "tool_call_chunk":
            call = turn.calls.get(event.index)
            if call is None:
                call = turn.calls[event.index] = _Call()
            if call.ignored or call.error is not None:
                return []
            if not event.name:  # the provider has not named the tool yet
                call.held.append(event.args_delta)
                return []
            if event.name != self.tool:
                call.ignored = True
                call.held = []
                return []
            streamer = call.streamer
            text = event.args_delta
            if streamer is None:
                assert self.field is not None
                streamer = call.streamer = FieldStreamer(self.field)
                text = "".join(call.held) + text
                call.held = []
            try:
                text = streamer.feed(text)
            except PartialJSONError as exc:
                call.error = f"reading the {self.tool} call's arguments: {exc}"
                return []
            if text:
                return [new_text(text, turn.number, turn.run_id)]
        elif event.type == "tool_call":
            if event.name == self.tool:
                return self._answer_call(turn, event.index, event.args, event.error)
            turn.calls.pop(event.index, None)
        elif event.type == "end":
            out: list[AnswerItem] = []
            for call in turn.calls.values():
                if call.streamer is not None:
                    error = event.error or "the model run ended before the call was complete"
                    out.append(_failed_end(turn, error))
            turn.calls.clear()
            return out
        return []

    def _answer_call(
        self, turn: _Turn, index: int, args: dict[str, Any], args_error: str | None
    ) -> list[AnswerItem]:
        out: list[AnswerItem] = []
        call = turn.calls.pop(index, None)
        error = call.error if call is not None else None
        streamed = call is not None and call.streamer is not None and call.streamer.found
        if error is None and args_error is not None:
            error = f"the call's arguments did not parse: {args_error}"
        if error is None and not streamed:
            # Nothing streamed (a source without fragments, a model that does not
            # stream): the whole field, at once.
            value = args.get(self.field) if self.field is not None else None
            if isinstance(value, str):
                if value:
                    out.append(new_text(value, turn.number, turn.run_id))
            elif self.field not in args:
                error = f"the call has no {self.field!r} argument (it has: {sorted(args)})"
            else:
                error = f"the {self.field!r} argument is a {type(value).__name__}, not a string"
        out.append(
            AnswerEnd(
                turn=turn.number, run_id=turn.run_id, final=error is None, args=args, error=error
            )
        )
        return out

    # -- mode 3: ReAct text after a prefix ------------------------------------------

    def _prefix_mode(self, turn: _Turn, event: Event) -> list[AnswerItem]:
        if event.type == "token":
            if event.kind != "text":
                return []
            text = event.text
            if not turn.found:
                assert self.prefix is not None
                window = turn.tail + text
                at = window.find(self.prefix)
                if at < 0:
                    turn.tail = window[-self._keep :] if self._keep else ""
                    return []
                turn.found = True
                turn.tail = ""
                text = window[at + len(self.prefix) :]
            if turn.stripping:
                text = text.lstrip()
                if not text:
                    return []
                turn.stripping = False
            return [new_text(text, turn.number, turn.run_id)]
        if event.type == "end" and turn.found:
            return [
                AnswerEnd(
                    turn=turn.number,
                    run_id=turn.run_id,
                    final=event.error is None,
                    error=event.error,
                )
            ]
        return []

    def _end_open(self, error: str) -> list[AnswerItem]:
        out: list[AnswerItem] = []
        for turn in self._runs.values():
            if turn is None:
                continue
            if self.tool is not None:
                out.extend(_failed_end(turn, error) for c in turn.calls.values() if c.streamer)
            elif self.prefix is None or turn.found:
                out.append(_failed_end(turn, error))
        self._runs.clear()
        return out


_UNSEEN = _Turn(-1, "")  # a run not seen yet (``None``: seen, not the agent's model)


def _failed_end(turn: _Turn, error: str) -> AnswerEnd:
    return AnswerEnd(turn=turn.number, run_id=turn.run_id, final=False, error=error)


def _no_ancestry_message(event: Event, info: RunInfo) -> str:
    tags = ", ".join(repr(t) for t in event.tags) or "none"
    return (
        f"model run {info.name or event.name!r} (run {event.run_id}) started inside "
        "another run, and this stream carries no parent ids (astream_events v1 and "
        "astream_log do not), so answer() cannot tell the agent's model from a model "
        "running inside a tool: pass tags=[...] or names=[...] naming the agent's model "
        f"(this run's tags: {tags}), or use astream_events(version='v2')"
    )


class Answer(Driven[AnswerItem]):
    """The answer items of a stream of events; see :func:`answer`. Each iteration
    reads the stream afresh with its own :class:`AnswerReader`."""

    def __init__(
        self,
        events: Iterable[Event] | AsyncIterable[Event],
        **options: Any,
    ) -> None:
        AnswerReader(**options)  # bad options raise here, not at the first event
        self.options = options
        """The options given to each :class:`AnswerReader`."""
        super().__init__(events, lambda: AnswerReader(**options))


def answer(
    events: Iterable[Event] | AsyncIterable[Event],
    *,
    tool: str | None = None,
    field: str | None = None,
    prefix: str | None = None,
    tags: Iterable[str] | str | None = None,
    names: Iterable[str] | str | None = None,
) -> Answer:
    """Only the answer of an agent's stream, as it is written; iterate the result as
    ``events`` iterates (``for`` or ``async for``).

    Yields :class:`AnswerText` pieces and :class:`AnswerEnd` markers. Three modes:

    - default: the text of the agent's own model (runs inside no tool); each turn's
      end says whether it was ``final`` (no tool calls) or not.
    - ``tool="final_answer", field="answer"``: that string argument of that tool's
      calls, streamed character by character out of the JSON fragments; the end
      carries the call's arguments.
    - ``prefix="Final Answer:"``: ReAct text following the prefix; nothing if the
      prefix never comes.

    ``tags`` / ``names`` narrow the agent's model runs to those with one of these tags /
    names; where the source has no ancestry (``astream_events`` v1, ``astream_log``)
    the default mode needs one of them.
    """
    return Answer(events, tool=tool, field=field, prefix=prefix, tags=tags, names=names)
