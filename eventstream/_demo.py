"""``eventstream demo``: an agent on ChatOpenAI, printed live as it streams.

By default the models are ``ChatOpenAI`` speaking HTTP to the test kit's local
OpenAI-compatible server (scripted answers, no API key, no network), paced so the
stream is visible. ``--live`` runs against the real OpenAI API instead (it needs
``OPENAI_API_KEY``). ``--record PATH`` also records the raw stream for ``eventstream
dump``. The printer shows what a UI would: the agent's answer as it streams, each tool
call with its arguments, the tokens of the LLMs running inside each tool (labelled with
the tool, never mixed into the answer), and each result.

``--agent math`` runs the math agent instead: it answers by calling a
``final_answer`` tool, and :class:`AnswerPrinter` streams the ``answer`` argument out of
that call's JSON fragments as they arrive (``eventstream.answer``'s tool mode, through
its sans-IO :class:`~eventstream.AnswerReader`), then the other arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
from collections.abc import AsyncIterable, Callable
from typing import Any, TextIO

from eventstream._ancestry import Ancestry
from eventstream._answer import AnswerEnd, AnswerReader, AnswerText
from eventstream._events import End, Event, Start, Token, ToolCall, ToolResult
from eventstream._extras import install_hint
from eventstream._stream import normalize

__all__ = ["AnswerPrinter", "LivePrinter", "check_record_path", "main", "seconds"]

PROG = "eventstream demo"

DESCRIPTION = """\
Run an agent and print what a UI would show, as it streams: the answer, each tool call
with its arguments, the text of the LLMs running inside each tool (labelled with the
tool), each result. The models are ChatOpenAI talking to a local OpenAI-compatible
server that plays scripted answers: no API key, no network, and the same answer to any
question. --live uses the real OpenAI API instead.

agents:
  cat    (default) finds the cat; its tools run LLMs of their own
  math   adds two numbers, and answers through a final_answer tool whose "answer"
         argument streams out of the call's fragments"""

EXAMPLES = """\
examples:
  eventstream demo
  eventstream demo --agent math
  eventstream demo --source modes
  eventstream demo --record run.jsonl && eventstream dump run.jsonl
  OPENAI_API_KEY=sk-... eventstream demo --live

Needs LangChain and langchain-openai: pip install "eventstream[demo]"."""

INSTALL_HINT = install_hint(PROG, "LangChain and langchain-openai", "demo")
_DEMO_PACKAGES = frozenset({"langchain", "langchain_openai", "langgraph", "openai"})


def seconds(value: str) -> float:
    """An argparse type: a number of seconds, 0 or more."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number >= 0):
        msg = f"expected a number of seconds, 0 or more; got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def check_record_path(path: str) -> str | None:
    """Why a recording cannot be written to ``path`` (``None`` when it can), said before
    the run starts rather than as a traceback after it."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return f"cannot record to {path}: it is a folder; give a file name inside it"
    if not os.path.isdir(folder):
        where = os.path.dirname(path) or folder
        return f"cannot record to {path}: the folder {where} does not exist (create it first)"
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        return f"cannot record to {path}: not allowed to write there"
    return None


