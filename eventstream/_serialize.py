"""The JSON form of raw stream values, as recordings hold them: to JSON and back.

Contract. :func:`jsonable` turns any value into plain JSON data and never raises;
:class:`Reviver` turns that data back into values, instantiating nothing outside an
explicit allow-list. The recorder writes ``jsonable`` output, replay reads it with a
``Reviver``. A value that cannot come back as itself comes back as something that gives
the same JSON through ``event_to_json`` (pydantic's serialization, ``str()`` for what
pydantic cannot serialize), so normalized events have the same JSON live and replayed.

The form, value by value:

- JSON scalars, lists and ``str``-keyed dicts are themselves.
- LangChain objects of the classes replay rebuilds (:func:`allowed_classes`: messages
  and chunks, documents, generations, prompt values, agent actions) are in LangChain's
  own serialization, ``langchain_core.load.dumpd``'s format:
  ``{"lc": 1, "type": "constructor", "id": [...], "kwargs": {...}}``. The hot type,
  ``AIMessageChunk``, is written by :func:`dump_lc` without going through ``dumpd``
  (28 µs a chunk) but to exactly its output, and a model's text tokens from a
  :func:`text_frame` (the encoded chunk around its text, made once per run of tokens);
  every other object goes through ``dumpd``.
- Everything else is a one-key marker dict whose key starts with ``$``; lossless where
  the value allows it: ``{"$tuple": [...]}``, ``{"$set": [...]}``,
  ``{"$frozenset": [...]}``, ``{"$uuid": "..."}``, ``{"$datetime": "<isoformat>"}``
  (also ``$date``, ``$time``), ``{"$timedelta": [days, seconds, microseconds]}``,
  ``{"$bytes": "<base64>"}``, ``{"$decimal": "1.10"}``, ``{"$int": "<digits>"}`` (beyond
  64 bits), ``{"$float": "nan"}`` (not finite), ``{"$items": [[k, v], ...]}`` (a dict
  with keys that are not strings). Lossy, and read back as plain data:
  ``{"$model": {"type": ..., "fields": {...}}}`` (any other pydantic model, LangChain's
  included: ``LLMResult``, a chat model in some input …) and
  ``{"$dataclass": {"type": ..., "fields": {...}}}`` (langgraph's ``Command`` …), both
  read back as the ``fields`` dict, which gives the same JSON as the object did;
  ``{"$exception": {"type", "module", "message"}}``, read back as a
  :class:`ReplayedError` of the same type name and message; and, for anything else,
  ``{"$repr": {"type": ..., "repr": ..., "str": ...}}``, read back as an
  :class:`OpaqueValue` with that type name, ``repr()`` and ``str()``. Enums are their
  value, ``str``/``int``/``float`` subclasses and paths their plain value.
- Inside LangChain objects LangChain's rules hold (``dumpd``: tuples become lists, its
  own escaping of user dicts); with orjson installed, a float there that is not finite
  is written as ``null``.
- A dict of the data that could be mistaken for one of the above (an ``"lc"`` key, or
  a single key starting with ``$``) is wrapped: ``{"$dict": {...}}``.

Safety of reading: no pickle, no import by name. A LangChain object is rebuilt with
``langchain_core.load.Reviver`` only when its class is in :func:`allowed_classes`
(messages, generations, documents, prompt values, agent actions: data classes without
side effects); any other ``lc`` dict, and LangChain's escaped user dicts, stay plain
dicts. Exception types are recreated by name only, as subclasses of
:class:`ReplayedError`; nothing is looked up from the file's names.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import enum
import functools
import json
import operator
import pathlib
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from langchain_core.load import dumpd
from langchain_core.load.load import Reviver as _LCReviver
from langchain_core.load.serializable import Serializable
from langchain_core.messages import AIMessageChunk
from pydantic import BaseModel

from eventstream._errors import EventStreamError

__all__ = [
    "OpaqueValue",
    "ReplayedError",
    "Reviver",
    "UnreadableValue",
    "allowed_classes",
    "dump_lc",
    "dumps_line",
    "dumps_value",
    "jsonable",
    "loads_line",
    "text_fields",
    "text_frame",
]


@functools.cache
def allowed_classes() -> tuple[type[Serializable], ...]:
    """The LangChain classes replay rebuilds; any other serialized object stays a dict.

    Imported on first use (by a recording or a replay, not by ``import eventstream``):
    documents, generations, prompt values and agent actions cost about 15 ms to import.
    """
    from langchain_core.agents import AgentAction, AgentActionMessageLog, AgentFinish
    from langchain_core.documents import Document
    from langchain_core.messages import (
        AIMessage,
        ChatMessage,
        ChatMessageChunk,
        FunctionMessage,
        FunctionMessageChunk,
        HumanMessage,
        HumanMessageChunk,
        RemoveMessage,
        SystemMessage,
        SystemMessageChunk,
        ToolMessage,
        ToolMessageChunk,
    )
    from langchain_core.outputs import (
        ChatGeneration,
        ChatGenerationChunk,
        Generation,
        GenerationChunk,
    )
    from langchain_core.prompt_values import (
        ChatPromptValue,
        ChatPromptValueConcrete,
        StringPromptValue,
    )

    return (
        AIMessage,
        AIMessageChunk,
        HumanMessage,
        HumanMessageChunk,
        SystemMessage,
        SystemMessageChunk,
        ToolMessage,
        ToolMessageChunk,
        FunctionMessage,
        FunctionMessageChunk,
        ChatMessage,
        ChatMessageChunk,
        RemoveMessage,
        Generation,
        GenerationChunk,
        ChatGeneration,
        ChatGenerationChunk,
        Document,
        StringPromptValue,
        ChatPromptValue,
        ChatPromptValueConcrete,
        AgentAction,
        AgentFinish,
        AgentActionMessageLog,
    )


@functools.cache
def _allowed() -> frozenset[type[Serializable]]:
    return frozenset(allowed_classes())


_NONE = type(None)
_SCALARS = frozenset({str, int, float, bool, _NONE})
_PLAIN = frozenset({str, bool, _NONE})  # written as they are, without a check
# Integers JSON parsers keep exact (orjson reads wider ones as floats): beyond, "$int".
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
_ESCAPED = "__lc_escaped__"  # LangChain's wrapper for user dicts inside its objects


def _type_name(value: Any) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


# -- to JSON ----------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data, in the recording form described above. Never raises
    on an odd value (it becomes a ``$repr`` marker)."""
    cls = type(value)
    if cls is str or cls is bool or value is None:
        return value
    if cls is dict:
        return _dict(value)
    if cls is list:
        return [v if type(v) in _PLAIN else jsonable(v) for v in value]
    if cls is int:
        return value if _INT_MIN <= value <= _INT_MAX else {"$int": str(value)}
    if cls is float:
        return value if value - value == 0.0 else {"$float": repr(value)}
    if cls is tuple:
        return {"$tuple": [jsonable(v) for v in value]}
    if cls is AIMessageChunk:
        return dump_lc(value)
    return _other(value)


