"""A real ``redis-server`` for a test: a free loopback port, a temporary directory.

Tests that need Redis take the ``redis_server`` fixture (``tests/conftest.py``); it skips
them, saying why, only when the ``redis-server`` binary is not installed (CI installs
it). :meth:`RedisServer.stop` with ``save=True`` writes the data to its directory first,
and :meth:`RedisServer.start` again loads it: Redis lost and back, its data intact.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["REDIS_SERVER", "RedisServer"]

REDIS_SERVER = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``redis-server`` on 127.0.0.1; ``url`` is database 0."""

    def __init__(self, directory: Path) -> None:
        assert REDIS_SERVER is not None
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        assert REDIS_SERVER is not None
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.directory),
                "--dbfilename", "dump.rdb",
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return self
            if self.process.poll() is not None:
                msg = f"redis-server exited with {self.process.returncode}"
                raise RuntimeError(msg)
            time.sleep(0.02)
        msg = "redis-server did not answer within 10 s"
        raise RuntimeError(msg)

    def command(self, *args: str) -> bytes:
        """One command over a plain socket (RESP); the raw reply."""
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(b"".join(parts))
            time.sleep(0.05)
            return sock.recv(1 << 20)

    def stop(self, *, save: bool = False) -> None:
        """Stop the server (``save``: write its data first, so a restart loads it)."""
        if self.process is None:
            return
        if save:  # one step: no write lands between the snapshot and the exit
            with contextlib.suppress(OSError):
                self.command("SHUTDOWN", "SAVE")
        else:
            self.process.terminate()
        self.process.wait(10)
        self.process = None
