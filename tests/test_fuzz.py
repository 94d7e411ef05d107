"""The rule for any input, fuzzed: real streams of every format, damaged.

Each case takes the raw items of a real run (the shipped recordings: ``astream_events``
v2 and v1, ``astream_log``; live runs of the cat agent through LangGraph's stream modes
and ``astream_events`` v3) and damages them the way a bad network, a bad recording or a
hostile client would: items dropped, duplicated, swapped, the stream cut short, values
replaced by values of other types, lone surrogates in strings, deeply nested values.
Then, whatever came in:

- strict mode gives events or raises an ``EventStreamError`` subclass, nothing else;
- lenient mode never raises (unless no item of the stream's first ones is readable at
  all: ``UnknownFormatError``, by design);
- in both, the events are well formed: ``seq`` 0, 1, 2 …; every run's first event is its
  ``Start``, it has exactly one ``End`` and nothing after it; tokens are non-empty
  strings; every event serializes (``event_to_json`` never raises).

The default profile runs hypothesis's usual 100 cases (CI); ``pytest
tests/test_fuzz.py --hypothesis-profile=long`` runs 100,000 (registered in conftest).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstream import (
    End,
    EventStreamError,
    Start,
    Token,
    UnknownFormatError,
    event_to_json,
    normalize,
    replay,
)
from eventstream._normalizer import DETECT_WINDOW
from eventstream._readers import choose
from eventstream.testing import (
    build_cat_agent,
    source_stream,
)

from .conftest import CAT_INPUT, collect, scripted

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _live(source: str) -> list[Any]:
    agent = build_cat_agent(scripted)

    async def run() -> list[Any]:
        return await collect(source_stream(agent, CAT_INPUT, source))

    return asyncio.run(run())


_STREAMS: dict[str, list[Any]] = {}


def stream_of(name: str) -> list[Any]:
    if name not in _STREAMS:
        if name in ("modes", "v3"):
            _STREAMS[name] = _live(name)
        else:
            _STREAMS[name] = list(replay(FIXTURES / f"{name}.jsonl"))
    return _STREAMS[name]


NAMES = [
    "cat_agent.v2",
    "cat_agent.v1",
    "cat_agent.log",
    "parallel_tools.v2",
    "tool_error.v2",
    "nested_agent.v2",
    "modes",
    "v3",
]

other_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["\ud800", "a\udfffb", "", "on_chat_model_stream", "messages", "lc_run--x"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.just(((((((((((((("deep",),),),),),),),),),),),),)),
)


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


def _containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to the values inside ``value`` (dict keys, list and tuple indices), down to
    a depth of 12."""
    found = [path]
    if len(path) >= 12:
        return found
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _containers(inner, (*path, key))
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            found += _containers(inner, (*path, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        copied = dict(value)
        copied[head] = _replace(value[head], rest, new)
        return copied
    items = list(value)
    items[head] = _replace(value[head], rest, new)
    return tuple(items) if isinstance(value, tuple) else items


Damage = tuple[str, int, int, Any]
"""One change: its kind, where (as numbers the stream's length reduces), a new value."""

damages = st.tuples(
    st.sampled_from(["drop", "duplicate", "swap", "cut", "value", "surrogate", "deep"]),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
    other_values,
)


def damage(items: list[Any], plan: list[Damage]) -> list[Any]:
    """The stream after the changes of ``plan`` (the shipped items are never changed)."""
    items = list(items)
    for kind, where, other, value in plan:
        if not items:
            break
        i = where % len(items)
        if kind == "drop":
            del items[i]
        elif kind == "duplicate":
            items.insert(i, items[i])  # the same object twice: readers never change items
        elif kind == "swap":
            j = other % len(items)
            items[i], items[j] = items[j], items[i]
        elif kind == "cut":
            del items[i:]
        else:
            paths = _containers(items[i])
            path = paths[other % len(paths)]
            if kind == "surrogate":
                value = "lone \ud83d surrogate"
            elif kind == "deep":
                value = _deep((50, 700, 3000)[other % 3])
            items[i] = _replace(items[i], path, value)
    return items


def assert_well_formed(events: list[Any]) -> None:
    assert [e.seq for e in events] == list(range(len(events)))
    started: set[str] = set()
    ended: set[str] = set()
    for event in events:
        run_id = event.run_id
        if event.type == "custom":
            assert run_id not in ended
            continue
        assert run_id not in ended, f"{event.type} after the end of {run_id}"
        if isinstance(event, Start):
            assert run_id not in started
            started.add(run_id)
        else:
            assert run_id in started, f"{event.type} of {run_id} before its start"
        if isinstance(event, End):
            ended.add(run_id)
        if isinstance(event, Token):
            assert isinstance(event.text, str) and event.text
        assert isinstance(event_to_json(event), str)
    assert started == ended


def _readable_start(items: list[Any]) -> bool:
    return any(choose(item) is not None for item in items[:DETECT_WINDOW])


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(NAMES), st.lists(damages, min_size=1, max_size=4))
def test_damaged_streams_give_events_or_our_error(name: str, plan: list[Damage]) -> None:
    items = damage(stream_of(name), plan)
    try:
        strict = list(normalize(items, strict=True))
    except EventStreamError:
        strict = None
    else:
        assert_well_formed(strict)
    stream = normalize(items)
    try:
        events = list(stream)
    except UnknownFormatError:
        assert not _readable_start(items) or name in ("modes", "v3"), name
        return
    assert_well_formed(events)
    if strict is not None:
        assert stream.normalizer.skipped == 0
        assert [(e.type, e.run_id) for e in strict] == [(e.type, e.run_id) for e in events]


@pytest.mark.parametrize("name", NAMES)
def test_every_undamaged_stream_is_read_whole(name: str) -> None:
    events = list(normalize(stream_of(name), strict=True))
    assert_well_formed(events)
    assert any(isinstance(e, Token) for e in events)
