"""Where a run lives on Redis, and the scripts that change it (no I/O here).

One run is two keys and a stream of entries, all under one prefix (``eventstream:``):

- ``{prefix}run:{id}``, a hash: ``status`` (``running``, ``completed``, ``failed``,
  ``cancelled``), ``owner`` (the ``process_id`` of the registry running it),
  ``events`` (how many were written: the next seq), ``bytes`` (the JSON kept),
  ``error`` (a finished run's safe message), ``cancel`` (set when a cancel was asked
  for), and ``subs:{process_id}`` (subscriptions attached on that process).
- ``{prefix}run:{id}:events``, a stream: event ``seq`` is entry ``0-{seq + 1}`` with one
  field ``e``, the event's JSON (:func:`eventstream.event_to_json`); the run's end is
  the entry after the last event, with one field ``end``: ``{"status", "error"}``.
  Explicit ids make every write idempotent and let a reader resume from a seq with
  ``XREAD`` (``after=k`` reads after entry ``0-{k + 1}``).
- ``{prefix}lease:{process_id}``: a key with a TTL that its process refreshes; a run
  whose owner's lease is gone has lost its owner.
- Channel ``{prefix}ctl:{process_id}``: ``cancel {id}`` and ``idle {id}`` for the owner.
- ``{prefix}wake:{process_id}``: a short stream a process adds to, to interrupt its own
  ``XREAD BLOCK`` when it starts reading one more run.

Each script is one atomic step, so a run on Redis is never half-written: a batch of
events is appended whole or not at all, and exactly one end is written, after every
event that was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__: list[str] = []  # the layout and the scripts are the Redis registry's own


@dataclass(frozen=True, slots=True)
class Keys:
    """The key names of one prefix."""

    prefix: str

    def meta(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}"

    def stream(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}:events"

    def lease(self, process_id: str) -> str:
        return f"{self.prefix}lease:{process_id}"

    def channel(self, process_id: str) -> str:
        return f"{self.prefix}ctl:{process_id}"

    def wake(self, process_id: str) -> str:
        return f"{self.prefix}wake:{process_id}"

    @property
    def channel_prefix(self) -> str:
        return f"{self.prefix}ctl:"

    @property
    def lease_prefix(self) -> str:
        return f"{self.prefix}lease:"


def entry_id(position: int) -> str:
    """The stream id of entry ``position`` (event seq + 1; 0 is 'before everything')."""
    return f"0-{position}"


def seq_of(stream_id: bytes) -> int:
    """The position an entry id stands for (``b"0-5"`` → 5)."""
    return int(stream_id.rpartition(b"-")[2])


def encode_end(status: str, error: str | None) -> str:
    return json.dumps({"status": status, "error": error}, separators=(",", ":"))


def decode_end(data: bytes) -> tuple[str, str | None]:
    end = json.loads(data)
    return str(end["status"]), end.get("error")


# Appends a batch of events if this process still owns the running run.
# KEYS: meta, stream. ARGV: owner, first seq, max events, max bytes, live ttl (ms), payloads…
# Returns "ok", "cancel" (written; a cancel is asked for), "fenced" (not ours or ended),
# or "hole" (an earlier batch is missing: the run cannot go on).
APPEND = """
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'events', 'bytes', 'cancel')
if st[1] ~= 'running' or st[2] ~= ARGV[1] then return 'fenced' end
local have = tonumber(st[3] or '0')
local seq = tonumber(ARGV[2])
local batch = #ARGV - 5
if have >= seq + batch then return 'ok' end
if have ~= seq then return 'hole' end
local bytes = tonumber(st[4] or '0')
for i = 6, #ARGV do
  seq = seq + 1
  redis.call('XADD', KEYS[2], '0-' .. seq, 'e', ARGV[i])
  bytes = bytes + #ARGV[i]
end
local maxlen = tonumber(ARGV[3])
local maxbytes = tonumber(ARGV[4])
local len = redis.call('XLEN', KEYS[2])
while len > 1 and (len > maxlen or bytes > maxbytes) do
  local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
  bytes = bytes - #oldest[2][2]
  local position = tonumber(string.match(oldest[1], '-(%d+)$'))
  redis.call('XTRIM', KEYS[2], 'MINID', '0-' .. (position + 1))
  len = len - 1
end
redis.call('HSET', KEYS[1], 'events', seq, 'bytes', bytes)
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if st[5] then return 'cancel' end
return 'ok'
"""

# Writes a run's end after its last event, once. KEYS: meta, stream.
# ARGV: owner ('' for anyone), status, end JSON, error, ttl (ms).
# Returns "ok", "ended" (it had ended already) or "gone" (no such run).
FINISH = """
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'events')
if not st[1] then return 'gone' end
if st[1] ~= 'running' or (ARGV[1] ~= '' and st[2] ~= ARGV[1]) then return 'ended' end
local events = tonumber(st[3] or '0')
redis.call('XADD', KEYS[2], '0-' .. (events + 1), 'end', ARGV[3])
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'error', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 'ok'
"""

# Ends a running run whose owner's lease is gone (its owner died). KEYS: meta, stream,
# the owner's lease. ARGV: owner, end JSON, error, ttl (ms). Returns 1 when it ended it.
ORPHAN = """
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'events')
if st[1] ~= 'running' or st[2] ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local events = tonumber(st[3] or '0')
redis.call('XADD', KEYS[2], '0-' .. (events + 1), 'end', ARGV[2])
redis.call('HSET', KEYS[1], 'status', 'failed', 'error', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
"""

# Asks a run's owner to cancel it. KEYS: meta. ARGV: channel prefix, run id.
# Returns -1 (no such run), 0 (it had finished) or 1.
CANCEL = """
local st = redis.call('HMGET', KEYS[1], 'status', 'owner')
if not st[1] then return -1 end
if st[1] ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'cancel', '1')
redis.call('PUBLISH', ARGV[1] .. st[2], 'cancel ' .. ARGV[2])
return 1
"""

# Counts a process's subscriptions to a run; tells the owner when they drop to none.
# KEYS: meta. ARGV: field (subs:{process}), delta, channel prefix, run id.
COUNT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if n <= 0 then
  local st = redis.call('HMGET', KEYS[1], 'status', 'owner')
  if st[1] == 'running' then redis.call('PUBLISH', ARGV[3] .. st[2], 'idle ' .. ARGV[4]) end
end
return n
"""
