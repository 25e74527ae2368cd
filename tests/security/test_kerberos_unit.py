"""Kerberos pieces that need no KDC: server principal checks, keytab parsing, the missing extra."""
from __future__ import annotations

import struct
import sys

import pytest

from hadoop_protos.rpc_header_pb2 import RpcSaslProto
from pyarn.ipc.auth import KerberosTarget, client_negotiation
from pyarn.security import kerberos
from pyarn.security.kerberos import (
    KerberosCredentials,
    KerberosUnavailableError,
    KeytabError,
    ServerPrincipalError,
    canonical_host,
    check_server_principal,
    glob_regex,
    read_keytab_principals,
    short_name,
)

RM_KEY = "yarn.resourcemanager.principal"
ACP = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB"


def _check(conf, protocol="rm", server_id="localhost", host="127.0.0.1", realm="PYARN.TEST"):
    return check_server_principal(protocol, server_id, key=RM_KEY, conf=conf, server_host=host, realm=realm)


def test_host_pattern_becomes_the_servers_canonical_lower_case_name():
    assert canonical_host("127.0.0.1") == "localhost"
    assert canonical_host("LOCALHOST") == "localhost"
    assert _check({RM_KEY: "rm/_HOST@PYARN.TEST"}) == "rm/localhost@PYARN.TEST"
    assert _check({RM_KEY: "rm/_HOST@PYARN.TEST"}, host="localhost") == "rm/localhost@PYARN.TEST"
    assert _check({RM_KEY: "rm/localhost@PYARN.TEST"}) == "rm/localhost@PYARN.TEST"
    assert _check({RM_KEY: "rm/_HOST"}) == "rm/localhost@PYARN.TEST"  # the default realm fills in


def test_a_server_with_another_principal_is_refused():
    with pytest.raises(ServerPrincipalError, match=r"Server has invalid Kerberos principal: "
                       r"nn/localhost@PYARN.TEST, expecting: rm/localhost@PYARN.TEST \(yarn.resourcemanager"):
        _check({RM_KEY: "rm/_HOST@PYARN.TEST"}, protocol="nn")
    with pytest.raises(ServerPrincipalError, match="expecting: rm/localhost@OTHER.REALM"):
        _check({RM_KEY: "rm/_HOST@OTHER.REALM"})
    with pytest.raises(ServerPrincipalError, match="Failed to specify server's Kerberos principal name: set "
                                                   "yarn.resourcemanager.principal"):
        _check({})
    with pytest.raises(ServerPrincipalError, match="does NOT have the expected hostname part"):
        _check({RM_KEY: "rm@PYARN.TEST"})


def test_a_principal_pattern_replaces_the_exact_check():
    conf = {RM_KEY: "nobody/x@Y", RM_KEY + ".pattern": "{rm,nn}/*@PYARN.TEST"}
    assert _check(conf) == "rm/localhost@PYARN.TEST"
    assert _check(conf, protocol="nn", server_id="node7") == "nn/node7@PYARN.TEST"
    with pytest.raises(ServerPrincipalError, match="doesn't match the pattern"):
        _check(conf, protocol="dn")


@pytest.mark.parametrize("pattern, text, matches", [
    ("rm/*@R", "rm/h1.example@R", True), ("rm/?@R", "rm/ab@R", False), ("[a-c]x", "bx", True),
    ("[!a-c]x", "bx", False), ("a\\*b", "a*b", True), ("a\\*b", "axb", False), ("{a,b}c", "bc", True),
])
def test_hadoop_glob_patterns(pattern, text, matches):
    assert bool(glob_regex(pattern).match(text)) is matches


def test_short_names():
    assert short_name("alice@PYARN.TEST") == "alice"
    assert short_name("nn/localhost@PYARN.TEST") == "nn"
    assert short_name("bob") == "bob"


def _keytab_entry(components, realm, version=2):
    def counted(text):
        data = text.encode()
        return struct.pack(">H", len(data)) + data
    body = struct.pack(">H", len(components) + (1 if version == 1 else 0)) + counted(realm)
    body += b"".join(counted(c) for c in components)
    body += struct.pack(">IIB", 1, 0, 2) + struct.pack(">HH", 18, 4) + b"KEY!" + struct.pack(">I", 2)
    return struct.pack(">i", len(body)) + body


