"""Partial JSON of a streaming tool call: one string field as it is written, and the
arguments parsed so far.

Contract. :class:`FieldStreamer` is a sans-IO state machine over the JSON text of a
tool call's arguments (an object), fed fragment by fragment as the model streams it:
``feed(fragment) -> str`` returns the decoded characters of one top-level string field
that this fragment completes, ``""`` when it completes none. Escapes are decoded,
``\\uXXXX`` surrogate pairs are joined into one character, and a character is returned
only once it is whole: an escape cut by a fragment boundary is held back (at most 12
characters: a high surrogate's ``\\uD83D`` and the start of its low half) until the
next fragment completes it. The concatenated results equal ``json.loads(text)[field]``.

Cost: linear in the text, flat per fragment. Inside the field a fragment without ``"``
or ``\\`` is returned as it is (two ``in`` scans, no copy); one with an escape or the
closing quote is decoded by json's own C string scanner, after a look at its last 12
characters for an escape its end may cut. The rest of the text (keys, the other
arguments) is read character by character. Nothing grows with the field's length: the
streamer keeps its state, what it holds back, the key being read, and the open brackets
and the text of a scalar of the other arguments it skips.

What is checked: the top-level object's structure (keys, colons, commas, braces), the
field's string (escapes, hex digits), the other arguments' strings and bracket nesting,
and each scalar (with ``json.loads``, which also takes ``NaN`` and ``Infinity``). Not
checked: commas and colons inside nested values of other arguments (the complete text's
full parse, ``ToolCall.args``, reports those). Like ``json.loads``, a lone surrogate
escape gives a lone surrogate character; unlike it, raw control characters inside
strings are accepted (as ``json.loads(..., strict=False)`` does). A repeated key streams
its first value only (``json.loads`` keeps the last). Bad input raises
:class:`PartialJSONError` quoting the text where it went wrong; so does every later
call. (It quotes rather than counts: counting the characters of every fragment would
cost the one-scan path a fifth of its time, for an error that models rarely cause and
that the complete text's parse, ``ToolCall.error``, locates by line and column.)

:func:`partial_args` parses an arguments text cut anywhere with pydantic-core's
``from_json(..., allow_partial="trailing-strings")``: O(n) for each call, so calling it
at every fragment costs O(n²) over a call (see benchmark B9). Use it for a progress view
of short arguments; stream a long string field with :class:`FieldStreamer`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from json import decoder
from typing import Any

from pydantic_core import from_json

from eventstream._errors import PartialJSONError

__all__ = ["FieldStreamer", "PartialJSONError", "partial_args"]

# The states of :class:`FieldStreamer` (ints: compared once per character outside the
# field, never inside it).
_OBJECT = 0  # before the top-level '{'
_FIRST_KEY = 1  # after '{': a key or '}'
_KEY = 2  # after ',': a key
_IN_KEY = 3  # inside a key's string
_COLON = 4  # after a key
_VALUE = 5  # after ':'
_IN_FIELD = 6  # inside the streamed field's string
_IN_STRING = 7  # inside another string (a value, or a string in a nested value)
_NESTED = 8  # inside a nested array or object of another argument
_SCALAR = 9  # inside a number, true, false or null
_AFTER_VALUE = 10  # after a value: ',' or '}'
_END = 11  # after the closing '}'
_FAILED = 12

_WHITESPACE = frozenset(" \t\n\r")
_SCALAR_START = frozenset("-0123456789tfnNI")  # NaN, Infinity: as json.loads
_SPECIAL = re.compile(r'["\\]')
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_HIGH = re.compile(r"[dD][89abAB][0-9a-fA-F]{2}")  # a high surrogate's 4 hex digits
_SIMPLE_ESCAPES = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
_CLOSING = {"{": "}", "[": "]"}
# json's C string scanner (``scanstring(text, end, strict) -> (value, index after the
# closing quote)``): public in the module, absent from its type stubs.
_scanstring: Callable[[str, int, bool], tuple[str, int]] = decoder.scanstring  # type: ignore[attr-defined]
_EXPECTED = {
    _OBJECT: "'{' (tool arguments are a JSON object)",
    _FIRST_KEY: "a key or '}'",
    _KEY: "a key (a string)",
    _COLON: "':' after the key",
    _VALUE: "a value",
    _AFTER_VALUE: "',' or '}'",
    _END: "nothing after the closing '}'",
}


class _Bad(Exception):
    """Raised inside the scanner; becomes a PartialJSONError quoting the text."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