def _dict(value: Mapping[Any, Any]) -> Any:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            return {"$items": [[jsonable(k), jsonable(v)] for k, v in value.items()]}
        out[key] = item if type(item) in _PLAIN else jsonable(item)
    if "lc" in out or (len(out) == 1 and next(iter(out))[:1] == "$"):
        return {"$dict": out}
    return out


def _other(value: Any) -> Any:
    """Everything but the exact JSON types, tuples and ``AIMessageChunk``."""
    if isinstance(value, Serializable):
        if type(value) in _allowed():
            return dumpd(value)
        # Not rebuilt by replay: its fields, which give the same JSON as the object.
        return _model(value)
    if isinstance(value, BaseException):
        return {"$exception": exception_fields(value)}
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return jsonable(int(value))
    if isinstance(value, float):
        return jsonable(float(value))
    if isinstance(value, Mapping):
        return _dict(value)
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [jsonable(v) for v in value]}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$timedelta": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, frozenset):
        return {"$frozenset": [jsonable(v) for v in value]}
    if isinstance(value, set):
        return {"$set": [jsonable(v) for v in value]}
    if isinstance(value, bytes | bytearray):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, BaseModel):
        return _model(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
        return {"$dataclass": {"type": _type_name(value), "fields": _dict(fields)}}
    return _repr(value)


def _model(value: BaseModel) -> Any:
    """A pydantic model's fields, as pydantic itself would serialize them."""
    cls = type(value)
    fields = {
        name: getattr(value, name, None)
        for name, info in cls.model_fields.items()
        if not info.exclude
    }
    fields.update(value.__pydantic_extra__ or {})
    for name in cls.model_computed_fields:
        try:
            fields[name] = getattr(value, name)
        except Exception:
            continue
    return {"$model": {"type": _type_name(value), "fields": _dict(fields)}}


def _repr(value: Any) -> dict[str, Any]:
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<repr failed: {type(exc).__name__}>"
    try:
        as_str = str(value)
    except Exception:
        as_str = text
    return {"$repr": {"type": _type_name(value), "repr": text, "str": as_str}}


def exception_fields(exc: BaseException) -> dict[str, str]:
    """``{"type", "module", "message"}`` of an exception (as ``$exception`` holds it)."""
    try:
        message = str(exc)
    except Exception:
        message = f"<{type(exc).__name__} whose str() failed>"
    cls = type(exc)
    return {"type": cls.__qualname__, "module": cls.__module__, "message": message}


# -- LangChain's format, fast for the hot type -------------------------------------

_AI_CHUNK_FIELDS = (
    "content",
    "additional_kwargs",
    "response_metadata",
    "type",
    "name",
    "id",
    "tool_calls",
    "invalid_tool_calls",
    "usage_metadata",
    "tool_call_chunks",
    "chunk_position",
)
# The fast writer and reader mirror these fields; another langchain-core that changes
# them makes both fall back to LangChain's own code.
_AI_CHUNK_KNOWN = tuple(AIMessageChunk.model_fields) == _AI_CHUNK_FIELDS
_AI_CHUNK_ID = ["langchain", "schema", "messages", "AIMessageChunk"]


def dump_lc(message: Any) -> Any:
    """``dumpd(message)``, fast for an ``AIMessageChunk`` (the same dict, in the same
    key order), LangChain's own ``dumpd`` for anything else."""
    if type(message) is not AIMessageChunk or not _AI_CHUNK_KNOWN:
        return dumpd(message)
    # Serializable.to_json keeps a field when it is required, truthy, or differs from
    # its default; then lc_attributes re-adds tool_calls and invalid_tool_calls (at
    # their place when kept, else at the end).
    d = message.__dict__
    content = d["content"]
    kwargs: dict[str, Any] = {"content": content if type(content) is str else _lc(content)}
    value = d["additional_kwargs"]
    if value:
        kwargs["additional_kwargs"] = _lc(value)
    value = d["response_metadata"]
    if value:
        kwargs["response_metadata"] = _lc(value)
    kwargs["type"] = d["type"]
    value = d["name"]
    if value is not None:
        kwargs["name"] = value
    value = d["id"]
    if value is not None:
        kwargs["id"] = value
    tool_calls = d["tool_calls"]
    invalid_tool_calls = d["invalid_tool_calls"]
    if tool_calls:
        kwargs["tool_calls"] = tool_calls = _lc(tool_calls)
    else:
        tool_calls = []
    if invalid_tool_calls:
        kwargs["invalid_tool_calls"] = invalid_tool_calls = _lc(invalid_tool_calls)
    else:
        invalid_tool_calls = []
    value = d["usage_metadata"]
    if value is not None:
        kwargs["usage_metadata"] = _lc(value)
    value = d["tool_call_chunks"]
    if value:
        kwargs["tool_call_chunks"] = _lc(value)
    value = d["chunk_position"]
    if value is not None:
        kwargs["chunk_position"] = value
    kwargs["tool_calls"] = tool_calls
    kwargs["invalid_tool_calls"] = invalid_tool_calls
    return {"lc": 1, "type": "constructor", "id": list(_AI_CHUNK_ID), "kwargs": kwargs}


def _lc(value: Any) -> Any:
    """A value inside a LangChain object, as ``dumpd`` writes it (its escaping rules)."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    if cls is list or cls is tuple:
        return [v if type(v) in _SCALARS else _lc(v) for v in value]
    if (
        cls is dict
        and "lc" not in value
        and not (len(value) == 1 and _ESCAPED in value)
        and all(type(k) is str for k in value)
    ):
        return {k: v if type(v) in _SCALARS else _lc(v) for k, v in value.items()}
    return dumpd(value)


text_fields: Callable[[dict[str, Any]], Any] = operator.itemgetter(*_AI_CHUNK_FIELDS[1:])
"""Every field of an ``AIMessageChunk`` (given its ``__dict__``) but the content: what
a :func:`text_frame` is keyed on."""
_TEXT_HEAD = (
    b'{"lc":1,"type":"constructor","id":["langchain","schema","messages","AIMessageChunk"],'
    b'"kwargs":{"content":'
)


def _plain(value: Any) -> bool:
    """Whether a value equal to ``value`` has its JSON: strings, None, lists of them and
    dicts of one of them (not numbers: ``1 == 1.0 == True``; not dicts of more keys,
    which are equal in another order)."""
    cls = type(value)
    if cls is str or value is None:
        return True
    if cls is list:
        return all(_plain(v) for v in value)
    if cls is dict and len(value) <= 1:
        return all(
            type(k) is str and k != "lc" and k != _ESCAPED and _plain(v) for k, v in value.items()
        )
    return False


def text_frame(chunk: Any) -> tuple[Any, bytes, bytes] | None:
    """``(fields, before, after)`` for a text chunk whose other fields are plain data:
    the encoded :func:`dump_lc` of any chunk whose :func:`text_fields` equal
    ``fields`` is ``before + dumps_value(content) + after``. A model's text tokens
    differ only in their text, so one frame serves them all. None for other values."""
    if type(chunk) is not AIMessageChunk or not _AI_CHUNK_KNOWN:
        return None
    content = chunk.content
    fields = text_fields(chunk.__dict__)
    if type(content) is not str or not all(_plain(value) for value in fields):
        return None
    head = _TEXT_HEAD + dumps_value(content)
    encoded = dumps_value(dump_lc(chunk))
    if not encoded.startswith(head):  # an encoder that writes otherwise: no frame
        return None
    return copy.deepcopy(fields), _TEXT_HEAD, encoded[len(head) :]


# -- one recording line ---------------------------------------------------------------


def _last_resort(value: Any) -> Any:
    # Only reached for objects that dumpd leaves as they are (inside LangChain's
    # escaped user dicts) and, with orjson, for dates and dataclasses there.
    return jsonable(value)


_std_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), check_circular=False, default=_last_resort
).encode
_ascii_encode = json.JSONEncoder(
    separators=(",", ":"), check_circular=False, default=_last_resort
).encode


def _std_dumps_line(data: Any) -> bytes:
    try:
        return (_std_encode(data) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in some text: escape it
        return (_ascii_encode(data) + "\n").encode("ascii")


def _std_dumps_value(data: Any) -> bytes:
    return _std_dumps_line(data)[:-1]


def _std_loads_line(line: bytes) -> Any:
    return json.loads(line)


dumps_line: Callable[[Any], bytes] = _std_dumps_line
"""One line of JSON (compact, newline-terminated UTF-8) of already-jsonable data."""

dumps_value: Callable[[Any], bytes] = _std_dumps_value
"""The JSON of already-jsonable data, as :data:`dumps_line` writes it inside a line."""

loads_line: Callable[[bytes], Any] = _std_loads_line
"""Parse one line of JSON."""

try:  # orjson (a dependency of langsmith, so of langchain-core) parses 2-3x faster,
    # and writes 10x faster, than the json module.
    import orjson
except ImportError:  # pragma: no cover - the json module does the same, slower
    pass
else:
    _ORJSON_OPTIONS = (
        orjson.OPT_APPEND_NEWLINE
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_PASSTHROUGH_DATETIME
    )
    _VALUE_OPTIONS = _ORJSON_OPTIONS & ~orjson.OPT_APPEND_NEWLINE
    _orjson_dumps = orjson.dumps
    _orjson_loads = orjson.loads

    def _orjson_dumps_line(data: Any) -> bytes:
        try:
            return _orjson_dumps(data, default=_last_resort, option=_ORJSON_OPTIONS)
        except TypeError:  # keys that are not strings, wide ints, deep nesting …
            return _std_dumps_line(data)

    def _orjson_dumps_value(data: Any) -> bytes:
        try:
            return _orjson_dumps(data, default=_last_resort, option=_VALUE_OPTIONS)
        except TypeError:
            return _std_dumps_value(data)

    def _orjson_loads_line(line: bytes) -> Any:
        try:
            return _orjson_loads(line)
        except ValueError:  # NaN, lone surrogates …: what the json module also reads
            return json.loads(line)

    dumps_line = _orjson_dumps_line
    dumps_value = _orjson_dumps_value
    loads_line = _orjson_loads_line


# -- back from JSON -----------------------------------------------------------------


class ReplayedError(EventStreamError):
    """An exception recorded in a stream, raised or carried again by replay.

    Replay recreates the recorded exception type by name, as a subclass of this class,
    so ``type(exc).__name__`` and ``str(exc)`` are what they were live (the normalizer
    reports both). ``type_name`` and ``module`` name the original type.
    """

    type_name: str = "ReplayedError"
    module: str = __name__

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


_EXCEPTION_TYPES: dict[tuple[str, str], type[ReplayedError]] = {}


def replayed_exception(fields: Mapping[str, Any]) -> ReplayedError:
    """A :class:`ReplayedError` of the recorded type name, module and message."""
    qualname = str(fields.get("type") or "Exception")
    module = str(fields.get("module") or "builtins")
    key = (module, qualname)
    cls = _EXCEPTION_TYPES.get(key)
    if cls is None:
        name = qualname.rpartition(".")[2]
        if not name.isidentifier():
            name = "ReplayedError"
        cls = type(
            name,
            (ReplayedError,),
            {"__qualname__": qualname, "__module__": module, "type_name": qualname},
        )
        cls.module = module
        if len(_EXCEPTION_TYPES) < 1024:
            _EXCEPTION_TYPES[key] = cls
    return cls(str(fields.get("message", "")))


class OpaqueValue:
    """A recorded value that could not be kept (an object of no known form): replay
    gives this stand-in, whose ``repr()`` and ``str()`` are the original's."""

    __slots__ = ("_repr", "_str", "type_name")

    def __init__(self, type_name: str, repr_text: str, str_text: str) -> None:
        self.type_name = type_name
        """The original's type, ``module.QualifiedName``."""
        self._repr = repr_text
        self._str = str_text

    def __repr__(self) -> str:
        return self._repr

    def __str__(self) -> str:
        return self._str

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OpaqueValue):
            return NotImplemented
        return (self.type_name, self._repr, self._str) == (
            other.type_name,
            other._repr,
            other._str,
        )

    def __hash__(self) -> int:
        return hash((self.type_name, self._repr, self._str))


