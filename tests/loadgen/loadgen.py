#!/usr/bin/env python3
"""A small, bounded HTTP load generator (Python 3.11 standard library only).

It runs on the controller and inside the Debian 12 test containers (their system python3), so it
needs no package. N connections, each a keep-alive HTTP/1.1 connection driven by asyncio, send
requests one after the other until --max-seconds or --max-requests is reached or --stop-file
appears. A connection that fails is counted and replaced, and the run carries on.

    loadgen.py http://127.0.0.1:8080/ --connections 20 --max-seconds 60 --max-requests 200000
    loadgen.py https://127.0.0.1/healthz --cafile ca.pem --host web1 --sni web1 \
        --stop-file /tmp/deploy-done --max-seconds 300

It prints one JSON report on stdout:

    {"url", "connections", "duration_s", "stopped_by": "max-seconds|max-requests|stop-file",
     "attempts", "requests", "status": {"200": n, "502": m}, "non2xx",
     "errors": {"connect", "read", "write", "timeout"}, "errors_total", "reconnects",
     "stale_retries", "requests_per_s", "latency_ms": {"p50", "p90", "p99", "max"},
     "series": [{"second", "requests", "non2xx", "errors", "p99_ms"}]}

"requests" counts complete responses (any status); an attempt that ends in a socket error counts
under "errors" by kind: connect (refused, unreachable, TLS handshake, or no connection within the
timeout), write (sending the request), read (the connection closed or reset before a complete
response, or a malformed response), timeout (no complete response within --timeout).
"attempts" = requests + errors_total and never exceeds --max-requests. Latency covers complete
responses only, from sending the request to the last byte of the body. A request sent on a
kept-alive connection that the server had just closed (no byte of an answer) is sent again once on
a new connection, as browsers do, and counted in "stale_retries" (--no-retry-stale: a read error).

Only loopback and private or link-local addresses (the project's own test instances) are
accepted as targets; any other address is refused before a connection is made. Exit status: 0,
or 1 with --fail-on-error when any request got a non-2xx answer or a socket error, 2 on bad usage.
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import socket
import ssl
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ERROR_KINDS = ("connect", "read", "write", "timeout")
MAX_HEADER_BYTES = 64 * 1024


class ReadError(Exception):
    """The connection ended or the response was malformed before a complete response."""

    def __init__(self, message: str, nothing_received: bool = False):
        super().__init__(message)
        self.nothing_received = nothing_received


class WriteError(Exception):
    """Sending the request failed."""

    nothing_received = True


class ConnectError(Exception):
    """No connection (refused, unreachable, TLS handshake failure, connect timeout)."""


@dataclass
class Second:
    requests: int = 0
    non2xx: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)


@dataclass
class Stats:
    started: float
    attempts: int = 0
    status: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ERROR_KINDS, 0))
    reconnects: int = 0
    stale_retries: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: dict[int, Second] = field(default_factory=dict)

    def _second(self) -> Second:
        return self.seconds.setdefault(int(time.monotonic() - self.started), Second())

    def response(self, status: int, latency: float) -> None:
        self.status[status] = self.status.get(status, 0) + 1
        self.latencies.append(latency)
        sec = self._second()
        sec.requests += 1
        sec.latencies.append(latency)
        if not 200 <= status < 300:
            sec.non2xx += 1

    def error(self, kind: str) -> None:
        self.errors[kind] += 1
        self._second().errors += 1


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * pct // 100))  # ceil(n * pct / 100), at least 1
    return sorted_values[int(rank) - 1]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


@dataclass
class Target:
    scheme: str
    host: str  # where to connect
    port: int
    path: str
    host_header: str
    ssl_context: ssl.SSLContext | None
    server_hostname: str | None


def build_target(args: argparse.Namespace) -> Target:
    url = urlsplit(args.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"the URL must be http:// or https:// with a host, got {args.url!r}")
    port = url.port or (443 if url.scheme == "https" else 80)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    default_port = port == (443 if url.scheme == "https" else 80)
    netloc_host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    host_header = args.host or (netloc_host if default_port else f"{netloc_host}:{port}")
    context, server_hostname = None, None
    if url.scheme == "https":
        context = ssl.create_default_context(cafile=args.cafile)
        if args.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        server_hostname = args.sni or url.hostname
    elif args.cafile or args.sni or args.insecure:
        raise ValueError("--cafile, --sni and --insecure apply to https:// URLs only")
    return Target(url.scheme, url.hostname, port, path, host_header, context, server_hostname)


def check_address(host: str, port: int) -> list[str]:
    """Resolve the target; refuse anything but loopback, private and link-local addresses."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ValueError(f"cannot resolve {host!r}: {exc}") from exc
    addresses = sorted({info[4][0] for info in infos})
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not (ip.is_loopback or ip.is_private or ip.is_link_local):
            raise ValueError(f"{host!r} resolves to {address}, which is neither loopback nor a private "
                             "address: this tool only loads this machine and the project's test instances")
    return addresses