def _code_point(text: str, start: int) -> int:
    """The value of the 4 hex digits at ``text[start:]`` (the caller checked they exist)."""
    digits = text[start : start + 4]
    if _HEX4.fullmatch(digits) is None:
        raise _Bad(f"\\u must be followed by 4 hex digits, got {digits!r}", start - 2)
    return int(digits, 16)


def _unescape(text: str, at: int) -> tuple[str | None, int]:
    """Decode the escape starting with the backslash at ``text[at]``.

    Returns the character(s) and the index after the escape, or ``(None, at)`` when the
    text ends before the escape is whole (or before it is known whether a high
    surrogate has its low half).
    """
    end = len(text)
    if at + 1 >= end:
        return None, at
    kind = text[at + 1]
    simple = _SIMPLE_ESCAPES.get(kind)
    if simple is not None:
        return simple, at + 2
    if kind != "u":
        raise _Bad(f"invalid escape '\\{kind}' in a string", at)
    if at + 6 > end:
        return None, at
    code = _code_point(text, at + 2)
    if not 0xD800 <= code < 0xDC00:
        return chr(code), at + 6
    # A high surrogate: joined with a following low surrogate escape into one character.
    low_at = at + 6
    if low_at + 1 >= end:
        return None, at
    if text[low_at] != "\\" or text[low_at + 1] != "u":
        return chr(code), low_at
    if low_at + 6 > end:
        return None, at
    low = _code_point(text, low_at + 2)
    if 0xDC00 <= low < 0xE000:
        return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), low_at + 6
    return chr(code), low_at


def _starts_escape(text: str, at: int) -> bool:
    """Whether the backslash at ``text[at]`` starts an escape (rather than ending a
    ``\\\\`` pair): ``text`` starts at a character boundary of the string."""
    first = at
    while first > 0 and text[first - 1] == "\\":
        first -= 1
    return (at - first) % 2 == 0


def _whole(text: str) -> int:
    """How much of ``text`` (inside the field's string, starting at a character
    boundary) can be decoded now: all of it, or up to an escape the text's end may cut
    (``\\``, ``\\u`` with fewer than 4 digits) or a high surrogate's escape whose low
    half may follow. Looks at the last 12 characters only."""
    end = len(text)
    at = text.rfind("\\", max(0, end - 6))
    if at < 0 or not _starts_escape(text, at):
        return end
    if at + 1 < end and text[at + 1] != "u":
        return end  # a whole one-letter escape (or a bad one: the scanner says so)
    if at + 6 <= end and not (at + 6 == end and _HIGH.fullmatch(text, at + 2, end)):
        return end  # a whole \uXXXX, not a high surrogate at the very end
    high = at - 6
    if (
        high >= 0
        and text.startswith("\\u", high)
        and _HIGH.fullmatch(text, high + 2, at)
        and _starts_escape(text, high)
    ):
        return high  # its low half is what is still coming
    return at


