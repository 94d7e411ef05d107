"""Readable traces and per-run statistics of timed events: what ``eventstream dump``
and ``eventstream stats`` print.

Contract. Pure functions: they take ``(offset, event)`` pairs, the offset being the
recorded time (seconds from the start of the recording) of the raw item the event came
from, and return lines of text; no I/O. ``trace_lines`` prints runs as an indented tree
(a run's depth is its number of ancestors, from ``parent_ids``; sources without
ancestry, ``astream_events`` v1 and ``astream_log``, indent by the runs open when it
started), tokens inline as text, tool calls with their arguments, tool results and
errors. ``stats_lines`` prints a table with one row per run and a totals line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from eventstream._ancestry import Ancestry
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
from eventstream._json import safe_value
from eventstream._select import Selector
from eventstream._serialize import jsonable

__all__ = ["RunStats", "run_stats", "stats_lines", "trace_lines"]

_INDENT = "  "
_SHORT = 160


def _seconds(value: float) -> str:
    return f"{value:9.3f}s"


def _no_time(value: float) -> str:
    return " " * 10


def duration_text(seconds: float) -> str:
    """``"12.3 ms"`` under a second, ``"1.234 s"`` from there."""
    if seconds < 1.0:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.3f} s"


def _short(value: Any) -> str:
    """A value as one line of compact JSON (text as it is), cut at _SHORT characters."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":"))
        except Exception:  # nesting deeper than the stack allows …
            # What event_to_json writes, stand-ins included: never raises.
            text = json.dumps(safe_value(value), ensure_ascii=False, separators=(",", ":"))
    text = text.replace("\n", "\\n")
    if len(text) > _SHORT:
        text = text[: _SHORT - 1] + "…"
    return text


def trace_lines(
    entries: Iterable[tuple[float, Event]],
    *,
    selector: Selector | None = None,
    show_chunks: bool = False,
    timed: bool = True,
) -> Iterator[str]:
    """The trace of timed events, line by line.

    Only events that ``selector`` accepts are printed (all events still place runs in
    the tree). Tool-call fragments are left out unless ``show_chunks``: the complete
    call is printed when the model run ends. ``timed=False`` (events without recorded
    times) leaves the time column blank and durations out.
    """
    seconds = _seconds if timed else _no_time
    ancestry = Ancestry()
    starts: dict[str, float] = {}
    text: list[str] = []
    text_key: tuple[str, str] | None = None
    text_time = text_indent = text_label = ""
    last_run = ""  # the run of the last line printed

    def flush() -> Iterator[str]:
        # Consecutive tokens of one run print as one block of text, timed at its first.
        nonlocal text_key
        if text_key is None:
            return
        mark = "~ " if text_key[1] == "reasoning" else "| "
        for number, line in enumerate("".join(text).split("\n")):
            when = text_time if number == 0 else " " * len(text_time)
            label = text_label if number == 0 else " " * len(text_label)
            yield f"{when}{text_indent}{mark}{label}{line}".rstrip()
        text.clear()
        text_key = None

    accepts = selector.matcher() if selector is not None else None
    for offset, event in entries:
        depth = ancestry.see(event).depth
        if isinstance(event, Start):
            starts[event.run_id] = offset
        if accepts is not None and not accepts(event):
            continue
        prefix = f"{seconds(offset)}  {_INDENT * depth}"
        inner = prefix + _INDENT
        if isinstance(event, Token):
            key = (event.run_id, event.kind)
            if key != text_key:
                yield from flush()
                text_key = key
                text_time = f"{seconds(offset)}  "
                text_indent = _INDENT * (depth + 1)
                # Text resuming after another run's lines (parallel runs interleave)
                # names its run.
                text_label = "" if last_run == event.run_id else f"({event.name}) "
                last_run = event.run_id
            text.append(event.text)
            continue
        yield from flush()
        if not isinstance(event, ToolCallChunk) or show_chunks:
            last_run = event.run_id
        if isinstance(event, Start):
            line = f"{prefix}> {event.name} ({event.run_type}){_tags(event.tags)}"
            if event.run_type == "tool" and event.input is not None:
                line += f" input: {_short(event.input)}"
            yield line
        elif isinstance(event, End):
            began = starts.pop(event.run_id, None)
            took = f" {duration_text(offset - began)}" if began is not None and timed else ""
            line = f"{prefix}< {event.name} ({event.run_type}){took}"
            if event.error is not None:
                line += f" ERROR: {_short(event.error)}"
            yield line
        elif isinstance(event, ToolCall):
            args = event.args_text.replace("\n", "\\n")  # whole, on one line
            line = f"{inner}tool call {event.name}({args}){_id(event.tool_call_id)}"
            if event.error is not None:
                line += f" ERROR: {event.error}"
            yield line
        elif isinstance(event, ToolResult):
            if event.error is not None:
                outcome = f"ERROR: {_short(event.error)}"
            else:
                outcome = f"-> {_short(event.output)}"
            yield f"{inner}tool result {event.name}{_id(event.tool_call_id)} {outcome}"
        elif isinstance(event, ToolCallChunk):
            if show_chunks:
                yield (
                    f"{inner}tool call chunk #{event.index} {event.name}"
                    f"{_id(event.tool_call_id)} {event.args_delta!r}"
                )
        elif isinstance(event, Custom):
            yield f"{inner}custom {event.name}: {_short(event.data)}"
    yield from flush()


