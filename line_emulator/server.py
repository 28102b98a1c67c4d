"""The emulator's HTTP server: Django's threaded WSGI server with keep-alive, plus dropped connections.

A view asks for the connection to be dropped (the `reset` and `timeout` faults) by setting
`request.META[DROP_CONNECTION]`; the handler then closes the socket without writing a byte.
"""

import contextlib
import socket
import struct
from collections.abc import Iterable
from typing import Any

from django.core.servers.basehttp import ServerHandler, ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application

DROP_CONNECTION = "line_emulator.drop_connection"


class _ServerHandler(ServerHandler):
    # wsgiref's run() sets the first two; our request handler sets the third.
    environ: dict[str, Any]
    result: Iterable[bytes]
    request_handler: "_RequestHandler"

    def finish_response(self) -> None:
        if not self.environ.get(DROP_CONNECTION):
            super().finish_response()
            return
        if hasattr(self.result, "close"):
            self.result.close()
        handler = self.request_handler
        handler.close_connection = True
        handler.dropped = True
        # SO_LINGER 0: close() sends RST, so the client sees a reset, not a clean end of stream.
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raise ConnectionResetError("dropped by an injected fault")  # wsgiref swallows it quietly


class _RequestHandler(WSGIRequestHandler):
    # Headers and body are separate writes: with Nagle on, keep-alive clients wait out a delayed ACK.
    disable_nagle_algorithm = True
    dropped = False
    server: "EmulatorServer"
    connection: socket.socket  # type: ignore[assignment]  # django-stubs says a WSGIRequest; socketserver's is the socket

    def handle_one_request(self) -> None:
        # Django's handle_one_request with our ServerHandler.
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _ServerHandler(self.rfile, self.wfile, self.get_stderr(), self.get_environ())
        handler.request_handler = self
        app = self.server.get_app()
        assert app is not None  # serve() set it
        handler.run(app)

    def handle(self) -> None:
        # Django's handle() without the final shutdown(SHUT_WR): a dropped connection must not send FIN.
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            self.handle_one_request()
        if not self.dropped:
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_WR)

    def finish(self) -> None:
        if self.dropped:
            self.server.dropped.add(self.connection)
        super().finish()


class EmulatorServer(ThreadedWSGIServer):
    # Parallel pushes from a fan-out benchmark arrive faster than accept() when the backlog is 10.
    request_queue_size = 256

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dropped: set[socket.socket] = set()

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        if request in self.dropped:
            self.dropped.discard(request)
            self.close_request(request)
            return
        super().shutdown_request(request)


def serve(host: str, port: int, banner: str = "") -> None:
    server = EmulatorServer((host, port), _RequestHandler, ipv6=":" in host)
    server.set_app(get_wsgi_application())
    if banner:
        print(banner, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
