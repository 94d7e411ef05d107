"""The Normalizer facade: picks a reader from the first items, counts positions, turns a
rejected item into "item N: …" once, and refuses a stream it cannot read, loudly."""

from __future__ import annotations

from typing import Any

import pytest

from eventstream import (
    MalformedItemError,
    Normalizer,
    RunStateError,
    UnknownFormatError,
    normalize,
)
from eventstream._normalizer import DETECT_WINDOW


def short_run(number: int) -> list[dict[str, Any]]:
    """A root chain whose model announces a call that no tool ever answers."""
    root, model = f"root{number}", f"model{number}"
    output = {
        "content": "",
        "tool_calls": [{"name": "unused", "args": {}, "id": f"call{number}"}],
    }
    return [
        {"event": "on_chain_start", "run_id": root, "name": "agent"},
        {"event": "on_chat_model_start", "run_id": model, "name": "m", "parent_ids": [root]},
        {
            "event": "on_chat_model_stream",
            "run_id": model,
            "parent_ids": [root],
            "data": {"chunk": {"content": "hi"}},
        },
        {"event": "on_chat_model_end", "run_id": model, "data": {"output": output}},
        {"event": "on_chain_end", "run_id": root, "data": {"output": "done"}},
    ]


def test_memory_follows_the_open_runs_not_all_runs_seen() -> None:
    normalizer = Normalizer(strict=True)
    largest = {"open": 0, "ended": 0, "pending_calls": 0}
    events = 0
    for number in range(100_000):
        for item in short_run(number):
            events += len(normalizer.feed(item))
        if number % 997 == 0:
            size = normalizer.table_size
            largest = {key: max(largest[key], size[key]) for key in size}
    events += len(normalizer.close())
    assert events == 100_000 * 6  # start, start, token, tool call, end, end
    size = normalizer.table_size
    assert size["open"] == 0 and size["pending_calls"] == 0
    assert size["ended"] <= 10_000 and largest["ended"] <= 10_000
    assert largest["pending_calls"] <= 1 and largest["open"] == 0


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize(
    ("items", "words"),
    [
        ([{"hello": "world"}], ["item 0", "dict", "eventstream reads", "astream_events"]),
        ([42, 43], ["item 0", "int 42", "astream_log"]),
    ],
)
def test_a_stream_no_reader_takes_fails_loudly_in_both_modes(
    strict: bool, items: list[Any], words: list[str]
) -> None:
    with pytest.raises(UnknownFormatError) as raised:
        list(normalize(items, strict=strict))
    assert isinstance(raised.value, MalformedItemError)
    message = str(raised.value)
    if strict:
        for word in words:
            assert word in message
    else:
        assert f"none of its {len(items)} items could be read" in message


def test_lenient_mode_skips_damage_before_a_readable_item_up_to_a_window() -> None:
    good = [{"event": "on_chain_start", "run_id": "r", "name": "c"}]
    stream = normalize([None, "junk", *good])
    assert [e.type for e in stream] == ["start", "end"]
    assert stream.normalizer.skipped == 2 and stream.normalizer.format is not None
    with pytest.raises(UnknownFormatError, match=f"item {DETECT_WINDOW - 1}"):
        list(normalize([None] * DETECT_WINDOW + good))


def test_an_empty_stream_is_no_error() -> None:
    assert list(normalize([], strict=True)) == []
    assert list(normalize([])) == []


def test_positions_count_every_item_and_errors_name_them() -> None:
    items = [
        {"event": "on_chain_start", "run_id": "r", "name": "c"},
        {"event": "on_chain_start", "run_id": "r", "name": "c"},
    ]
    normalizer = Normalizer()
    for item in items:
        normalizer.feed(item)
    assert (normalizer.position, normalizer.skipped) == (1, 1)
    with pytest.raises(RunStateError, match="item 1: on_chain_start for run r which"):
        list(normalize(items, strict=True))


def test_a_foreign_object_that_misbehaves_becomes_our_error() -> None:
    class Hostile(dict):  # type: ignore[type-arg]
        def __repr__(self) -> str:
            raise RuntimeError("no repr for you")

        def get(self, key: Any, default: Any = None) -> Any:
            raise ValueError("no get either")

    item = Hostile(event="on_chain_start", run_id="r")
    with pytest.raises(MalformedItemError, match="repr\\(\\) raised"):
        list(normalize([{"event": "on_chain_start", "run_id": "a"}, item], strict=True))
    stream = normalize([{"event": "on_chain_start", "run_id": "a"}, item])
    assert [e.type for e in stream] == ["start", "end"] and stream.normalizer.skipped == 1


class Hostile:
    """A value whose every dunder a reader might call raises."""

    def __repr__(self) -> str:
        raise RuntimeError("repr")

    def __str__(self) -> str:
        raise RuntimeError("str")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    def __ne__(self, other: object) -> bool:
        raise RuntimeError("ne")

    def __hash__(self) -> int:
        raise RuntimeError("hash")


@pytest.mark.parametrize(
    "bad",
    [
        {"event": Hostile(), "run_id": "r"},
        {"event": "on_chat_model_stream", "run_id": Hostile(), "data": {"chunk": "x"}},
        {"type": Hostile(), "ns": (), "data": 1},
        (Hostile(), "messages", 1),
        Hostile(),
    ],
)
def test_a_value_whose_methods_raise_is_our_error_in_both_modes(bad: Any) -> None:
    good = {"event": "on_chain_start", "run_id": "a", "name": "c"}
    with pytest.raises(MalformedItemError):
        list(normalize([good, bad], strict=True))
    stream = normalize([good, bad])
    assert [e.type for e in stream] == ["start", "end"]
    assert stream.normalizer.skipped == 1
