"""The ``eventstream`` command: look at recorded streams.

    eventstream dump PATH [--types T,..] [--tags T,..] [--names N,..] [--inside X,..] [--json]
    eventstream dump PATH --answer [--tool NAME --field NAME | --prefix TEXT] [--tags ..] [--json]
    eventstream stats PATH
    eventstream demo [--record PATH] [--live]
    eventstream serve [--host H] [--port P]

``dump`` prints a recording's normalized events as a readable trace (or, with
``--json``, as JSON Lines); ``dump --answer`` prints only the agent's answer (see
:func:`eventstream.answer`: the final turns' text, the ``--tool``'s ``--field``, or the
text after ``--prefix``; ``--json`` prints the answer items, every turn's); ``stats``
prints a table of its runs. Both replay the file without pacing. Exit codes: 0 done; 1
the file could not be read (missing, not a recording, unreadable lines: what could be
read is still printed), or ``--answer`` found no answer; 2 a usage error.
Messages go to stderr. ``demo`` is implemented in ``eventstream._demo``, ``serve`` in
``eventstream._serve`` (imported only when asked for: it needs the ``serve`` extra).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

from eventstream._answer import AnswerItem, AnswerReader, AnswerText, NoAncestryError
from eventstream._errors import EventStreamError
from eventstream._events import Event
from eventstream._json import event_to_json, valid_text
from eventstream._record import Replay, replay
from eventstream._select import Selector
from eventstream._serialize import ReplayedError
from eventstream._stream import normalize
from eventstream._trace import stats_lines, trace_lines

__all__ = ["main", "timed_events"]

PROG = "eventstream"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.format_usage()}{self.prog}: error: {message}")


def _names(value: str) -> list[str]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        msg = "expected a comma-separated list of names"
        raise argparse.ArgumentTypeError(msg)
    return names


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Look at LangChain streams recorded with eventstream.record().",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    dump = commands.add_parser(
        "dump",
        help="print a recording as a readable trace",
        description="Print a recording's runs as an indented tree: starts and ends, "
        "tokens as text, tool calls, tool results, errors.",
    )
    dump.add_argument("path", metavar="PATH", help="a recording (JSON Lines)")
    for option, what in (
        ("--types", "only events of these types (start, token, tool_call_chunk, tool_call, …)"),
        ("--tags", "only events of runs with one of these tags"),
        ("--names", "only events of runs with these names (tool calls: the tool's name)"),
        ("--inside", "only the subtrees of runs with these names or tags"),
    ):
        dump.add_argument(option, type=_names, metavar="A,B", help=what)
    dump.add_argument("--json", action="store_true", help="print the events as JSON Lines instead")
    answer = dump.add_argument_group(
        "only the answer",
        "--answer prints only the agent's answer: by default the text of its model's final "
        "turns (--tags/--names say which model is the agent's); --tool/--field or --prefix "
        "pick the other two ways agents mark it.",
    )
    answer.add_argument("--answer", action="store_true", help="print only the agent's answer")
    answer.add_argument(
        "--tool", metavar="NAME", help="the answer is an argument of this tool's call"
    )
    answer.add_argument("--field", metavar="NAME", help="that argument's name (with --tool)")
    answer.add_argument(
        "--prefix", metavar="TEXT", help="the answer is the text after this (ReAct)"
    )
    dump.add_argument("--strict", action="store_true", help="stop at the first unreadable line")

    stats = commands.add_parser(
        "stats",
        help="print a table of a recording's runs",
        description="Print one row per run: name, type, duration, tokens, time to "
        "first token, tokens per second; then totals.",
    )
    stats.add_argument("path", metavar="PATH", help="a recording (JSON Lines)")
    stats.add_argument("--strict", action="store_true", help="stop at the first unreadable line")

    commands.add_parser(
        "demo",
        help="run the cat agent against a local server and show its live trace",
        add_help=False,
    )
    commands.add_parser(
        "serve",
        help="serve the demo agent over SSE, NDJSON and WebSocket, with a page",
        add_help=False,
    )
    return parser


def timed_events(recording: Replay) -> Iterator[tuple[float, Event]]:
    """``(offset, event)``: each normalized event with the recorded time offset of the
    raw item it came from (the events that end the stream get the last offset)."""
    for event in normalize(recording):
        yield recording.offset, event


def _write_lines(lines: Iterator[str] | list[str], out: TextIO) -> None:
    # Text from a recording may hold lone surrogates (record() keeps them): printed as
    # U+FFFD, as event_to_json writes them, so the output is always valid UTF-8.
    for line in lines:
        out.write(valid_text(line) + "\n")


class _NoAnswer(Exception):
    pass


def _answer_reader(args: argparse.Namespace) -> AnswerReader | None:
    if not (args.answer or args.tool or args.field or args.prefix):
        return None
    if args.types or args.inside:
        raise _UsageError(f"{PROG} dump: error: --answer selects by itself: drop --types/--inside")
    try:
        return AnswerReader(
            tool=args.tool, field=args.field, prefix=args.prefix, tags=args.tags, names=args.names
        )
    except ValueError as exc:
        raise _UsageError(f"{PROG} dump: error: {exc}") from exc


def _answer_items(recording: Replay, reader: AnswerReader) -> Iterator[AnswerItem]:
    for event in normalize(recording):
        yield from reader.feed(event)
    yield from reader.close()


def _dump_answer(recording: Replay, reader: AnswerReader, as_json: bool, out: TextIO) -> None:
    """Print the answer: the text of final turns, each turn's as soon as it ends (the
    default mode's turns are known final only then), or every item as JSON."""
    found = False
    turns: dict[str, list[str]] = {}
    for item in _answer_items(recording, reader):
        if as_json:
            line = json.dumps(dataclasses.asdict(item), ensure_ascii=False)
            out.write(valid_text(line) + "\n")  # lone surrogates as U+FFFD, as elsewhere
            found = found or (item.type == "answer_end" and item.final)
        elif isinstance(item, AnswerText):
            turns.setdefault(item.run_id, []).append(item.text)
        else:
            text = "".join(turns.pop(item.run_id, ()))
            if item.final:
                out.write(valid_text(text) + "\n")
                found = True
            elif item.error is not None:
                sys.stderr.write(f"{PROG}: turn {item.turn} gave no answer: {item.error}\n")
    if not found:
        raise _NoAnswer(f"no answer in {recording.path}")


