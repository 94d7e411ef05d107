"""The ``eventstream`` command: look at recorded streams, watch an agent stream.

    eventstream dump PATH [--types T,..] [--tags T,..] [--names N,..] [--inside X,..] [--json]
    eventstream dump PATH --answer [--tool NAME --field NAME | --prefix TEXT] [--tags ..] [--json]
    eventstream stats PATH
    eventstream demo [--agent cat|math] [--record PATH] [--delay S] [--live]
    eventstream serve [--host H] [--port P]
    eventstream --version

``dump`` prints a recording's normalized events as a readable trace (or, with
``--json``, as JSON Lines); ``dump --answer`` prints only the agent's answer (see
:func:`eventstream.answer`: the final turns' text, the ``--tool``'s ``--field``, or the
text after ``--prefix``; ``--json`` prints the answer items, every turn's); ``stats``
prints a table of its runs. Both replay the file without pacing, and read a headerless
JSON Lines file of raw stream items too (``eventstream._raw``: no timings). Exit codes:
0 done; 1 the file could not be read (missing, not a recording, unreadable lines: what
could be read is still printed), or ``--answer`` found no answer; 2 a usage error.
Messages go to stderr. ``demo`` is implemented in ``eventstream._demo``, ``serve`` in
``eventstream._serve`` (imported only when asked for: it needs the ``serve`` extra).
The help text is plain text written for users, here, not these docstrings.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

from eventstream import __version__
from eventstream._errors import EventStreamError, NoAncestryError, RecordingError
from eventstream._extras import install_hint

# What the commands run on is imported when a command runs: --help, --version and usage
# errors need none of it (nor LangChain, which it imports).
if TYPE_CHECKING:
    from typing import TypeAlias

    from eventstream._answer import AnswerItem, AnswerReader
    from eventstream._events import Event
    from eventstream._raw import RawItems
    from eventstream._record import Replay
    from eventstream._select import Selector

    Recording: TypeAlias = Replay | RawItems
    """What ``dump`` and ``stats`` read: a recording, or a file of raw stream items."""

__all__ = ["main", "timed_events"]

PROG = "eventstream"

DESCRIPTION = """\
LangChain's streaming output as one small, typed event stream: look at recorded
streams, or watch an agent stream live.

