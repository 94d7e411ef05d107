"""eventstream: LangChain's streaming output as one small, typed event stream.

from eventstream import normalize, select

events = normalize(agent.astream_events(inputs, version="v2"))
async for token in select(events, types=["token"], tags=["agent_llm"]):
    print(token.text, end="")
"""

import typing as _typing

if _typing.TYPE_CHECKING:  # what type checkers and documentation tools read
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

    from eventstream._answer import (
        Answer,
        AnswerEnd,
        AnswerReader,
        AnswerText,
        NoAncestryError,
        answer,
    )
    from eventstream._callbacks import CallbackSource
    from eventstream._errors import (
        CallbackSourceError,
        EventStreamError,
        MalformedItemError,
        RecordingError,
        RunStateError,
        UnknownEventError,
        UnknownFormatError,
    )
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
    from eventstream._json import (
        EVENT_ADAPTER,
        event_from_json,
        event_json_schema,
        event_to_json,
    )
    from eventstream._normalizer import Normalizer
    from eventstream._partial_calls import PartialToolCall, PartialToolCalls, partial_tool_calls
    from eventstream._partial_json import FieldStreamer, PartialJSONError, partial_args
    from eventstream._readers.modes import STREAM_MODES
    from eventstream._record import Recorder, Replay, record, replay
    from eventstream._select import Selection, Selector, select
    from eventstream._serialize import OpaqueValue, ReplayedError
    from eventstream._stream import EventStream, normalize

__version__ = "0.1.0"
"""This eventstream's version (also ``eventstream --version``)."""

__all__ = [
    "EVENT_ADAPTER",
    "STREAM_MODES",
    "Answer",
    "AnswerEnd",
    "AnswerReader",
    "AnswerText",
    "CallbackSource",
    "CallbackSourceError",
    "Custom",
    "End",
    "Event",
    "EventStream",
    "EventStreamError",
    "FieldStreamer",
    "MalformedItemError",
    "NoAncestryError",
    "Normalizer",
    "OpaqueValue",
    "PartialJSONError",
    "PartialToolCall",
    "PartialToolCalls",
    "Recorder",
    "RecordingError",
    "Replay",
    "ReplayedError",
    "RunStateError",
    "Selection",
    "Selector",
    "Start",
    "Token",
    "ToolCall",
    "ToolCallChunk",
    "ToolResult",
    "UnknownEventError",
    "UnknownFormatError",
    "Usage",
    "answer",
    "event_from_json",
    "event_json_schema",
    "event_to_json",
    "normalize",
    "partial_args",
    "partial_tool_calls",
    "record",
    "replay",
    "select",
]

# Each public name, by the module that defines it. ``import eventstream`` imports none of
# them: a name's module is imported when the name is first used (PEP 562), so the
# command line (``eventstream --help``) and code that needs one part do not pay at
# startup for LangChain's message classes, pydantic's schemas and every reader.
_EXPORTS: dict[str, str] = {
    "EVENT_ADAPTER": "eventstream._json",
    "STREAM_MODES": "eventstream._readers.modes",
    "Answer": "eventstream._answer",
    "AnswerEnd": "eventstream._answer",
    "AnswerReader": "eventstream._answer",
    "AnswerText": "eventstream._answer",
    "CallbackSource": "eventstream._callbacks",
    "CallbackSourceError": "eventstream._errors",
    "Custom": "eventstream._events",
    "End": "eventstream._events",
    "Event": "eventstream._events",
    "EventStream": "eventstream._stream",
    "EventStreamError": "eventstream._errors",
    "FieldStreamer": "eventstream._partial_json",
    "MalformedItemError": "eventstream._errors",
    "NoAncestryError": "eventstream._errors",
    "Normalizer": "eventstream._normalizer",
    "OpaqueValue": "eventstream._serialize",
    "PartialJSONError": "eventstream._errors",
    "PartialToolCall": "eventstream._partial_calls",
    "PartialToolCalls": "eventstream._partial_calls",
    "Recorder": "eventstream._record",
    "RecordingError": "eventstream._errors",
    "Replay": "eventstream._record",
    "ReplayedError": "eventstream._serialize",
    "RunStateError": "eventstream._errors",
    "Selection": "eventstream._select",
    "Selector": "eventstream._select",
    "Start": "eventstream._events",
    "Token": "eventstream._events",
    "ToolCall": "eventstream._events",
    "ToolCallChunk": "eventstream._events",
    "ToolResult": "eventstream._events",
    "UnknownEventError": "eventstream._errors",
    "UnknownFormatError": "eventstream._errors",
    "Usage": "eventstream._events",
    "answer": "eventstream._answer",
    "event_from_json": "eventstream._json",
    "event_json_schema": "eventstream._json",
    "event_to_json": "eventstream._json",
    "normalize": "eventstream._stream",
    "partial_args": "eventstream._partial_json",
    "partial_tool_calls": "eventstream._partial_calls",
    "record": "eventstream._record",
    "replay": "eventstream._record",
    "select": "eventstream._select",
}


def __getattr__(name: str) -> _typing.Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module 'eventstream' has no attribute {name!r}"
        raise AttributeError(msg)
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _source_checkout_adapters() -> None:
    """Run from a source checkout, ``eventstream.adapters`` is the checkout's top-level
    ``adapters/`` folder, as an install maps it.

    The package installs ``adapters/`` as ``eventstream.adapters``; an editable install
    maps it with a finder of its own. Run from the checkout's root after a regular
    install, though, ``./eventstream`` comes first on ``sys.path`` and shadows the
    installed package, and it has no ``adapters`` inside: this finder, consulted last,
    supplies it. An installed package has ``adapters`` inside and gets no finder.
    """
    import os
    import sys

    here = os.path.dirname(__file__)
    adapters = os.path.join(os.path.dirname(here), "adapters")
    init = os.path.join(adapters, "__init__.py")
    if os.path.isdir(os.path.join(here, "adapters")) or not os.path.isfile(init):
        return

    class AdaptersFinder:
        def find_spec(
            self,
            name: str,
            path: "Sequence[str] | None",
            target: "ModuleType | None" = None,
            /,
        ) -> "ModuleSpec | None":
            if name != "eventstream.adapters":
                return None
            from importlib.util import spec_from_file_location

            return spec_from_file_location(name, init, submodule_search_locations=[adapters])

    sys.meta_path.append(AdaptersFinder())


_source_checkout_adapters()
del _source_checkout_adapters