def _dump(args: argparse.Namespace, out: TextIO) -> Replay:
    types = args.types
    answer = _answer_reader(args)
    if answer is not None:
        recording = replay(args.path, strict=args.strict)
        _dump_answer(recording, answer, args.json, out)
        return recording
    try:
        selector = (
            Selector(types=types, tags=args.tags, names=args.names, inside=args.inside)
            if types or args.tags or args.names or args.inside
            else None
        )
    except ValueError as exc:
        raise _UsageError(f"{PROG} dump: error: {exc}") from exc
    recording = replay(args.path, strict=args.strict)
    entries = timed_events(recording)
    if args.json:
        for _, event in entries:
            if selector is None or selector.accepts(event):
                out.write(event_to_json(event) + "\n")
    else:
        header = recording.header
        title = (
            f"# {recording.path}: {header.get('source')} recorded {header.get('created')}"
            f" with langchain-core {header.get('langchain_core')}"
        )
        _write_lines([title], out)
        show_chunks = bool(types) and "tool_call_chunk" in types
        _write_lines(trace_lines(entries, selector=selector, show_chunks=show_chunks), out)
    return recording


def _stats(args: argparse.Namespace, out: TextIO) -> Replay:
    recording = replay(args.path, strict=args.strict)
    entries: list[tuple[float, Event]] = []
    try:
        entries.extend(timed_events(recording))
    finally:
        # A stream recorded as raising (or cut short) still has runs worth counting.
        _write_lines(stats_lines(entries), out)
    return recording


def _demo(argv: Sequence[str]) -> int:
    try:
        demo = importlib.import_module("eventstream._demo")
    except ModuleNotFoundError as exc:
        if exc.name != "eventstream._demo":
            raise
        sys.stderr.write(f"{PROG} demo: not available in this installation ({exc})\n")
        return 1
    result = demo.main(list(argv))
    return int(result or 0)


def _serve(argv: Sequence[str]) -> int:
    from eventstream import _serve

    parser = argparse.ArgumentParser(prog=f"{PROG} serve", description=_serve.__doc__)
    _serve.add_arguments(parser)
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return _serve.main(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 bad file, 2 usage)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["demo"]:
        return _demo(args_list[1:])
    if args_list[:1] == ["serve"]:
        return _serve(args_list[1:])
    out = sys.stdout
    try:
        args = _parser().parse_args(args_list)
        recording = _dump(args, out) if args.command == "dump" else _stats(args, out)
    except _UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except ReplayedError as exc:
        out.flush()
        sys.stderr.write(
            f"{PROG}: the recorded stream raised {type(exc).__name__}: {exc} "
            "(recorded: the trace above ends where it did)\n"
        )
        return 0
    except _NoAnswer as exc:
        out.flush()
        sys.stderr.write(
            f"{PROG}: {exc} (the default looks for a final turn of the agent's model; "
            "an agent that answers through a tool needs --tool and --field, a ReAct agent "
            "--prefix)\n"
        )
        return 1
    except NoAncestryError as exc:
        out.flush()
        sys.stderr.write(f"{PROG}: error: {exc} (here: --tags or --names)\n")
        return 1
    except BrokenPipeError:  # `eventstream dump x | head`
        _silence_stdout()
        return 0
    except (EventStreamError, OSError) as exc:
        out.flush()
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return 1
    if recording.skipped or recording.retimed:
        problems = []
        if recording.skipped:
            problems.append(f"skipped {recording.skipped} unreadable line(s)")
        if recording.retimed:
            problems.append(
                f"{recording.retimed} line(s) with an unusable time offset, "
                "shown at the offset of the line before"
            )
        first = recording.errors[0] if recording.errors else None
        sys.stderr.write(
            f"{PROG}: error: {' and '.join(problems)} of {recording.path}"
            + (f"; the first: {first}" if first else "")
            + "\n"
        )
        return 1
    return 0


def _silence_stdout() -> None:
    # Python flushes stdout at exit; to a closed pipe that fails again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    raise SystemExit(main())