commands:
  dump      print a recording as a tree of runs (or only the agent's answer)
  stats     print a table of a recording's runs
  demo      run a scripted agent on ChatOpenAI and print what it streams, live
  serve     serve the demo agent over HTTP (SSE, NDJSON, WebSocket, AG-UI, AI SDK)"""

EXAMPLES = """\
examples:
  eventstream demo                              a scripted agent, streamed live
  eventstream demo --record run.jsonl           ... and recorded
  eventstream dump run.jsonl                    the recording as a tree of runs
  eventstream dump run.jsonl --inside get_items only what ran inside that tool
  eventstream dump run.jsonl --answer           only the agent's answer
  eventstream stats run.jsonl                   a table of its runs
  eventstream serve                             the demo agent over HTTP, with a page

Record a run from Python with eventstream.record(agent.astream_events(...), "run.jsonl").
"eventstream COMMAND --help" says more about each command."""

DUMP_DESCRIPTION = """\
Print a recorded stream as a tree of runs: starts and ends with durations, tokens as
text, tool calls with their arguments, tool results, errors. Options select what is
printed, as eventstream.select() does (each takes a comma-separated list).

PATH is a recording (made by eventstream.record() or "eventstream demo --record"), or
a JSON Lines file of raw stream items without a header: astream_events dicts, astream_log
patches, LangGraph stream-mode items, astream_events v3 events, raw OpenAI chunks, or what
LangServe's /stream_events and /stream_log send (saved as JSON lines or as the SSE text).
Raw items have no timings, and replay less exactly than a recording."""

DUMP_EXAMPLES = """\
examples:
  eventstream dump run.jsonl
  eventstream dump run.jsonl --types token --tags agent_llm
  eventstream dump run.jsonl --inside get_items
  eventstream dump run.jsonl --json | head
  eventstream dump run.jsonl --answer --tool final_answer --field answer"""

STATS_DESCRIPTION = """\
Print one row per run of a recorded stream: its name, type, duration, tokens, time to
first token and tokens per second; then the totals. PATH is read as for "dump"."""

STATS_EXAMPLES = """\
example:
  eventstream stats run.jsonl"""

SERVE_DESCRIPTION = """\
Serve the demo agent (the cat agent on ChatOpenAI against a local server that plays
scripted answers: no API key, no network) until interrupted. Open the page at / to ask
it; clients use:

  POST /runs {"input": "..."}        start a run: {"run_id": "..."}
  GET  /runs/ID/events               the run's events as Server-Sent Events
                                     (?types=token&tags=agent_llm selects; resumes
                                     with Last-Event-ID)
  GET  /runs/ID/events.ndjson        the same as NDJSON
  WS   /runs/ID/ws                   the same over a WebSocket
  POST /agui                         AG-UI (HttpAgent, CopilotKit)
  POST /api/chat                     the AI SDK's useChat

Needs FastAPI and uvicorn: pip install "eventstream[serve]"."""

SERVE_EXAMPLES = """\
examples:
  eventstream serve
  eventstream serve --port 8080 --delay 0
  curl -N 'localhost:8000/runs/RUN_ID/events?types=token'"""


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
    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG,
        usage=f"{PROG} [-h] [--version] COMMAND ...",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=raw,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"{PROG} {__version__}",
        help="print the version and exit",
    )
    # Listed in DESCRIPTION: argparse's own listing adds a line of its own.
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser, help=argparse.SUPPRESS, prog=PROG
    )
    commands.required = True

    dump = commands.add_parser(
        "dump",
        help="print a recording as a tree of runs (or only the agent's answer)",
        description=DUMP_DESCRIPTION,
        epilog=DUMP_EXAMPLES,
        formatter_class=raw,
    )
    dump.add_argument("path", metavar="PATH", help="a recording, or raw items as JSON Lines")
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
        "--answer prints only the agent's answer: by default the text of its model's\n"
        "final turns (--tags/--names say which model is the agent's); --tool/--field or\n"
        "--prefix pick the other two ways agents mark it.",
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
        description=STATS_DESCRIPTION,
        epilog=STATS_EXAMPLES,
        formatter_class=raw,
    )
    stats.add_argument("path", metavar="PATH", help="a recording, or raw items as JSON Lines")
    stats.add_argument("--strict", action="store_true", help="stop at the first unreadable line")

    # Parsed by their own modules (main() hands them their arguments): listed here for
    # the help.
    commands.add_parser(
        "demo",
        help="run a scripted agent on ChatOpenAI and print what it streams, live",
        add_help=False,
    )
    commands.add_parser(
        "serve",
        help="serve the demo agent over HTTP (SSE, NDJSON, WebSocket, AG-UI, AI SDK)",
        add_help=False,
    )
    return parser


def _open(path: str, strict: bool) -> Recording:
    """The recording at ``path``, or its raw items when it holds raw items (said on
    stderr: they replay less exactly)."""
    from eventstream._raw import RAW_NOTE, RawItems, raw_form
    from eventstream._record import replay

    form = raw_form(path)
    if form is not None:
        raw = RawItems(path, form, strict=strict)
        sys.stderr.write(f"{PROG}: {raw.path}: {RAW_NOTE}\n")
        return raw
    try:
        return replay(path, strict=strict)
    except RecordingError as exc:
        if exc.line == 1 and "not an eventstream recording" in str(exc):
            msg = (
                "not an eventstream recording, nor JSON Lines of raw stream items; "
                'make a recording with eventstream.record(agent.astream_events(...), "run.jsonl") '
                "in Python, or with: eventstream demo --record run.jsonl"
            )
            raise RecordingError(msg, path=exc.path, line=1) from exc
        raise


def timed_events(recording: Replay | RawItems) -> Iterator[tuple[float, Event]]:
    """``(offset, event)``: each normalized event with the recorded time offset of the
    raw item it came from (the events that end the stream get the last offset)."""
    from eventstream._stream import normalize

    for event in normalize(recording):
        yield recording.offset, event


def _write_lines(lines: Iterator[str] | list[str], out: TextIO) -> None:
    # Text from a recording may hold lone surrogates (record() keeps them): printed as
    # U+FFFD, as event_to_json writes them, so the output is always valid UTF-8.
    from eventstream._json import valid_text

    for line in lines:
        out.write(valid_text(line) + "\n")


class _NoAnswer(Exception):
    pass


def _answer_reader(args: argparse.Namespace) -> AnswerReader | None:
    from eventstream._answer import AnswerReader

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


def _answer_items(recording: Recording, reader: AnswerReader) -> Iterator[AnswerItem]:
    from eventstream._stream import normalize

    for event in normalize(recording):
        yield from reader.feed(event)
    yield from reader.close()


def _dump_answer(recording: Recording, reader: AnswerReader, as_json: bool, out: TextIO) -> None:
    """Print the answer: the text of final turns, each turn's as soon as it ends (the
    default mode's turns are known final only then), or every item as JSON."""
    from eventstream._answer import AnswerText
    from eventstream._json import valid_text

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


def _dump(args: argparse.Namespace, out: TextIO) -> Recording:
    from eventstream._json import event_to_json
    from eventstream._raw import RawItems
    from eventstream._select import Selector
    from eventstream._trace import trace_lines

    types = args.types
    answer = _answer_reader(args)
    if answer is not None:
        recording = _open(args.path, args.strict)
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
    recording = _open(args.path, args.strict)
    seen = _Seen(selector)
    entries = seen.count(timed_events(recording))
    if args.json:
        for _, event in entries:
            if selector is None or selector.accepts(event):
                out.write(event_to_json(event) + "\n")
    else:
        header = recording.header
        if isinstance(recording, RawItems):
            kind = recording.format() or "unrecognised"
            title = f"# {recording.path}: {header.get('source')}, raw items read as {kind}"
        else:
            title = (
                f"# {recording.path}: {header.get('source')} recorded {header.get('created')}"
                f" with langchain-core {header.get('langchain_core')}"
            )
        _write_lines([title], out)
        show_chunks = bool(types) and "tool_call_chunk" in types
        timed = not isinstance(recording, RawItems)
        _write_lines(
            trace_lines(entries, selector=selector, show_chunks=show_chunks, timed=timed), out
        )
    seen.report(args)
    return recording


class _Seen:
    """Counts what a selection matched, and what there was to match, to say so when it
    matched nothing."""

    def __init__(self, selector: Selector | None) -> None:
        self.selector = selector
        self.matched = 0
        self.names: dict[str, None] = {}
        self.tags: dict[str, None] = {}

    def count(self, entries: Iterator[tuple[float, Event]]) -> Iterator[tuple[float, Event]]:
        if self.selector is None:
            yield from entries
            return
        accepts = self.selector.matcher()
        for offset, event in entries:
            if accepts(event):
                self.matched += 1
            self.names.setdefault(event.name)
            # LangChain's own step tags (seq:step:1, graph:step:2) say nothing to select by.
            self.tags.update(dict.fromkeys(t for t in event.tags if ":step:" not in t))
            yield offset, event

    def report(self, args: argparse.Namespace) -> None:
        if self.selector is None or self.matched:
            return
        asked = " ".join(
            f"--{option} {','.join(getattr(args, option))}"
            for option in ("types", "tags", "names", "inside")
            if getattr(args, option)
        )
        sys.stderr.write(
            f"{PROG}: nothing matched {asked}; runs here are named "
            f"{_listing(self.names)} and tagged {_listing(self.tags)}\n"
        )


def _listing(values: dict[str, None], most: int = 12) -> str:
    names = list(values)
    if not names:
        return "(none)"
    shown = ", ".join(names[:most])
    return shown + (f" … ({len(names) - most} more)" if len(names) > most else "")


def _stats(args: argparse.Namespace, out: TextIO) -> Recording:
    from eventstream._raw import RawItems
    from eventstream._trace import stats_lines

    recording = _open(args.path, args.strict)
    entries: list[tuple[float, Event]] = []
    try:
        entries.extend(timed_events(recording))
    finally:
        # A stream recorded as raising (or cut short) still has runs worth counting.
        timed = not isinstance(recording, RawItems)
        _write_lines(stats_lines(entries, timed=timed), out)
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


_SERVE_NEEDS = ("fastapi", "uvicorn", "langchain", "langchain_openai")
"""What ``eventstream serve`` imports to serve the demo agent (the ``serve`` extra)."""


def _serve(argv: Sequence[str]) -> int:
    from eventstream import _serve

    parser = argparse.ArgumentParser(
        prog=f"{PROG} serve",
        description=SERVE_DESCRIPTION,
        epilog=SERVE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _serve.add_arguments(parser)
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    absent = [name for name in _SERVE_NEEDS if importlib.util.find_spec(name) is None]
    if absent:
        needs = "FastAPI, uvicorn, LangChain and langchain-openai"
        hint = install_hint(f"{PROG} serve", needs, "serve")
        sys.stderr.write(f"{hint} (missing: {', '.join(absent).replace('_', '-')})\n")
        return 2
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
    except _UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    from eventstream._serialize import ReplayedError

    try:
        recording = _dump(args, out) if args.command == "dump" else _stats(args, out)
    except _UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
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
