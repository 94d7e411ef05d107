"""B8: ``normalize`` over a raw OpenAI chat completion stream, against a hand-written loop.

    python bench/openai_bench.py            # 100,000 chunks
    python bench/openai_bench.py --quick    # 10,000 chunks

The chunks are made once, before timing, by the real ``openai`` client reading a
streamed answer of that many text tokens from the test kit's local server
(``stream_options={"include_usage": True}``): ``ChatCompletionChunk`` objects exactly as
the SDK builds them, role chunk, finish chunk and usage chunk included. Timed: iterating
the list, no network.

- B8: ``for ev in normalize(chunks)`` against a loop that only concatenates
  ``chunk.choices[0].delta.content``. Goal: ≥ 0.5× its speed.
- B8b: the same stream as dicts (each ``data:`` line's JSON, what a WebSocket relay
  hands on), against the same loop over dicts. Reported for comparison.

Contenders alternate run by run; figures are medians; garbage is collected before each
timed run. Nothing here asserts speed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Row, alternate, table

from eventstream import End, normalize
from eventstream.testing import OpenAIServer, Text


def sdk_chunks(tokens: int) -> list[Any]:
    """A streamed answer of ``tokens`` text tokens, as the openai client builds it."""
    from openai import OpenAI

    script = {"answer": [[Text(f" w{i}") for i in range(tokens)]]}
    with OpenAIServer(script) as server:
        client = OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        stream = client.chat.completions.create(
            model="answer",
            messages=[{"role": "user", "content": "go"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        with stream:
            chunks = list(stream)
        client.close()
    return chunks


def _rows(chunks: list[Any], dicts: list[dict[str, Any]], rounds: int) -> list[Row]:
    def concatenate() -> str:
        text = ""
        for chunk in chunks:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
        return text

    def concatenate_dicts() -> str:
        text = ""
        for chunk in dicts:
            if chunk["choices"]:
                text += chunk["choices"][0]["delta"].get("content") or ""
        return text

    def ours(source: list[Any]) -> Callable[[], str]:
        def run() -> str:
            text = ""
            for event in normalize(source):
                if event.type == "token":
                    text += event.text
            return text

        return run

    expected = concatenate()
    assert ours(chunks)() == expected == ours(dicts)() == concatenate_dicts()
    end = list(normalize(chunks))[-1]
    assert isinstance(end, End) and end.usage is not None and end.error is None
    times = alternate(
        {
            "loop": concatenate,
            "ours": ours(chunks),
            "loop_dicts": concatenate_dicts,
            "ours_dicts": ours(dicts),
        },
        rounds,
        collect_garbage=True,
    )
    count = len(chunks)
    rows = []
    for figure, what, loop, mine in (
        ("B8", "SDK `ChatCompletionChunk` objects", "loop", "ours"),
        ("B8b", "their dict forms (JSON of each `data:` line)", "loop_dicts", "ours_dicts"),
    ):
        speed = times[loop] / times[mine]
        rows.append(
            Row(
                figure,
                f"`normalize` over a raw OpenAI stream of {count:,} chunks: {what}",
                f"{times[mine] / count * 1e9:.0f} ns/chunk",
                f"{times[loop] / count * 1e9:.0f} ns/chunk (only concatenating "
                f"`choices[0].delta.content`)",
                speed,
                "≥ 0.5× its speed" if figure == "B8" else "none set",
                speed >= 0.5 if figure == "B8" else None,
            )
        )
    return rows


def b8_openai(quick: bool) -> list[Row]:
    tokens = 10_000 if quick else 100_000
    chunks = sdk_chunks(tokens)
    dicts = [chunk.model_dump(exclude_unset=True) for chunk in chunks]
    return _rows(chunks, dicts, rounds=5 if quick else 11)


FIGURES: list[Any] = [b8_openai]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 chunks")
    args = parser.parse_args(argv)
    print(table(b8_openai(args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
