"""A closed-loop HTTP/1.1 load generator on asyncio: each client sends one request, reads the
answer, and sends the next; a ``503 OVERLOADED`` is honoured by waiting its ``Retry-After-Ms``,
as a well-behaved caller does. Every answer is kept (status, error code, latency), so admitted
and refused requests have their own percentiles; wrk, which ``make bench`` uses, cannot tell
them apart.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    status: int
    code: str  # the error's machine-readable code, "" for a success
    latency_s: float
    at: float  # monotonic time the answer arrived


@dataclass
class Run:
    answers: list[Answer] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0  # connections that failed or timed out
    refused_by: dict[str, int] = field(default_factory=dict)  # the server's count, by reason

    def rate(self, status: int) -> float:
        return sum(1 for a in self.answers if a.status == status) / self.seconds

    def latencies(self, keep: Callable[[Answer], bool]) -> list[float]:
        return sorted(a.latency_s for a in self.answers if keep(a))


def percentile(sorted_values: list[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0..100) of already sorted values; 0 when empty."""
    if not sorted_values:
        return 0.0
    rank = math.ceil(q / 100 * len(sorted_values))
    return sorted_values[max(0, min(len(sorted_values), rank) - 1)]


Request = Callable[[int, int], bytes]  # (client, n) -> the bytes of one whole request


async def _one(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, dict[str, str], bytes]:
    writer.write(raw)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    if headers.get("connection", "").lower() == "close":
        raise _Closing(status, headers, body)
    return status, headers, body


class _Closing(Exception):
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__("server closed after answering")
        self.answer = (status, headers, body)


def _code(status: int, body: bytes) -> str:
    if status < 400:
        return ""
    try:
        return str(json.loads(body)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP_{status}"


async def _client(
    n: int, port: int, request: Request, stop_at: float, run: Run, timeout_s: float
) -> None:
    sent = 0
    reader = writer = None
    while time.monotonic() < stop_at:
        if writer is None:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                run.errors += 1
                await asyncio.sleep(0.05)
                continue
        assert reader is not None
        sent += 1
        started = time.monotonic()
        try:
            status, headers, body = await asyncio.wait_for(
                _one(reader, writer, request(n, sent)), timeout_s
            )
        except _Closing as closing:
            status, headers, body = closing.answer
            writer.close()
            writer = None
        except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError):
            run.errors += 1
            writer.close()
            writer = None
            continue
        now = time.monotonic()
        run.answers.append(Answer(status, _code(status, body), now - started, now))
        wait_ms = headers.get("retry-after-ms", "")
        if status == 503 and wait_ms.isdigit():
            await asyncio.sleep(int(wait_ms) / 1000)
    if writer is not None:
        writer.close()


async def once(port: int, raw: bytes, timeout_s: float = 15.0) -> Answer | None:
    """One request on a connection of its own; None when it got no answer."""
    started = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None
    try:
        status, _, body = await asyncio.wait_for(_one(reader, writer, raw), timeout_s)
    except _Closing as closing:
        status, _, body = closing.answer
    except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError):
        return None
    finally:
        writer.close()
    now = time.monotonic()
    return Answer(status, _code(status, body), now - started, now)


def load(
    port: int, clients: int, seconds: float, request: Request, *, timeout_s: float = 15.0
) -> Run:
    """``clients`` closed loops against 127.0.0.1:``port`` for ``seconds``."""
    run = Run()

    async def main() -> None:
        stop_at = time.monotonic() + seconds
        started = time.monotonic()
        await asyncio.gather(
            *(_client(n, port, request, stop_at, run, timeout_s) for n in range(clients))
        )
        run.seconds = time.monotonic() - started

    asyncio.run(main())
    return run


def post_json(
    path: str, headers: dict[str, str], body: Callable[[int, int], object], *, keyed: bool = True
) -> Request:
    """Requests that POST ``body(client, n)`` as JSON to ``path`` with ``headers`` (and a fresh
    ``Idempotency-Key`` each when ``keyed``)."""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    def request(client: int, n: int) -> bytes:
        data = json.dumps(body(client, n)).encode()
        key = f"Idempotency-Key: load-{client}-{n}-{time.monotonic_ns()}\r\n" if keyed else ""
        return (
            f"POST {path} HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\n"
            f"{key}{head}Content-Length: {len(data)}\r\n\r\n"
        ).encode() + data

    return request
