"""The real JavaScript clients (tests/js/clients.mjs), run from the tests.

Node and the pinned packages must be installed (``npm ci`` in ``tests/js``, as
``.ci/run`` does). Without them these tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from eventstream.adapters import sse_message

JS = Path(__file__).resolve().parents[1] / "js"

Json = dict[str, Any]


def require_clients() -> str:
    """The ``node`` executable; skips (fails under CI) when the clients are missing."""
    node = shutil.which("node")
    reason = None
    if node is None:
        reason = "node is not installed"
    elif not (JS / "node_modules" / "@ag-ui" / "client").is_dir():
        reason = f"the JS clients are not installed: run `npm ci` in {JS}"
    if reason is None:
        assert node is not None
        return node
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the JS client tests: {reason}")
    pytest.skip(reason)


async def run_clients(jobs: list[Json]) -> list[Json]:
    """Run jobs through clients.mjs in one Node process; their results, in order."""
    node = require_clients()
    process = await asyncio.create_subprocess_exec(
        node,
        str(JS / "clients.mjs"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=JS,
    )
    out, err = await asyncio.wait_for(process.communicate(json.dumps(jobs).encode()), 120)
    assert process.returncode == 0, err.decode()
    results: list[Json] = json.loads(out)
    return results


def sse_body(messages: Iterable[Json], *, done: bool = False) -> str:
    """A recorded response body: each message as an SSE ``data:`` frame."""
    body = "".join(sse_message(json.dumps(m)) for m in messages)
    return body + (sse_message("[DONE]") if done else "")


def no_nulls(value: Any, path: str = "") -> list[str]:
    """Where ``value`` holds a JSON ``null`` (optional fields must be left out)."""
    if value is None:
        return [path or "<root>"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in no_nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in no_nulls(v, f"{path}[{i}]")]
    return []