def test_keytab_principals_are_read_from_the_file(tmp_path):
    path = tmp_path / "k.keytab"
    path.write_bytes(b"\x05\x02" + _keytab_entry(["alice"], "R") + struct.pack(">i", -7) + b"\0" * 7
                     + _keytab_entry(["nn", "host1"], "R") + _keytab_entry(["alice"], "R"))
    assert read_keytab_principals(str(path)) == ["alice@R", "nn/host1@R"]
    (tmp_path / "bad").write_bytes(b"not a keytab")
    with pytest.raises(KeytabError, match="is not a Kerberos keytab"):
        read_keytab_principals(str(tmp_path / "bad"))
    (tmp_path / "cut").write_bytes(b"\x05\x02" + _keytab_entry(["alice"], "R")[:9])
    with pytest.raises(KeytabError, match="corrupt"):
        read_keytab_principals(str(tmp_path / "cut"))
    with pytest.raises(KeytabError, match="cannot read keytab"):
        read_keytab_principals(str(tmp_path / "missing.keytab"))


def test_without_the_gssapi_package_kerberos_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "gssapi", None)  # makes `import gssapi` fail
    with pytest.raises(KerberosUnavailableError) as info:
        KerberosCredentials.from_ticket_cache()
    message = str(info.value)
    assert "pip install 'pyarn[kerberos]'" in message and "\n" not in message
    negotiation = client_negotiation(None, kerberos=KerberosTarget(ACP, "localhost", {RM_KEY: "rm/_HOST@R"}))
    negotiation.start()
    offer = RpcSaslProto(state=RpcSaslProto.NEGOTIATE)
    offer.auths.add(method="KERBEROS", mechanism="GSSAPI", protocol="rm", serverId="localhost")
    with pytest.raises(KerberosUnavailableError, match=r"pyarn\[kerberos\]"):
        negotiation.receive(offer)


def test_protocols_without_kerberos_info_skip_kerberos():
    target = KerberosTarget("org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB", "localhost")
    auth = RpcSaslProto.SaslAuth(method="KERBEROS", mechanism="GSSAPI", protocol="rm", serverId="localhost")
    assert target.mechanism(auth, ()) is None
    assert kerberos.principal_key("org.example.Mine", {"org.example.Mine": "my.principal"}) == "my.principal"


def test_settings_collect_every_principal_key_of_the_configuration():
    from pyarn.ipc import IpcSettings

    settings = IpcSettings.from_conf({"hadoop.security.authentication": "kerberos",
                                      "hadoop.rpc.protection": "privacy,integrity",
                                      RM_KEY: "rm/_HOST@R", "dfs.namenode.kerberos.principal.pattern": "nn/*",
                                      "dfs.namenode.kerberos.principal": " ", "unrelated": "x"})
    assert settings.security_enabled
    pattern = "dfs.namenode.kerberos.principal.pattern"
    assert settings.principal_conf == {RM_KEY: "rm/_HOST@R", pattern: "nn/*"}


def test_one_principal_rule_for_client_and_server(monkeypatch):
    """Realm first, then _HOST: ``nn/_HOST`` works like ``nn/_HOST@REALM`` (Java leaves a
    realm-less ``_HOST`` alone, which then fails on both sides)."""
    from pyarn.security import principals
    from pyarn.security.principals import server_principal, substitute_host, with_realm

    assert server_principal("nn/_HOST", "127.0.0.1", "R") == "nn/localhost@R"
    assert server_principal("nn/_HOST@R", "LOCALHOST", "OTHER") == "nn/localhost@R"
    assert server_principal("nn/fixed.host", "127.0.0.1", "R") == "nn/fixed.host@R"
    assert server_principal("nn/_HOST", "127.0.0.1", None) == "nn/_HOST"  # no realm known: as Java
    assert substitute_host("nn/_HOST", "h") == "nn/_HOST" and with_realm("a@B", "C") == "a@B"
    monkeypatch.setattr(principals.socket, "getfqdn", lambda: "localhost")
    assert server_principal("nn/_HOST", None, "R") == "nn/localhost@R"  # the server's own host
    expected = server_principal("rm/_HOST", "127.0.0.1", "PYARN.TEST")
    assert _check({RM_KEY: "rm/_HOST"}, protocol="rm") == expected