def request_bytes(args: argparse.Namespace, target: Target) -> bytes:
    lines = [f"{args.method} {target.path} HTTP/1.1", f"Host: {target.host_header}",
             "User-Agent: loadgen/1", "Accept: */*", "Connection: keep-alive"]
    lines += args.header
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_response(reader: asyncio.StreamReader, method: str) -> tuple[int, bool]:
    """Read one response; return (status, keep_alive). Raise ReadError on EOF or bad input."""
    try:
        try:
            first = await reader.readexactly(1)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError) as exc:
            raise ReadError(f"closed before any answer ({type(exc).__name__})", nothing_received=True) from exc
        pending = first
        while True:
            status_line = pending + await reader.readuntil(b"\r\n")
            pending = b""
            parts = status_line.decode("latin-1").split(None, 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
                raise ReadError(f"malformed status line {status_line[:80]!r}")
            version, status = parts[0], int(parts[1])
            headers: dict[str, str] = {}
            size = 0
            while True:
                line = await reader.readuntil(b"\r\n")
                size += len(line)
                if size > MAX_HEADER_BYTES:
                    raise ReadError("response headers too large")
                if line == b"\r\n":
                    break
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if 100 <= status < 200:  # interim response: the real one follows
                continue
            break
        connection = headers.get("connection", "").lower()
        keep_alive = ("close" not in connection) and (version == "HTTP/1.1" or "keep-alive" in connection)
        if method == "HEAD" or status in (204, 304):
            return status, keep_alive
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size_line = await reader.readuntil(b"\r\n")
                chunk = int(size_line.split(b";", 1)[0].strip(), 16)
                if chunk == 0:
                    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                        pass
                    break
                await reader.readexactly(chunk + 2)
        elif "content-length" in headers:
            await reader.readexactly(int(headers["content-length"]))
        else:  # the body ends with the connection
            await reader.read()
            keep_alive = False
        return status, keep_alive
    except ReadError:
        raise
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ssl.SSLError,
            ValueError, OSError) as exc:
        raise ReadError(f"{type(exc).__name__}: {exc}") from exc


