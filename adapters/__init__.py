"""Edges to other systems (SSE, NDJSON, WebSocket, AG-UI, AI SDK).

Installed as ``eventstream.adapters``; never importable as a top-level ``adapters``
package (that name belongs to an unrelated project on PyPI).
"""

__all__: list[str] = []