class LivePrinter:
    """Prints normalized events as a live, readable transcript (tokens inline).

    The agent's tokens (runs inside no tool) are the answer and print as they come.
    Tokens of a run inside a tool print line by line, labelled with that tool, so the
    text of parallel tools stays readable while it interleaves.
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._ancestry = Ancestry()
        self._streaming: str | None = None  # run id whose tokens are being printed
        self._pending: dict[str, tuple[str, str]] = {}  # run id -> (label, partial line)

    def _line(self, text: str) -> None:
        if self._streaming is not None:
            self.out.write("\n")
            self._streaming = None
        self.out.write(text + "\n")

    def __call__(self, event: Event) -> None:
        info = self._ancestry.see(event)
        parent = info.parent
        enclosing = parent.tool if parent is not None else None  # the tool it runs inside
        tool = enclosing.name if enclosing is not None else None
        if tool is None and not self._ancestry.has_ancestry and info.depth > 0:
            # No parent ids (astream_events v1, astream_log): the agent's model is the
            # one tagged agent_llm; any other model's text is labelled by its name only.
            tool = None if "agent_llm" in event.tags else "?"
        if isinstance(event, Start):
            if event.run_type == "tool":
                self._line(f"  ┌ {event.name} started (call {event.tool_call_id})")
        elif isinstance(event, Token) and event.kind == "text":
            if tool is not None:
                label = event.name if tool == "?" else f"{tool} · {event.name}"
                label, partial = self._pending.get(event.run_id, (label, ""))
                *lines, partial = (partial + event.text).split("\n")
                for line in lines:
                    self._line(f"  │ {label}: {line}")
                self._pending[event.run_id] = (label, partial)
            else:
                if self._streaming != event.run_id:
                    self._line_start("answer: ")
                    self._streaming = event.run_id
                self.out.write(event.text)
        elif isinstance(event, ToolCall):
            self._line(f"→ {event.name}({event.args_text or '{}'})  [{event.tool_call_id}]")
        elif isinstance(event, ToolResult):
            shown = str(event.output).replace("\n", " ")
            shown = shown if len(shown) <= 70 else shown[:69] + "…"
            status = f"error: {event.error}" if event.error else repr(shown)
            self._line(f"  └ {event.name} → {status}")
        elif isinstance(event, End):
            label, partial = self._pending.pop(event.run_id, ("", ""))
            if partial:
                self._line(f"  │ {label}: {partial}")
            if event.error and not event.parent_ids:
                self._line(f"✗ {event.name} failed: {event.error}")
        self.out.flush()

    def _line_start(self, label: str) -> None:
        if self._streaming is not None:
            self.out.write("\n")
        self.out.write(label)

    def finish(self) -> None:
        if self._streaming is not None:
            self.out.write("\n")
            self._streaming = None
        self.out.flush()


class AnswerPrinter:
    """Prints the view of an agent that answers through a tool: the agent's own
    words, its tool calls and results, and the answer tool's ``field`` streamed out of
    the call's argument fragments as they arrive, then the call's other arguments.
    """

    def __init__(self, out: TextIO, tool: str = "final_answer", field: str = "answer") -> None:
        self.out = out
        self.tool = tool
        self._words = AnswerReader()  # the agent's own text, turn by turn
        self._answer = AnswerReader(tool=tool, field=field)
        self._field = field
        self._open: str | None = None  # the label of the line being written

    def _write(self, label: str, text: str) -> None:
        if self._open != label:
            if self._open is not None:
                self.out.write("\n")
            self.out.write(f"{label}: ")
            self._open = label
        self.out.write(text)

    def _line(self, text: str) -> None:
        if self._open is not None:
            self.out.write("\n")
            self._open = None
        self.out.write(text + "\n")

    def __call__(self, event: Event) -> None:
        for item in self._words.feed(event):
            if isinstance(item, AnswerText):
                self._write("agent", item.text)
        for answer in self._answer.feed(event):
            if isinstance(answer, AnswerText):
                self._write("answer", answer.text)
            elif isinstance(answer, AnswerEnd):
                self._end(answer)
        if isinstance(event, ToolCall) and event.name != self.tool:
            self._line(f"→ {event.name}({event.args_text or '{}'})  [{event.tool_call_id}]")
        elif isinstance(event, ToolResult) and event.name != self.tool:
            status = f"error: {event.error}" if event.error else repr(str(event.output))
            self._line(f"  └ {event.name} → {status}")
        elif isinstance(event, End) and event.error and not event.parent_ids:
            self._line(f"✗ {event.name} failed: {event.error}")
        self.out.flush()

    def _end(self, end: AnswerEnd) -> None:
        if end.error is not None:
            self._line(f"✗ the answer could not be read: {end.error}")
            return
        others = {k: v for k, v in end.args.items() if k != self._field}
        for key, value in others.items():
            self._line(f"{key}: {value}")

    def finish(self) -> None:
        if self._open is not None:
            self.out.write("\n")
            self._open = None
        self.out.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--agent", choices=("cat", "math"), default="cat", help="which agent (default cat)"
    )
    parser.add_argument(
        "--record",
        metavar="PATH",
        help="also record the raw stream to this file, for eventstream dump",
    )
    parser.add_argument(
        "--source",
        choices=("v2", "modes", "v3", "v1", "log", "callbacks"),
        default="v2",
        help="how the agent streams: v2 (astream_events v2, default), modes (LangGraph's "
        "stream modes, eventstream.STREAM_MODES), v3 (astream_events v3), v1, log "
        "(astream_log), callbacks (ainvoke with a CallbackSource); the same picture from "
        "each",
    )
    parser.add_argument(
        "--delay",
        type=seconds,
        default=0.02,
        metavar="SECONDS",
        help="pause between the local server's chunks (default 0.02; 0: no pause)",
    )
    parser.add_argument(
        "--live", action="store_true", help="use the real OpenAI API (needs OPENAI_API_KEY)"
    )
    parser.add_argument(
        "--model", default="gpt-4o-mini", help="the OpenAI model for --live (default gpt-4o-mini)"
    )
    return parser


async def _run(
    make_agent: Callable[[], Any],
    record_path: str | None,
    printer: LivePrinter | AnswerPrinter,
    question: str,
    source: str = "v2",
) -> None:
    from eventstream.testing import source_stream

    agent = make_agent()
    raw: AsyncIterable[Any] = source_stream(agent, {"messages": [("user", question)]}, source)
    if record_path:
        from eventstream._record import record

        raw = record(raw, record_path)
    printer.out.write(f"question: {question}\n")
    try:
        async for event in normalize(raw):
            printer(event)
    finally:
        printer.finish()


def main(argv: list[str] | None = None) -> int:
    """Run the demo; 0 on success, 1 when the run fails, 2 for bad usage."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    if args.record:
        problem = check_record_path(args.record)
        if problem is not None:
            parser.print_usage(sys.stderr)
            sys.stderr.write(f"{PROG}: error: {problem}\n")
            return 2
    from eventstream import testing

    printer: LivePrinter | AnswerPrinter
    if args.agent == "math":
        printer = AnswerPrinter(sys.stdout)
        build, scripts, question = (
            testing.build_math_agent,
            testing.MATH_SCRIPTS,
            testing.MATH_QUESTION,
        )
    else:
        printer = LivePrinter(sys.stdout)
        build, scripts, question = (
            testing.build_cat_agent,
            testing.CAT_SCRIPTS,
            testing.CAT_QUESTION,
        )
    try:
        if args.live:
            if not os.environ.get("OPENAI_API_KEY"):
                sys.stderr.write(f"{PROG}: --live needs OPENAI_API_KEY in the environment\n")
                return 2
            from langchain_openai import ChatOpenAI

            asyncio.run(
                _run(
                    lambda: build(lambda role: ChatOpenAI(model=args.model)),
                    args.record,
                    printer,
                    question,
                    args.source,
                )
            )
        else:
            with testing.OpenAIServer(scripts, delay=args.delay) as server:
                asyncio.run(
                    _run(
                        lambda: build(lambda role: testing.chat_model(server, role)),
                        args.record,
                        printer,
                        question,
                        args.source,
                    )
                )
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        package = (exc.name or "").partition(".")[0]
        if package not in _DEMO_PACKAGES:
            raise
        printer.finish()
        sys.stderr.write(f"{INSTALL_HINT} (missing: {package.replace('_', '-')})\n")
        return 1
    except Exception as exc:
        printer.finish()
        sys.stderr.write(f"{PROG}: the run failed: {type(exc).__name__}: {exc}\n")
        return 1
    if args.record:
        sys.stderr.write(
            f"recorded to {args.record}: see it with `eventstream dump {args.record}`\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