def _tags(tags: tuple[str, ...]) -> str:
    return f" [{', '.join(tags)}]" if tags else ""


def _id(tool_call_id: str | None) -> str:
    return f" id={tool_call_id}" if tool_call_id else ""


@dataclass(slots=True)
class RunStats:
    """Timing of one run, from the recorded offsets of its events."""

    name: str
    run_type: str
    depth: int
    start: float
    end: float | None = None
    tokens: int = 0
    first_token: float | None = None
    error: str | None = None
    parent: str | None = None
    """The id of the nearest ancestor run in the recording, when the source says."""
    usage: Usage | None = None
    """A model run's token usage, when the source reports it."""

    @property
    def duration(self) -> float | None:
        """Seconds from the run's start to its end; None if it never ended."""
        return None if self.end is None else self.end - self.start

    @property
    def time_to_first_token(self) -> float | None:
        """Seconds from the run's start to its first token; None without tokens."""
        return None if self.first_token is None else self.first_token - self.start

    @property
    def tokens_per_second(self) -> float | None:
        """Tokens over the run's duration; None without tokens or duration."""
        duration = self.duration
        if not self.tokens or not duration:
            return None
        return self.tokens / duration


def run_stats(entries: Iterable[tuple[float, Event]]) -> tuple[list[RunStats], float]:
    """One :class:`RunStats` per run, and the last offset seen. Runs are in tree order
    (each run after its parent and its earlier siblings' subtrees) when the source has
    ancestry, else in start order."""
    ancestry = Ancestry()
    runs: dict[str, RunStats] = {}
    last = 0.0
    for offset, event in entries:
        last = max(last, offset)
        info = ancestry.see(event)
        run = runs.get(event.run_id)
        if run is None and not isinstance(event, Custom):
            run = runs[event.run_id] = RunStats(event.name, event.run_type, info.depth, offset)
            run.parent = info.parent.run_id if info.parent is not None else None
        if run is None:
            continue
        if isinstance(event, Token):
            run.tokens += 1
            if run.first_token is None:
                run.first_token = offset
        elif isinstance(event, End):
            run.end = offset
            run.error = event.error
            run.usage = event.usage
    return _tree_order(runs), last


def _tree_order(runs: dict[str, RunStats]) -> list[RunStats]:
    children: dict[str | None, list[str]] = {}
    for run_id, run in runs.items():
        children.setdefault(run.parent, []).append(run_id)
    ordered: list[RunStats] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        run_id = stack.pop()
        ordered.append(runs[run_id])
        stack.extend(reversed(children.get(run_id, [])))
    return ordered


def stats_lines(entries: Iterable[tuple[float, Event]], *, timed: bool = True) -> list[str]:
    """The stats table: one row per run (indented as in the trace), then totals.
    ``timed=False`` (events without recorded times): no durations, times or rates."""
    runs, last = run_stats(entries)
    usages = [run.usage for run in runs if run.usage is not None]
    header: tuple[str, ...] = ("run", "type", "duration", "tokens", "ttft", "tok/s")
    if usages:  # a column only for recordings that have usage
        header += ("usage in/out",)
    rows: list[tuple[str, ...]] = [header]
    for run in runs:
        duration = run.duration
        ttft = run.time_to_first_token
        rate = run.tokens_per_second
        row: tuple[str, ...] = (
            _INDENT * run.depth + run.name + (" !" if run.error else ""),
            run.run_type,
            duration_text(duration) if duration is not None else "(open)",
            str(run.tokens) if run.tokens else "-",
            duration_text(ttft) if ttft is not None else "-",
            f"{rate:.1f}" if rate is not None else "-",
        )
        if usages:
            usage = run.usage
            row += (f"{usage.input_tokens}/{usage.output_tokens}" if usage else "-",)
        rows.append(row)
    if not timed:  # duration, ttft and tok/s say nothing without times
        rows = [tuple(cell for i, cell in enumerate(row) if i not in (2, 4, 5)) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    tokens = sum(run.tokens for run in runs)
    firsts = [run.first_token for run in runs if run.first_token is not None]
    failed = sum(1 for run in runs if run.error)
    total = f"total: {len(runs)} runs" + (f" ({failed} failed, marked !)" if failed else "")
    if timed:
        total += f", {duration_text(last)}, {tokens} tokens"
        if firsts:
            total += f", first token at {duration_text(min(firsts))}"
            if last > 0:
                total += f", {tokens / last:.1f} tok/s"
    else:
        total += f", {tokens} tokens (no timings: the file has none)"
    if usages:
        total += (
            f", usage {sum(u.input_tokens for u in usages)} in + "
            f"{sum(u.output_tokens for u in usages)} out = "
            f"{sum(u.total_tokens for u in usages)} tokens"
        )
    lines.append(total)
    return lines
