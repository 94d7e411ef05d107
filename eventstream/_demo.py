"""``eventstream demo``: the cat agent on ChatOpenAI, printed live as it streams.

By default the models are ``ChatOpenAI`` speaking HTTP to the test kit's local
OpenAI-compatible server (scripted answers, no API key, no network), paced so the
stream is visible. ``--live`` runs against the real OpenAI API instead (it needs
``OPENAI_API_KEY``). ``--record PATH`` also records the raw stream for ``eventstream
dump``. The printer shows what a UI would: the agent's answer as it streams, each tool
call with its arguments, the tokens of the LLMs running inside each tool (labelled with
the tool, never mixed into the answer), and each result.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterable, Callable
from typing import Any, TextIO

from eventstream._ancestry import Ancestry
from eventstream._events import End, Event, Start, Token, ToolCall, ToolResult
from eventstream._stream import normalize

__all__ = ["LivePrinter", "main"]

PROG = "eventstream demo"


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
        parent = self._ancestry.see(event).parent
        enclosing = parent.tool if parent is not None else None  # the tool it runs inside
        tool = enclosing.name if enclosing is not None else None
        if isinstance(event, Start):
            if event.run_type == "tool":
                self._line(f"  ┌ {event.name} started (call {event.tool_call_id})")
        elif isinstance(event, Token) and event.kind == "text":
            if tool is not None:
                label, partial = self._pending.get(event.run_id, (f"{tool} · {event.name}", ""))
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--record", metavar="PATH", help="also record the raw stream here")
    parser.add_argument(
        "--live", action="store_true", help="use the real OpenAI API (needs OPENAI_API_KEY)"
    )
    parser.add_argument("--model", default="gpt-4o-mini", help="OpenAI model for --live")
    parser.add_argument(
        "--delay",
        type=float,
        default=0.02,
        help="seconds between the local server's chunks (default 0.02; 0 for no pacing)",
    )
    return parser


async def _run(
    make_agent: Callable[[], Any], record_path: str | None, printer: LivePrinter
) -> None:
    from eventstream.testing import CAT_QUESTION

    agent = make_agent()
    raw: AsyncIterable[Any] = agent.astream_events(
        {"messages": [("user", CAT_QUESTION)]}, version="v2"
    )
    if record_path:
        from eventstream._record import record

        raw = record(raw, record_path)
    printer.out.write(f"question: {CAT_QUESTION}\n")
    try:
        async for event in normalize(raw):
            printer(event)
    finally:
        printer.finish()


def main(argv: list[str] | None = None) -> int:
    """Run the demo; 0 on success, 1 when the run fails, 2 for bad usage."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    printer = LivePrinter(sys.stdout)
    try:
        if args.live:
            if not os.environ.get("OPENAI_API_KEY"):
                sys.stderr.write(f"{PROG}: --live needs OPENAI_API_KEY in the environment\n")
                return 2
            from langchain_openai import ChatOpenAI

            from eventstream.testing import build_cat_agent

            asyncio.run(
                _run(
                    lambda: build_cat_agent(lambda role: ChatOpenAI(model=args.model)),
                    args.record,
                    printer,
                )
            )
        else:
            from eventstream.testing import CAT_SCRIPTS, OpenAIServer, openai_cat_agent

            with OpenAIServer(CAT_SCRIPTS, delay=max(args.delay, 0.0)) as server:
                asyncio.run(_run(lambda: openai_cat_agent(server), args.record, printer))
    except KeyboardInterrupt:
        return 130
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