class UnreadableValue(ValueError):
    """A value in a recording that cannot be read back (replay names file and line)."""


_object_setattr = object.__setattr__
_MISSING: Any = object()
_EMPTY: list[Any] = []
_FAST_CHUNK_KEYS = frozenset(
    {
        "content",
        "type",
        "id",
        "name",
        "tool_calls",
        "invalid_tool_calls",
        "chunk_position",
        "response_metadata",
    }
)


def _plain_metadata(value: Any) -> bool:
    """A response_metadata dict the chunk constructor would keep as it is."""
    if type(value) is not dict or "lc" in value or _ESCAPED in value:
        return False
    return all(type(k) is str and type(v) in _SCALARS for k, v in value.items())


def _fast_ai_chunk(kwargs: dict[str, Any]) -> AIMessageChunk | None:
    """The chunk that ``AIMessageChunk(**kwargs)`` builds, without its validators, for
    the shape of a streamed text token; None for any other shape."""
    if not _FAST_CHUNK_KEYS.issuperset(kwargs):
        return None
    get = kwargs.get
    content = get("content")
    name = get("name")
    id_ = get("id")
    position = get("chunk_position")
    metadata = get("response_metadata", _MISSING)
    if (
        type(content) is not str
        or get("type", "AIMessageChunk") != "AIMessageChunk"
        or (name is not None and type(name) is not str)
        or (id_ is not None and type(id_) is not str)
        or (position is not None and position != "last")
        or get("tool_calls", _EMPTY) != _EMPTY
        or get("invalid_tool_calls", _EMPTY) != _EMPTY
    ):
        return None
    if metadata is _MISSING:
        metadata = {}
    elif not _plain_metadata(metadata):
        return None
    chunk = AIMessageChunk.__new__(AIMessageChunk)
    _object_setattr(
        chunk,
        "__dict__",
        {
            "content": content,
            "additional_kwargs": {},
            "response_metadata": metadata,
            "type": "AIMessageChunk",
            "name": name,
            "id": id_,
            "tool_calls": [],
            "invalid_tool_calls": [],
            "usage_metadata": None,
            "tool_call_chunks": [],
            "chunk_position": position,
        },
    )
    _object_setattr(chunk, "__pydantic_fields_set__", set(kwargs))
    _object_setattr(chunk, "__pydantic_extra__", {})
    _object_setattr(chunk, "__pydantic_private__", None)
    return chunk


