"""`chalice local` as the local stack runs it: `python -m chalicelib.admin.chalice_launcher
local --port ...` (chalice's own command line), its server answering each request in one
write on a connection with TCP_NODELAY.

Why: chalice's local server (http.server underneath, unbuffered) writes a response's headers
and its body in two sends. On a reused keep-alive connection the second small send waits,
under Nagle's algorithm, for the ACK of the first, which the client delays (about 40 ms on
Linux): every request after a connection's first stalled that long. Here the handler's output
is buffered (http.server flushes it once per request) and accepted sockets have TCP_NODELAY.
Nothing of chalice is imported until `apply` or `main` runs.
"""

from __future__ import annotations

import socket
import sys
from typing import Any


def apply() -> None:
    """Have chalice's command line create the server below (idempotent)."""
    from chalice import local

    if getattr(local.create_local_server, "one_write", False):
        return

    class Handler(local.ChaliceRequestHandler):
        wbufsize = -1  # buffered: one send per response (http.server flushes after each)

    class Server(local.ThreadedHTTPServer):
        def get_request(self) -> tuple[socket.socket, Any]:
            conn, address = super().get_request()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return conn, address

    def create_local_server(app_obj: Any, config: Any, host: str, port: int) -> Any:
        return local.LocalDevServer(
            app_obj, config, host, port, handler_cls=Handler, server_cls=Server
        )

    create_local_server.one_write = True  # type: ignore[attr-defined]
    local.create_local_server = create_local_server


def main(argv: list[str]) -> int:
    apply()
    from chalice.cli import cli

    # chalice's autoreloader starts its worker as `sys.argv`: the worker is launched here too.
    sys.argv = [sys.executable, "-m", "chalicelib.admin.chalice_launcher", *argv]
    cli.main(args=argv, prog_name="chalice", obj={})  # exits with chalice's own status
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
