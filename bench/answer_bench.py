"""B9: streaming the ``answer`` field out of a ``final_answer`` call's JSON fragments.

    python bench/answer_bench.py            # the issue's sizes, re-parse up to 100,000 chars
    python bench/answer_bench.py --quick    # re-parse up to 10,000 chars only

The arguments are ``{"answer": <prose>, "tools_used": [...]}`` as ``json.dumps`` writes
them (non-ASCII as it is, as models write it; a second figure escapes it all, as
``ensure_ascii`` does), the prose generated once: words with a newline, a quoted word, an
accented word, a dash or an emoji now and then (escapes in about 1 fragment in 20). The
text is cut into fragments of 5 characters (100,000 characters: 20,000 fragments).

- B9: :class:`eventstream.FieldStreamer` fed every fragment (each result kept), against
  only concatenating the fragments (``buf += fragment``). Goal ≤ 3×.
- B9b: B9's time per fragment at 1,000 and at 100,000 characters. Goal: flat (≤ 1.3×).
- B9c: what re-parsing the whole text so far at every fragment costs instead
  (``pydantic_core.from_json(text, allow_partial="trailing-strings")``, what
  ``partial_tool_calls`` does), at 1,000 / 10,000 / 100,000 characters, against B9's
  streamer at the same sizes.
- B9d: the whole path, ``answer(normalize(list), tool=..., field=...)`` over the raw
  ``astream_events`` v2 items of a real agent run (the math agent on
  ``ScriptedChatModel``, its ``final_answer`` in 20,000 fragments; 2,000 with
  ``--quick``), against ``normalize(list)`` concatenating the fragments' ``args_delta``.

Contenders alternate run by run; figures are medians. Nothing here asserts speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Row, alternate
from pydantic_core import from_json

from eventstream import FieldStreamer, answer, normalize
from eventstream.testing import (
    MATH_QUESTION,
    MATH_SCRIPTS,
    ScriptedChatModel,
    Step,
    ToolCallPiece,
    build_math_agent,
)

FRAGMENT = 5  # characters per fragment: 100,000 characters in 20,000 fragments
SIZES = (1_000, 10_000, 100_000)
MIN_SECONDS = 0.05  # each timing repeats its pass until it lasts this long

_WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "warm",
    "windowsill",
    "and",
    "watched",
    "the",
    "rain",
    "while",
    "the",
    "kettle",
    "sang",
    "somewhere",
    "in",
    "the",
    "kitchen",
    "because",
    "afternoons",
    "are",
    "long",
    "and",
    "naps",
    "are",
    "short",
]
_RARE = ['"quoted"', "café", "naïve", "—", "🐈", "😀", "line\n", "para\n\n", "tab\t"]


def prose(length: int, seed: int = 9) -> str:
    """Deterministic prose of exactly ``length`` characters."""
    rng = random.Random(seed)
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(_RARE) if rng.random() < 0.04 else rng.choice(_WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:length]


def arguments(length: int, ensure_ascii: bool = False) -> tuple[str, str]:
    """``(answer, the arguments' JSON text)`` for an answer of ``length`` characters."""
    text = prose(length)
    return text, json.dumps({"answer": text, "tools_used": ["add"]}, ensure_ascii=ensure_ascii)


def fragments(text: str, size: int = FRAGMENT) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def concatenate(parts: list[str]) -> str:
    buf = ""
    for part in parts:
        buf += part
    return buf


def stream_field(parts: list[str]) -> list[str]:
    streamer = FieldStreamer("answer")
    feed = streamer.feed
    out = []
    for part in parts:
        text = feed(part)
        if text:
            out.append(text)
    return out


def reparse(parts: list[str]) -> Any:
    buf = ""
    value: Any = None
    for part in parts:
        buf += part
        value = from_json(buf, allow_partial="trailing-strings")
    return value


def _repeated(run: Callable[[], object], repeat: int) -> Callable[[], None]:
    def many() -> None:
        for _ in range(repeat):
            run()

    return many


def _calibrated(run: Callable[[], object]) -> tuple[Callable[[], None], int]:
    start = time.perf_counter()
    run()
    once = time.perf_counter() - start
    repeat = max(1, round(MIN_SECONDS / max(once, 1e-9)))
    return _repeated(run, repeat), repeat


def streaming_figures(quick: bool) -> dict[str, Any]:
    """Seconds per pass of each contender at each size (medians, alternating)."""
    rounds = 7 if quick else 21
    contenders: dict[str, Callable[[], object]] = {}
    repeats: dict[str, int] = {}
    counts: dict[str, int] = {}
    for length in SIZES:
        expected, text = arguments(length)
        parts = fragments(text)
        assert "".join(stream_field(parts)) == expected
        counts[f"ours {length}"] = counts[f"concat {length}"] = len(parts)
        for name, run in (
            (f"ours {length}", lambda parts=parts: stream_field(parts)),
            (f"concat {length}", lambda parts=parts: concatenate(parts)),
        ):
            contenders[name], repeats[name] = _calibrated(run)
    expected, escaped = arguments(SIZES[-1], ensure_ascii=True)
    escaped_parts = fragments(escaped)
    assert "".join(stream_field(escaped_parts)) == expected
    for name, run in (
        ("ours escaped", lambda: stream_field(escaped_parts)),
        ("concat escaped", lambda: concatenate(escaped_parts)),
    ):
        contenders[name], repeats[name] = _calibrated(run)
        counts[name] = len(escaped_parts)
    times = alternate(contenders, rounds=rounds)
    per_fragment = {name: times[name] / repeats[name] / counts[name] for name in contenders}

    reparse_sizes = SIZES[:2] if quick else SIZES
    reparse_times: dict[int, float] = {}
    for length in reparse_sizes:
        _, text = arguments(length)
        parts = fragments(text)
        samples = []
        for _ in range(1 if length >= 100_000 else 3):
            start = time.perf_counter()
            reparse(parts)
            samples.append(time.perf_counter() - start)
        reparse_times[length] = statistics.median(samples)
    return {
        "per_fragment": per_fragment,
        "seconds": {name: times[name] / repeats[name] for name in contenders},
        "counts": counts,
        "reparse": reparse_times,
        "rounds": rounds,
    }


def b9_field(quick: bool) -> list[Row]:
    """B9, B9b and B9c from one alternating run."""
    found = streaming_figures(quick)
    per, seconds, counts = found["per_fragment"], found["seconds"], found["counts"]
    big, small = SIZES[-1], SIZES[0]
    ratio = seconds[f"ours {big}"] / seconds[f"concat {big}"]
    escaped = seconds["ours escaped"] / seconds["concat escaped"]
    flat = per[f"ours {big}"] / per[f"ours {small}"]
    reparse = found["reparse"]
    largest = max(reparse)
    versus = reparse[largest] / seconds[f"ours {largest}"]
    return [
        Row(
            "B9",
            f"streaming the `answer` field of a {big:,}-character `final_answer` argument "
            f"in {counts[f'ours {big}']:,} fragments (`FieldStreamer.feed`)",
            f"{seconds[f'ours {big}'] * 1e3:.2f} ms ({per[f'ours {big}'] * 1e9:.0f} ns/fragment)",
            f"{seconds[f'concat {big}'] * 1e3:.2f} ms (only concatenating the fragments); "
            f"all non-ASCII escaped: {escaped:.2f}×",
            ratio,
            "≤ 3×",
            ratio <= 3,
        ),
        Row(
            "B9b",
            f"B9's time per fragment at {small:,} → {big:,} characters",
            f"{per[f'ours {small}'] * 1e9:.0f} → {per[f'ours {big}'] * 1e9:.0f} ns/fragment",
            f"concatenation: {per[f'concat {small}'] * 1e9:.0f} → "
            f"{per[f'concat {big}'] * 1e9:.0f} ns/fragment",
            flat,
            "flat (≤ 1.3×)",
            flat <= 1.3,
        ),
        Row(
            "B9c",
            "re-parsing the text so far at every fragment, "
            '`from_json(allow_partial="trailing-strings")`, '
            + " / ".join(f"{n:,}" for n in sorted(reparse))
            + " characters",
            " / ".join(f"{reparse[n] * 1e3:,.1f} ms" for n in sorted(reparse)),
            " / ".join(f"{seconds[f'ours {n}'] * 1e3:,.2f} ms" for n in sorted(reparse))
            + " (B9's streamer)",
            versus,
            f"for comparison: re-parse ÷ ours at {largest:,}",
            None,
        ),
    ]


def recorded_run(pieces: int) -> list[Any]:
    """The raw astream_events v2 items of the math agent whose final_answer streams its
    arguments in about ``pieces`` fragments of ``FRAGMENT`` characters."""
    _, text = arguments(pieces * FRAGMENT)
    parts: list[Step] = [ToolCallPiece(index=0, id="call_final", name="final_answer")] + [
        ToolCallPiece(index=0, args=part) for part in fragments(text)
    ]
    scripts = {"agent": [MATH_SCRIPTS["agent"][0], parts]}
    agent = build_math_agent(lambda role: ScriptedChatModel(turns=scripts[role]))

    async def collect() -> list[Any]:
        value = {"messages": [("user", MATH_QUESTION)]}
        return [item async for item in agent.astream_events(value, version="v2")]

    return asyncio.run(collect())


def b9d_answer(quick: bool) -> Row:
    pieces = 2_000 if quick else 20_000
    raw = recorded_run(pieces)

    def concatenated() -> str:
        buf = ""
        for event in normalize(raw):
            if event.type == "tool_call_chunk" and event.name == "final_answer":
                buf += event.args_delta
        return buf

    def ours() -> str:
        return "".join(
            item.text
            for item in answer(normalize(raw), tool="final_answer", field="answer")
            if item.type == "answer_text"
        )

    assert ours() == json.loads(concatenated())["answer"]
    fragments = sum(event.type == "tool_call_chunk" for event in normalize(raw))
    times = alternate({"baseline": concatenated, "ours": ours}, rounds=3 if quick else 7)
    ratio = times["ours"] / times["baseline"]
    added = (times["ours"] - times["baseline"]) / fragments * 1e6
    return Row(
        "B9d",
        f"the whole path: `answer(normalize(list), tool=…, field=…)`, {len(raw):,} raw items, "
        f"{fragments:,} fragments",
        f"{times['ours']:.3f} s (+{added:.2f} µs/fragment)",
        f"{times['baseline']:.3f} s (`normalize` concatenating `args_delta`)",
        ratio,
        "reported (the issue sets no goal)",
        None,
    )


FIGURES: list[Any] = [b9_field, b9d_answer]


def main(argv: list[str] | None = None) -> int:
    from _harness import table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="re-parse up to 10,000 only")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for figure in FIGURES:
        got = figure(args.quick)
        rows.extend(got if isinstance(got, list) else [got])
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
