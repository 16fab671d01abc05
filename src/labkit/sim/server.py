"""The simulator as a real HTTP server on a loopback address (`labkit serve`).

Any HTTP client — the `anthropic` SDK given `base_url`, an agent framework, curl — can talk to the
same `SimAPI` that the in-process transports use, with the same routes, errors and headers. Each
response is held back until the simulated clock reaches its arrival plus its modelled latency; a
stream is sent as server-sent events in HTTP/1.1 chunks, each flushed at its modelled time, as the
real API paces them. The server's clock should be paced (`SimClock(pace=...)`): a client in another
process is not seen waiting, so only a real-time pause lets its concurrent requests overlap. The
`Date` header reads the same clock as the rate-limit `reset` headers. Only loopback addresses are
served: the simulator is a teaching tool, not a service for a network.
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..clock import Reading, waits_in
from ..errors import ConfigError
from .api import SimAPI
from .wire import SimRequest, SimResponse

# An in-process client of the server (a test, a notebook) waits for its answer in this C call.
with contextlib.suppress(ImportError, AttributeError):
    import httpcore2._backends.sync

    waits_in(httpcore2._backends.sync.SyncStream.read)

# Set by the server itself, never copied from a SimResponse.
HOP_BY_HOP = ("content-length", "transfer-encoding", "connection", "keep-alive")
SHUTDOWN_POLL_S = 0.05  # how often a background server checks whether to stop


class SimHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server answering every request from one `SimAPI`."""

    daemon_threads = True
    # socketserver's default backlog of 5 drops the connections of a 20-way `asyncio.gather`, and the
    # client only retries a dropped connection a second later.
    request_queue_size = 256

    def __init__(self, api: SimAPI, host: str, port: int, verbose: bool = False) -> None:
        check_loopback(host)
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.api = api
        self.verbose = verbose
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive for ordinary responses, chunked for streams
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK would add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server: SimHTTPServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
        """A reachability probe (the Claude Code CLI sends `HEAD /` before its first request): 200 and
        no body, on any path, without touching the simulator (no request is counted or limited)."""
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        url = urllib.parse.urlsplit(self.path)
        request = SimRequest(
            method=self.command,
            path=url.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            query=dict(urllib.parse.parse_qsl(url.query)),
        )
        arrived = self.server.api.clock.read()
        response = self.server.api.handle(request)
        try:
            if response.events is None:
                self._send(response, arrived)
            else:
                self._stream(response, arrived)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout): nothing to answer

    def _send(self, response: SimResponse, arrived: Reading) -> None:
        body = response.content()
        self.server.api.clock.sleep(response.latency, since=arrived)
        self._start(response)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, response: SimResponse, arrived: Reading) -> None:
        """Server-sent events, each in its own chunk, flushed at its modelled time."""
        self._start(response, {"content-type": "text/event-stream", "cache-control": "no-cache"})
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in response.stream():
            self.server.api.clock.sleep(event.at, since=arrived)
            data = event.encode()
            self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _start(self, response: SimResponse, defaults: dict[str, str] | None = None) -> None:
        self.send_response(response.status)
        headers = {**(defaults or {}), **{k.lower(): v for k, v in response.headers.items()}}
        for name, value in headers.items():
            if name not in HOP_BY_HOP:
                self.send_header(name, value)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header, on the simulated clock that the rate-limit `reset` headers use."""
        instant = self.server.api.clock.timestamp() if timestamp is None else timestamp
        return email.utils.formatdate(instant, usegmt=True)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        if self.server.verbose:
            super().log_message(format, *args)


def check_loopback(host: str) -> None:
    """Refuse any address but loopback: the simulator accepts any key and must not face a network."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(f"labkit serve only listens on loopback addresses (127.0.0.1, ::1, "
                          f"localhost), not {host!r}")


@contextlib.contextmanager
def running(api: SimAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[SimHTTPServer]:
    """Serve `api` from a background thread for the duration of a `with` block (port 0: any free
    port; read it from `server.url`)."""
    server = SimHTTPServer(api, host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S},
                              name="labkit-serve", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
