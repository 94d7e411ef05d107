"""What a subscriber asks for, read from a URL's query and headers (sans-IO).

``types``, ``tags``, ``exclude_tags``, ``names``, ``run_types`` and ``inside`` take
comma-separated values (or the parameter repeated), as :func:`eventstream.select`
takes them; an empty value means "no criterion". ``after=<seq>`` resumes after that
event; the ``Last-Event-ID`` header, sent by a reconnecting ``EventSource``, wins over
it (the URL still carries the ``after`` of the first connection). Other parameters
are ignored. Anything malformed raises :class:`QueryError`, naming the parameter.
"""

from __future__ import annotations

from collections.abc import Iterable

from eventstream import EventStreamError, Selector

__all__ = ["SELECTION_PARAMS", "QueryError", "parse_resume", "parse_selection"]

SELECTION_PARAMS = ("types", "tags", "exclude_tags", "names", "run_types", "inside")


class QueryError(EventStreamError, ValueError):
    """A query parameter or header of a subscription request is malformed."""

    def __init__(self, message: str, *, param: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param


def parse_selection(params: Iterable[tuple[str, str]]) -> Selector | None:
    """A :class:`Selector` from query pairs; ``None`` when no criterion is given."""
    criteria: dict[str, list[str]] = {}
    for key, value in params:
        if key in SELECTION_PARAMS:
            values = criteria.setdefault(key, [])
            values.extend(part.strip() for part in value.split(",") if part.strip())
    criteria = {key: values for key, values in criteria.items() if values}
    if not criteria:
        return None
    try:
        return Selector(**criteria)
    except ValueError as exc:
        # The only criterion with a closed set of values.
        raise QueryError(str(exc), param="types") from exc


def parse_resume(after: str | None, last_event_id: str | None) -> int | None:
    """The seq to resume after, from ``Last-Event-ID`` or else ``after``; ``None``."""
    for param, value in (("Last-Event-ID", last_event_id), ("after", after)):
        if value is None or not value.strip():
            continue
        try:
            seq = int(value.strip())
        except ValueError:
            msg = f"expected the seq of an event (an integer), got {value!r}"
            raise QueryError(msg, param=param) from None
        if seq < -1:
            msg = f"expected a seq >= 0 (or -1 for 'from the start'), got {seq}"
            raise QueryError(msg, param=param)
        return seq
    return None
