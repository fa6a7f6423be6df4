"""The sandbox's HTTP server: Autotask's URL surface over a threaded stdlib server.

`Handler` only moves bytes; `SandboxApp.dispatch()` (`app.py`) turns one request into one
answer. `build_app()` and `start_sandbox()` make a sandbox from a store, a seed and settings.
"""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from apps.sandbox.app import Response, SandboxApp
from apps.sandbox.credentials import DEFAULT_CREDENTIALS, Credentials
from apps.sandbox.limits import Settings
from apps.sandbox.seed import seed_store
from apps.sandbox.store import Store

MAX_BODY_BYTES = 10 * 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AutotaskSandbox/1.0"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every answer on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(Response(413, {"errors": ["The request body is too large."]}))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        response = self.server.app.dispatch(method, self.path, self.headers, body, host)
        if response.action == "timeout":
            time.sleep(self.server.app.settings.timeout_seconds)
        if response.action in ("timeout", "drop", "lost"):
            self.close_connection = True
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        data = json.dumps(response.body, separators=(",", ":")).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    def log_message(self, format, *args):  # the request log is kept by SandboxApp
        return


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, app: SandboxApp):
        super().__init__(address, Handler)
        self.app = app
        self._thread = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start_in_background(self) -> "SandboxServer":
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def shutdown(self) -> None:
        super().shutdown()
        self.server_close()
        self.app.store.close()


def build_app(
    *,
    db: str | None = None,
    seed: str = "demo",
    credentials: Credentials = DEFAULT_CREDENTIALS,
    **settings,
) -> SandboxApp:
    store = Store(db)
    if store.is_empty():
        seed_store(store, seed)
    fault_settings = Settings()
    fault_settings.update(settings)
    return SandboxApp(store, credentials, fault_settings)


def start_sandbox(host: str = "127.0.0.1", port: int = 0, **options) -> SandboxServer:
    """Start a sandbox in a background thread (tests, benchmarks); returns the server."""
    server = SandboxServer((host, port), build_app(**options))
    return server.start_in_background()