def _fast_path_agrees() -> bool:
    """Whether the fast chunk reader builds what the constructor builds, here."""
    if not _AI_CHUNK_KNOWN:
        return False
    for kwargs in (
        {"content": "hi", "type": "AIMessageChunk", "id": "run-1", "tool_calls": []},
        {"content": "", "chunk_position": "last", "response_metadata": {"a": 1}},
    ):
        fast = _fast_ai_chunk(dict(kwargs))
        slow = AIMessageChunk(**kwargs)
        if fast is None or (
            fast.__dict__ != slow.__dict__
            or fast.model_fields_set != slow.model_fields_set
            or fast.__pydantic_extra__ != slow.__pydantic_extra__
            or fast.__pydantic_private__ != slow.__pydantic_private__
        ):
            return False
    return True


class Reviver:
    """Turns recorded JSON data back into values (see the module docstring).

    One per replay: it caches the metadata dicts of runs, which repeat on every line.
    """

    def __init__(self) -> None:
        self._lc_reviver = _LCReviver(allowed_objects=list(allowed_classes()))
        self._allowed: frozenset[tuple[str, ...]] = frozenset(
            self._lc_reviver.allowed_class_paths or ()
        )
        self._fast = _fast_path_agrees()
        self._metadata: dict[Any, tuple[dict[str, Any], Any]] = {}

    def value(self, value: Any) -> Any:
        """Revive one value of the recording form. Decodes freshly parsed JSON data in
        place (it reuses the dicts and lists it is given)."""
        cls = type(value)
        if cls is dict:
            if len(value) == 1:
                key = next(iter(value))
                if key[:1] == "$":
                    return self._marker(key, value[key], value)
            if "lc" in value:
                return self._lc_value(value)
            for key, item in value.items():
                if type(item) is dict or type(item) is list:
                    revived = self.value(item)
                    if revived is not item:
                        value[key] = revived
            return value
        if cls is list:
            for index, item in enumerate(value):
                if type(item) is dict or type(item) is list:
                    revived = self.value(item)
                    if revived is not item:
                        value[index] = revived
            return value
        return value

    def event(self, item: Any) -> Any:
        """Revive a recorded ``astream_events`` dict; a run's metadata, repeated on each
        of its lines, is revived once and shared by its items."""
        if type(item) is not dict or "lc" in item or len(item) == 1:
            return self.value(item)
        for key, value in item.items():
            cls = type(value)
            if cls is dict:
                if key == "metadata":
                    item[key] = self._run_metadata(item.get("run_id"), value)
                    continue
                chunk = value.get("chunk") if len(value) == 1 else None
                if type(chunk) is dict and self._fast and chunk.get("id") == _AI_CHUNK_ID:
                    # A token, the hot path: its chunk as LangChain would rebuild it.
                    kwargs = chunk.get("kwargs")
                    token = _fast_ai_chunk(kwargs) if type(kwargs) is dict else None
                    if token is not None and chunk.get("type") == "constructor":
                        value["chunk"] = token
                        continue
            elif cls is not list or all(type(v) is str for v in value):
                continue
            revived = self.value(value)
            if revived is not value:
                item[key] = revived
        return item

    def _run_metadata(self, run_id: Any, metadata: dict[str, Any]) -> Any:
        key = run_id if type(run_id) is str else None
        cached = self._metadata.get(key)
        if cached is not None and cached[0] == metadata:
            return cached[1]
        raw = copy.deepcopy(metadata)
        revived = self.value(metadata)
        if len(self._metadata) > 4096:
            self._metadata.clear()
        self._metadata[key] = (raw, revived)
        return revived

    # -- markers ---------------------------------------------------------------------

    def _marker(self, key: str, inner: Any, whole: dict[str, Any]) -> Any:
        try:
            return self._read_marker(key, inner, whole)
        except UnreadableValue:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise UnreadableValue(f"bad {key} value {inner!r:.80}: {exc}") from exc

    def _read_marker(self, key: str, inner: Any, whole: dict[str, Any]) -> Any:
        if key == "$tuple":
            return tuple(self.value(_list(inner, key)))
        if key == "$dict":
            return self._fields(inner, key)
        if key == "$model" or key == "$dataclass":
            return self._fields(inner["fields"], key)
        if key == "$items":
            return {self._key(k): self.value(v) for k, v in _list(inner, key)}
        if key == "$set":
            return {self._key(v) for v in _list(inner, key)}
        if key == "$frozenset":
            return frozenset(self._key(v) for v in _list(inner, key))
        if key == "$uuid":
            return uuid.UUID(inner)
        if key == "$datetime":
            return dt.datetime.fromisoformat(inner)
        if key == "$date":
            return dt.date.fromisoformat(inner)
        if key == "$time":
            return dt.time.fromisoformat(inner)
        if key == "$timedelta":
            days, seconds, microseconds = inner
            return dt.timedelta(days=days, seconds=seconds, microseconds=microseconds)
        if key == "$bytes":
            return base64.b64decode(inner, validate=True)
        if key == "$decimal":
            return Decimal(inner)
        if key == "$int":
            return int(inner)
        if key == "$float":
            return float(inner)
        if key == "$exception":
            if not isinstance(inner, dict):
                raise UnreadableValue(f"bad $exception value {inner!r:.80}")
            return replayed_exception(inner)
        if key == "$repr":
            return OpaqueValue(str(inner["type"]), str(inner["repr"]), str(inner.get("str")))
        # Markers of a newer format: the data as it is.
        return whole

    def _fields(self, inner: Any, key: str) -> dict[str, Any]:
        if type(inner) is not dict:
            raise UnreadableValue(f"bad {key} value {inner!r:.80}: expected an object")
        for name, item in inner.items():
            if type(item) is dict or type(item) is list:
                revived = self.value(item)
                if revived is not item:
                    inner[name] = revived
        return inner

    def _key(self, value: Any) -> Any:
        key = self.value(value)
        hash(key)  # TypeError (unreadable) when the file holds an unhashable key
        return key

    # -- LangChain objects -------------------------------------------------------------

    def _lc_value(self, value: Any) -> Any:
        """A value in LangChain's format, read as ``langchain_core.load.load`` reads
        it: escaped user dicts returned as they are, children before parents."""
        cls = type(value)
        if cls is dict:
            if len(value) == 1 and _ESCAPED in value:
                return value[_ESCAPED]
            if (
                self._fast
                and value.get("id") == _AI_CHUNK_ID
                and value.get("type") == "constructor"
                and type(value.get("kwargs")) is dict
            ):
                chunk = _fast_ai_chunk(value["kwargs"])
                if chunk is not None:
                    return chunk
            for key, item in value.items():
                if type(item) is dict or type(item) is list:
                    revived = self._lc_value(item)
                    if revived is not item:
                        value[key] = revived
            if value.get("lc") == 1 and value.get("type") == "constructor":
                return self._construct(value)
            return value
        if cls is list:
            for index, item in enumerate(value):
                if type(item) is dict or type(item) is list:
                    revived = self._lc_value(item)
                    if revived is not item:
                        value[index] = revived
            return value
        return value

    def _construct(self, value: dict[str, Any]) -> Any:
        class_id = value.get("id")
        if type(class_id) is not list or not all(type(part) is str for part in class_id):
            return value
        if tuple(class_id) not in self._allowed or type(value.get("kwargs", {})) is not dict:
            return value
        try:
            return self._lc_reviver(value)
        except Exception as exc:
            name = class_id[-1] if class_id else "?"
            raise UnreadableValue(
                f"cannot rebuild {name}: {type(exc).__name__}: {exc}".splitlines()[0]
            ) from exc


def _list(value: Any, key: str) -> list[Any]:
    if type(value) is not list:
        raise UnreadableValue(f"bad {key} value {value!r:.80}: expected a list")
    return value
