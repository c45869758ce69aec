"""`activities dev` helpers: the URL it prints for a bind address, and the port check before anything starts."""

from __future__ import annotations

import socket

import pytest

from app.cli.dev_cmd import local_url, port_in_use
from app.cli.main import build_parser


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000/graphql"),
        ("0.0.0.0", "http://127.0.0.1:8000/graphql"),  # all interfaces: open it through loopback here
        ("::", "http://[::1]:8000/graphql"),
        ("::1", "http://[::1]:8000/graphql"),
        ("localhost", "http://localhost:8000/graphql"),
    ],
)
def test_local_url(host: str, url: str) -> None:
    assert local_url(host, 8000, "/graphql") == url


def test_port_in_use() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert port_in_use("127.0.0.1", port)
    assert not port_in_use("127.0.0.1", port)


def test_host_and_port_flags() -> None:
    args = build_parser().parse_args(["dev", "--host", "0.0.0.0", "--port", "8080", "--demo"])
    assert (args.host, args.port, args.demo) == ("0.0.0.0", 8080, True)
    defaults = build_parser().parse_args(["dev"])
    assert (defaults.host, defaults.port, defaults.demo) == (None, None, False)  # settings decide
