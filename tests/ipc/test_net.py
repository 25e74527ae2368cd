"""pyarn.net: the one address parser every layer uses, and token services."""
from __future__ import annotations

import pytest

from pyarn import net
from pyarn.ipc.client import Connection
from pyarn.net import format_address, parse_address, split_authority, token_service
from pyarn.security.user import User


@pytest.mark.parametrize("text, expected", [
    ("nn:8020", ("nn", 8020)),
    (" nn:8020 ", ("nn", 8020)),
    ("[::1]:9000", ("::1", 9000)),
    ("hdfs://u@nn:8020/path", ("nn", 8020)),
    (("nn", 0), ("nn", 0)),
    (("nn", 65535), ("nn", 65535)),
])
def test_parse_address(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text, message", [
    ("h:99999", "invalid port '99999'"),  # the IPC client once took it (and failed in connect)
    ("h:80x", "invalid port '80x'"),
    ("h:-1", "invalid port"),
    ("h", "has no port"),
    ("::1:8020", r"\[brackets\]"),
    (":8020", "not a valid host:port"),
    ("h:1/x", "not a valid host:port"),
    ("[::1", "not a valid host:port"),
    (("h", 70000), "port must be an integer"),
    (("h", "8020"), "port must be an integer"),
    (("", 1), "host must be"),
    (("h",), "expected \\(host, port\\)"),
])
def test_parse_address_is_strict(text, message):
    with pytest.raises(ValueError, match=message):
        parse_address(text)


def test_default_port_and_authorities():
    assert parse_address("nn", 8020) == ("nn", 8020)
    assert parse_address("nn:", 8020) == ("nn", 8020)
    assert split_authority("alice@nn") == ("nn", None)
    assert split_authority("[fe80::1]:7") == ("fe80::1", 7)
    assert format_address(("fe80::1", 7)) == "[fe80::1]:7"
    assert format_address(("nn", 7)) == "nn:7"


def test_the_ipc_client_uses_the_strict_parser():
    with pytest.raises(ValueError, match="invalid port"):
        Connection("localhost:99999", "p", User("u"), client_id=bytes(16))


def test_token_service(monkeypatch):
    monkeypatch.setattr(net.socket, "gethostbyname", lambda host: {"nn.example.com": "10.0.0.7"}[host])
    assert token_service("nn.example.com", 8020) == "10.0.0.7:8020"
    assert token_service("NN.Example.com", 8020, use_ip=False) == "nn.example.com:8020"
    monkeypatch.setattr(net.socket, "gethostbyname", lambda host: (_ for _ in ()).throw(OSError("no")))
    assert token_service("unknown.invalid", 1) == "unknown.invalid:1"  # kept as it is