class FieldStreamer:
    """Streams one top-level string field out of a tool call's JSON arguments.

    ``feed(fragment)`` for each fragment of the arguments text, in order; it returns
    the field's decoded characters that fragment completed. ``found`` says the field's
    string has begun, ``done`` that it has ended, ``complete`` that the whole object
    has closed. ``close()`` checks that the text ended where a complete object ends.
    See the module's docstring for what is checked and what it costs.
    """

    __slots__ = (
        "_error",
        "_escaped",
        "_fast",
        "_held",
        "_key",
        "_key_text",
        "_scalar",
        "_stack",
        "_state",
        "complete",
        "done",
        "field",
        "found",
    )

    def __init__(self, field: str) -> None:
        if not isinstance(field, str) or not field:
            msg = f"field must be a non-empty string (an argument's name), got {field!r}"
            raise ValueError(msg)
        self.field = field
        """The name of the top-level argument streamed."""
        self.found = False
        """Whether the field's string has begun."""
        self.done = False
        """Whether the field's string has ended (every character returned)."""
        self.complete = False
        """Whether the whole arguments object has closed."""
        self._state = _OBJECT
        self._fast = False  # inside the field, nothing held back: the one-scan path
        self._held = ""  # an incomplete escape of the field, kept for the next fragment
        self._key: list[str] = []  # raw text of the key being read
        self._key_text: str | None = None  # the decoded key whose value comes next
        self._stack: list[str] = []  # open brackets of a nested value being skipped
        self._scalar: list[str] = []  # text of the scalar being read
        self._escaped = False  # a skipped string's backslash ended the last fragment
        self._error: PartialJSONError | None = None

    def feed(self, fragment: str) -> str:
        """The field's characters that ``fragment`` completes ("" for none)."""
        if self._fast and '"' not in fragment and "\\" not in fragment:
            return fragment
        return self._scan(fragment)

    def close(self) -> None:
        """Check that the text fed is a complete JSON object; raise
        :class:`PartialJSONError` saying where it stopped if not."""
        if self._error is not None:
            raise self._error
        if self._state == _END:
            return
        where = "inside the field's string" if self._state == _IN_FIELD else "before its '}'"
        msg = f"the arguments ended {where} (an incomplete JSON object)"
        raise PartialJSONError(msg)

    def _scan(self, fragment: str) -> str:
        if self._error is not None:
            raise self._error
        held = self._held
        text = held + fragment if held else fragment
        self._held = ""
        if self._state == _IN_FIELD:
            # An escape or the closing quote. json's C scanner decodes the string up to
            # its quote (ours, added, when the field goes on); what may be the start of
            # an escape cut by the fragment's end is held back for the next fragment.
            # A bad escape makes the scanner fail: the long way, below, says which.
            cut = _whole(text)
            if cut == 0:
                self._held = text
                self._fast = False
                return ""
            try:
                value, after = _scanstring(
                    text[:cut] + '"' if cut < len(text) else text + '"', 0, False
                )
            except ValueError:
                pass
            else:
                if after <= cut:  # the field's closing quote is in this text
                    self.done = True
                    self._state = _AFTER_VALUE
                    self._fast = False
                    return value + self._scan(text[after:]) if after < len(text) else value
                self._held = text[cut:]
                self._fast = not self._held
                return value
        try:
            out = self._run(text)
        except _Bad as bad:
            self._state = _FAILED
            self._fast = False
            near = text[max(0, bad.index - 19) : bad.index + 1]
            self._error = PartialJSONError(str(bad), near=near)
            raise self._error from None
        self._fast = self._state == _IN_FIELD and not self._held
        return out

    def _run(self, text: str) -> str:
        out: list[str] = []
        state = self._state
        end = len(text)
        i = 0
        while i < end:
            if state == _IN_FIELD:
                match = _SPECIAL.search(text, i)
                if match is None:
                    out.append(text[i:])
                    break
                j = match.start()
                if j > i:
                    out.append(text[i:j])
                if text[j] == '"':
                    self.done = True
                    state = _AFTER_VALUE
                    i = j + 1
                    continue
                decoded, i = _unescape(text, j)
                if decoded is None:
                    self._held = text[j:]
                    break
                out.append(decoded)
                continue
            if state in (_IN_STRING, _IN_KEY):
                i = self._skip_string(text, i, state == _IN_KEY)
                if i < 0:
                    break
                if state == _IN_KEY:
                    self._key_text = self._decode_key(i - 1)
                    state = _COLON
                else:
                    state = _NESTED if self._stack else _AFTER_VALUE
                continue
            char = text[i]
            if state == _SCALAR:
                if char in _WHITESPACE or char in ",}]":
                    self._end_scalar(i)
                    state = _NESTED if self._stack else _AFTER_VALUE
                    continue  # the delimiter belongs to the next state
                self._scalar.append(char)
            elif char in _WHITESPACE:
                pass
            elif state == _NESTED:
                if char == '"':
                    state = _IN_STRING
                elif char in "{[":
                    self._stack.append(char)
                elif char in "}]":
                    opened = self._stack.pop()
                    if _CLOSING[opened] != char:
                        raise _Bad(f"{char!r} closes a {opened!r}", i)
                    if not self._stack:
                        state = _AFTER_VALUE
                elif char in _SCALAR_START:
                    self._scalar = [char]
                    state = _SCALAR
            elif state == _VALUE:
                state = self._value(char, i)
            elif state == _OBJECT and char == "{":
                state = _FIRST_KEY
            elif state in (_FIRST_KEY, _KEY) and char == '"':
                self._key = []
                state = _IN_KEY
            elif state == _COLON and char == ":":
                state = _VALUE
            elif state == _AFTER_VALUE and char == ",":
                state = _KEY
            elif state in (_FIRST_KEY, _AFTER_VALUE) and char == "}":
                self.complete = True
                state = _END
            else:
                raise _Bad(f"expected {_EXPECTED[state]}, found {char!r}", i)
            i += 1
        self._state = state
        return "".join(out)

    def _value(self, char: str, at: int) -> int:
        """The state after the first character of a value."""
        is_field = self._key_text == self.field and not self.found
        if char == '"':
            if is_field:
                self.found = True
                return _IN_FIELD
            return _IN_STRING
        if is_field:
            msg = f"the field {self.field!r} is not a string: its value starts with {char!r}"
            raise _Bad(msg, at)
        if char in "{[":
            self._stack = [char]
            return _NESTED
        if char in _SCALAR_START:
            self._scalar = [char]
            return _SCALAR
        raise _Bad(f"expected a value, found {char!r}", at)

    def _skip_string(self, text: str, at: int, keep: bool) -> int:
        """Read a string not streamed up to its closing quote; the index after it, or
        -1 when the text ends first. ``keep`` collects the raw text (a key)."""
        i = at
        end = len(text)
        while i < end:
            if self._escaped:
                self._escaped = False
                if text[i] not in _SIMPLE_ESCAPES and text[i] != "u":
                    raise _Bad(f"invalid escape '\\{text[i]}' in a string", i - 1)
                i += 1
                continue
            match = _SPECIAL.search(text, i)
            if match is None:
                break
            j = match.start()
            if text[j] == '"':
                if keep:
                    self._key.append(text[at:j])
                return j + 1
            self._escaped = True
            i = j + 1
        if keep:
            self._key.append(text[at:])
        return -1

    def _decode_key(self, at: int) -> str:
        raw = "".join(self._key)
        self._key = []
        try:
            key = json.loads(f'"{raw}"', strict=False)
        except ValueError as exc:
            raise _Bad(f"a key is not a valid JSON string ({exc.args[0]})", at) from None
        assert isinstance(key, str)
        return key

    def _end_scalar(self, at: int) -> None:
        text = "".join(self._scalar)
        self._scalar = []
        try:
            json.loads(text)
        except ValueError:
            raise _Bad(f"{text!r} is not a JSON value", at) from None


def partial_args(text: str) -> dict[str, Any]:
    """The arguments parsed so far from a tool call's JSON text, cut anywhere.

    Complete keys with their values, and the string being written so far (``{"city":
    "Par`` gives ``{"city": "Par"}``); a key whose value has not begun is left out, and
    a number at the very end may still grow. ``{}`` for empty text. Raises
    :class:`PartialJSONError` when the text cannot be the start of a JSON object.
    One full parse per call (pydantic-core, ``allow_partial="trailing-strings"``).
    """
    if not text or text.isspace():
        return {}
    try:
        value = from_json(text, allow_partial="trailing-strings")
    except ValueError as exc:
        msg = f"not the start of a JSON object: {exc}"
        raise PartialJSONError(msg) from exc
    if not isinstance(value, dict):
        msg = f"the arguments are JSON but not an object: {text[:60]!r}"
        raise PartialJSONError(msg)
    return value