class Run:
    def __init__(self, args: argparse.Namespace, target: Target):
        self.args = args
        self.target = target
        self.request = request_bytes(args, target)
        self.stats = Stats(started=time.monotonic())
        self.stop = asyncio.Event()
        self.stopped_by: str | None = None

    def halt(self, why: str) -> None:
        if not self.stop.is_set():
            self.stopped_by = why
            self.stop.set()

    def take_ticket(self) -> bool:
        if self.stop.is_set():
            return False
        if self.stats.attempts >= self.args.max_requests:
            self.halt("max-requests")
            return False
        self.stats.attempts += 1
        return True

    async def connect(self):
        t = self.target
        try:
            async with asyncio.timeout(self.args.timeout):
                return await asyncio.open_connection(
                    t.host, t.port, ssl=t.ssl_context, server_hostname=t.server_hostname,
                    limit=MAX_HEADER_BYTES)
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            raise ConnectError(f"{type(exc).__name__}: {exc}") from exc

    async def one(self, conn) -> tuple[int, bool]:
        reader, writer = conn
        async with asyncio.timeout(self.args.timeout):
            try:
                writer.write(self.request)
                await writer.drain()
            except (ConnectionError, OSError, ssl.SSLError) as exc:
                raise WriteError(f"{type(exc).__name__}: {exc}") from exc
            return await read_response(reader, self.args.method)

    async def exchange(self, conn, reused: bool):
        """One request; a kept-alive connection that the server had closed is retried once.

        A server may close an idle keep-alive connection (nginx does on reload, after
        keepalive_requests, after keepalive_timeout) while our next request is on its way; nothing
        of an answer arrives. Like browsers and other HTTP clients (RFC 9112, 9.3.1) the request is
        sent again on a new connection, and counted in stale_retries; --no-retry-stale counts it as
        an error instead. A connection that fails on its first request is never retried.
        """
        try:
            return conn, *(await self.one(conn))
        except (ReadError, WriteError) as exc:
            if not (reused and exc.nothing_received and self.args.retry_stale):
                raise
            close(conn)
            self.stats.stale_retries += 1
            self.stats.reconnects += 1
            if self.args.verbose:
                print(f"loadgen: retrying on a new connection: {exc}", file=sys.stderr)
        conn = await self.connect()
        try:
            return conn, *(await self.one(conn))
        except BaseException:
            close(conn)
            raise

    async def worker(self) -> None:
        conn = None
        had_connection = False
        try:
            while self.take_ticket():
                try:
                    sent = time.monotonic()
                    reused = conn is not None
                    if conn is None:
                        if had_connection:
                            self.stats.reconnects += 1
                        conn = await self.connect()
                        had_connection = True
                    conn, status, keep_alive = await self.exchange(conn, reused)
                    self.stats.response(status, time.monotonic() - sent)
                    if not keep_alive:
                        close(conn)
                        conn = None
                    if self.args.pause:
                        # Think time: each connection waits this long before its next request.
                        try:
                            async with asyncio.timeout(self.args.pause):
                                await self.stop.wait()
                        except TimeoutError:
                            pass
                except (ConnectError, WriteError, ReadError, TimeoutError) as exc:
                    kind = {ConnectError: "connect", WriteError: "write", ReadError: "read"}.get(
                        type(exc), "timeout")
                    self.stats.error(kind)
                    if self.args.verbose:
                        print(f"loadgen: {kind} error: {exc}", file=sys.stderr)
                    if conn is not None:
                        close(conn)
                        conn = None
                    if kind == "connect":
                        # A refused connection fails at once: pause a little before the next try.
                        try:
                            async with asyncio.timeout(self.args.reconnect_delay):
                                await self.stop.wait()
                        except TimeoutError:
                            pass
        finally:
            if conn is not None:
                close(conn)

    async def watch(self) -> None:
        """Stop when the stop file appears."""
        while not self.stop.is_set():
            if self.args.stop_file and os.path.exists(self.args.stop_file):
                self.halt("stop-file")
                return
            try:
                async with asyncio.timeout(0.1):
                    await self.stop.wait()
            except TimeoutError:
                pass

    async def run(self) -> dict:
        workers = [asyncio.create_task(self.worker()) for _ in range(self.args.connections)]
        watcher = asyncio.create_task(self.watch())
        done, pending = await asyncio.wait(workers, timeout=self.args.max_seconds)
        if pending:  # the time limit: requests still in flight are abandoned and not counted
            self.halt("max-seconds")
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self.halt(self.stopped_by or "max-requests")
        await watcher
        for task in done:
            if task.exception() is not None:
                raise task.exception()
        return self.report(time.monotonic() - self.stats.started)

    def report(self, duration: float) -> dict:
        s = self.stats
        requests = sum(s.status.values())
        non2xx = sum(n for code, n in s.status.items() if not 200 <= code < 300)
        lat = sorted(s.latencies)
        last = max(s.seconds) if s.seconds else -1
        series = []
        for second in range(last + 1):
            sec = s.seconds.get(second, Second())
            series.append({"second": second, "requests": sec.requests, "non2xx": sec.non2xx,
                           "errors": sec.errors, "p99_ms": ms(percentile(sorted(sec.latencies), 99))})
        return {
            "url": self.args.url,
            "connections": self.args.connections,
            "duration_s": round(duration, 3),
            "stopped_by": self.stopped_by,
            "attempts": requests + sum(s.errors.values()),
            "requests": requests,
            "status": {str(code): s.status[code] for code in sorted(s.status)},
            "non2xx": non2xx,
            "errors": dict(s.errors),
            "errors_total": sum(s.errors.values()),
            "reconnects": s.reconnects,
            "stale_retries": s.stale_retries,
            "requests_per_s": round(requests / duration, 1) if duration > 0 else None,
            "latency_ms": {"p50": ms(percentile(lat, 50)), "p90": ms(percentile(lat, 90)),
                           "p99": ms(percentile(lat, 99)), "max": ms(lat[-1] if lat else None)},
            "series": series,
        }


