"""What importing pyarn costs: a client loads no server and no SASL mechanism it does not use."""
from __future__ import annotations

import subprocess
import sys

from pyarn.ipc import auth
from pyarn.ipc.sasl import DigestMd5Client, DigestMd5Server, GssapiClient, GssapiServer

_LOADED = """
import sys
{statement}
print(" ".join(sorted(m for m in sys.modules if m.startswith(("pyarn", "hadoop_protos", "google")))))
"""


def loaded(statement: str) -> set:
    out = subprocess.run([sys.executable, "-c", _LOADED.format(statement=statement)], check=True,
                         capture_output=True, text=True).stdout
    return set(out.split())


def test_packages_load_nothing_until_a_name_is_used():
    for package in ("pyarn.ipc", "pyarn.yarn", "pyarn.hdfs", "pyarn.ipc.sasl"):
        modules = loaded(f"import {package}")
        assert not any(m.startswith(("hadoop_protos", "google")) for m in modules), (package, modules)


def test_a_client_loads_no_server_and_no_mechanism():
    modules = loaded("from pyarn import Client; Client\nfrom pyarn.hdfs import HDFS")
    for absent in ("pyarn.ipc.server", "pyarn.ipc.server_connection", "pyarn.ipc.sasl.digest_md5",
                   "pyarn.ipc.sasl.digest_layer", "pyarn.ipc.sasl.gssapi"):
        assert absent not in modules
    assert "pyarn.ipc.client" in modules


def test_a_token_connection_loads_digest_md5_only_then():
    modules = loaded("from pyarn.ipc.auth import client_negotiation\n"
                     "from pyarn.security.tokens import Token\n"
                     "client_negotiation(Token(b'i', b'p', 'K'))")
    assert "pyarn.ipc.sasl.digest_md5" not in modules  # not even then: only once the server offers it


def test_mechanism_names_match_the_mechanisms():
    assert auth.DIGEST_MD5 == DigestMd5Client.name == DigestMd5Server.name
    assert auth.GSSAPI == GssapiClient.name == GssapiServer.name
