"""Helpers of `activities dev`: the --port type, the port check before anything starts, the URL to print."""

from __future__ import annotations

import argparse
import errno
import socket

WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def local_url(host: str, port: int, path: str = "") -> str:
    """The URL to open on this machine for a server bound to host:port (wildcards become loopback)."""
    host = WILDCARD_HOSTS.get(host, host)
    return f"http://[{host}]:{port}{path}" if ":" in host else f"http://{host}:{port}{path}"


def port_in_use(host: str, port: int) -> bool:
    """True when host:port cannot be bound because something listens there (checked before starting anything)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror:
        return False  # uvicorn reports a bad host itself
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no conflict
        try:
            sock.bind(address)
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def tcp_port(value: str) -> int:
    """argparse type of --port."""
    port = int(value) if value.isdigit() else -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError("must be a TCP port, 1-65535")
    return port