def close(conn) -> None:
    writer = conn[1]
    try:
        writer.transport.abort()
    except Exception:  # noqa: BLE001 - the transport may already be gone
        pass


def positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url", help="http:// or https:// URL (loopback or a private address only)")
    p.add_argument("-c", "--connections", type=positive(int), default=20,
                   help="concurrent keep-alive connections (default: %(default)s)")
    p.add_argument("--max-seconds", type=positive(float), default=30.0,
                   help="stop after this many seconds (default: %(default)s)")
    p.add_argument("--max-requests", type=positive(int), default=1_000_000,
                   help="stop after this many attempts, errors included (default: %(default)s)")
    p.add_argument("--stop-file", help="stop as soon as this file exists")
    p.add_argument("--timeout", type=positive(float), default=10.0,
                   help="seconds for one request, and for one connect (default: %(default)s)")
    p.add_argument("--pause", type=float, default=0.0,
                   help="seconds each connection waits after an answer before its next request "
                        "(think time; 0: as fast as the server answers)")
    p.add_argument("--reconnect-delay", type=float, default=0.01,
                   help="pause after a failed connect, seconds (default: %(default)s)")
    p.add_argument("--host", help="Host header (default: from the URL)")
    p.add_argument("--sni", help="TLS server name, also the name the certificate is checked against "
                   "(default: the URL's host)")
    p.add_argument("--cafile", help="CA bundle that signed the server certificate (https)")
    p.add_argument("--insecure", action="store_true", help="do not verify the server certificate (https)")
    p.add_argument("--no-retry-stale", dest="retry_stale", action="store_false",
                   help="count a kept-alive connection closed by the server before any answer as a read "
                   "error instead of retrying the request once on a new connection")
    p.add_argument("--method", choices=("GET", "HEAD"), default="GET")
    p.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="extra request header (repeatable)")
    p.add_argument("--fail-on-error", action="store_true",
                   help="exit 1 when any request got a non-2xx answer or a socket error")
    p.add_argument("-v", "--verbose", action="store_true", help="print each socket error on stderr")
    args = p.parse_args(argv)
    if args.reconnect_delay < 0:
        p.error("--reconnect-delay must not be negative")
    if args.pause < 0:
        p.error("--pause must not be negative")
    for header in args.header:
        if ":" not in header or "\r" in header or "\n" in header:
            p.error(f"--header must be 'Name: value' on one line, got {header!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        target = build_target(args)
        check_address(target.host, target.port)
    except (ValueError, OSError, ssl.SSLError) as exc:
        print(f"loadgen: {exc}", file=sys.stderr)
        return 2
    report = asyncio.run(Run(args, target).run())
    print(json.dumps(report, indent=1))
    if args.fail_on_error and (report["non2xx"] or report["errors_total"]):
        print(f"loadgen: {report['non2xx']} non-2xx answers, socket errors {report['errors']}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
