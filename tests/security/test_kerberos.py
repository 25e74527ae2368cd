"""Kerberos end to end against a real MIT KDC: pyarn's IPC client and server over GSSAPI.

Every protection (auth, auth-int, auth-conf), ticket cache and keytab logins,
proxy users, TOKEN before KERBEROS, and each failure that must be fast and
clear: no ticket, an expired ticket, the wrong server principal, a keytab
without the principal, a lower protection than the server requires.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from hadoop_protos.security_pb2 import GetDelegationTokenRequestProto as Req
from pyarn.errors import AuthenticationError, PyarnError
from pyarn.ipc import IpcServer, IpcSettings, RpcClient, ServerAuth
from pyarn.ipc.auth import KerberosTarget
from pyarn.ipc.client import Connection
from pyarn.ipc.constants import AuthMethod, Qop
from pyarn.ipc.sasl import NoCommonProtectionError
from pyarn.ipc.sasl.negotiation import SaslAuth
from pyarn.security.kerberos import (
    KerberosCredentials,
    KerberosError,
    KerberosService,
    KeytabError,
    NoTicketError,
    ServerPrincipalError,
    TicketExpiredError,
)
from pyarn.security.user import User

from ..ipc.support import PROTOCOL_NAME, TEST_PROTOCOL, EchoHandler, UserSecretManager, make_token
from ..ipc.test_qop_wire import MARKER, PROTECTIONS, TcpRelay
from .kdc import OTHER_USER, SERVICE, USER, TestKdc, kdc_fixture  # noqa: F401 (the kdc fixture)

PRINCIPAL_KEY = "pyarn.test.principal"
FAST = 2.0  # seconds: "fails fast"


def _settings(*qops: Qop, principal: str = "pyarn/_HOST@PYARN.TEST", pattern: str = "") -> IpcSettings:
    principals = {PRINCIPAL_KEY: principal}
    if pattern:
        principals[PRINCIPAL_KEY + ".pattern"] = pattern
    return IpcSettings(authentication="kerberos", qops=qops or (Qop.AUTH,), principals=principals,
                       principal_keys={PROTOCOL_NAME: PRINCIPAL_KEY}, connect_timeout=2.0, rpc_timeout=5.0)


def _server(kdc: TestKdc, *qops: Qop, methods=(AuthMethod.KERBEROS,)) -> IpcServer:
    service = KerberosService(kdc.principal(SERVICE), str(kdc.keytab(SERVICE)))
    secrets = UserSecretManager() if AuthMethod.TOKEN in methods else None
    auth = ServerAuth(methods=methods, kerberos=service, qops=qops or (Qop.AUTH,), secret_manager=secrets)
    server = IpcServer(auth=auth, idle_timeout=5.0)
    server.register(TEST_PROTOCOL, EchoHandler())
    return server.start()


SOMEBODY = User("somebody")


def _whoami(client: RpcClient, address: str, user: User = SOMEBODY, **kwargs):
    token = client.proxy(address, TEST_PROTOCOL, user, **kwargs).call("whoami", Req(renewer="")).token
    return token.identifier.decode(), token.kind, token.service


@pytest.mark.parametrize("protection", ["authentication", "integrity", "privacy"])
def test_kerberos_calls_at_each_protection(kdc, monkeypatch, protection):
    qop = PROTECTIONS[protection]
    monkeypatch.setenv("KRB5CCNAME", kdc.ccache(USER))
    with _server(kdc, qop) as server, RpcClient(_settings(qop)) as client:
        assert _whoami(client, server.address_string) == ("alice", "KERBEROS", "")
        proxy = client.proxy(server.address_string, TEST_PROTOCOL, User("somebody"))
        big = "k" * 250_000
        assert proxy.call("echo", Req(renewer=big)).token.identifier == big.encode()
        connection = Connection(server.address_string, PROTOCOL_NAME, User("x"), client_id=b"C" * 16,
                                settings=_settings(qop))
        with connection:
            assert connection.auth_method is AuthMethod.KERBEROS and connection.qop is qop


def test_the_client_prefers_its_first_protection_the_server_offers(kdc, monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", kdc.ccache(USER))
    with _server(kdc, Qop.AUTH, Qop.AUTH_INT, Qop.AUTH_CONF) as server:
        for qops, agreed in (((Qop.AUTH_INT, Qop.AUTH_CONF), Qop.AUTH_INT),
                             ((Qop.AUTH_CONF, Qop.AUTH), Qop.AUTH_CONF), ((Qop.AUTH,), Qop.AUTH)):
            connection = Connection(server.address_string, PROTOCOL_NAME, User("x"), client_id=b"C" * 16,
                                    settings=_settings(*qops))
            with connection:
                assert connection.qop is agreed


def test_keytab_login_needs_no_ticket_cache_and_changes_none(kdc):
    login = KerberosCredentials.from_keytab(OTHER_USER, str(kdc.keytab(OTHER_USER)))
    assert login.principal == "bob@PYARN.TEST" and login.ccache.startswith("MEMORY:")
    with _server(kdc, Qop.AUTH_CONF) as server, RpcClient(_settings(Qop.AUTH_CONF), kerberos=login) as client:
        assert _whoami(client, server.address_string) == ("bob", "KERBEROS", "")
    assert not (kdc.dir / "default.ccache").exists()  # the default ticket cache was never written


def test_a_proxy_user_is_sent_as_the_effective_user(kdc, monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", kdc.ccache(USER))
    with _server(kdc) as server, RpcClient(_settings()) as client:
        assert _whoami(client, server.address_string, User("carol", real_user="alice@PYARN.TEST")) == (
            "carol", "KERBEROS", "alice")


def test_token_first_when_the_client_holds_one(kdc, monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", kdc.ccache(USER))
    methods = (AuthMethod.TOKEN, AuthMethod.KERBEROS)
    with _server(kdc, Qop.AUTH_INT, methods=methods) as server, RpcClient(_settings(Qop.AUTH_INT)) as client:
        address = server.address_string
        assert _whoami(client, address, User("dave"), token=make_token("dave")) == ("dave", "TOKEN", "")
        assert _whoami(client, address, User("dave")) == ("alice", "KERBEROS", "")


def _fails_fast(client: RpcClient, address: str, error, match: str) -> AuthenticationError:
    started = time.monotonic()
    with pytest.raises(error, match=match) as info:
        _whoami(client, address)
    assert time.monotonic() - started < FAST
    assert "\n" not in str(info.value)
    return info.value


def test_a_principal_without_realm_means_the_same_on_both_sides(kdc, monkeypatch):
    """``pyarn/_HOST`` with no realm: the realm is added first, then _HOST substituted, on the
    server (its login) as on the client (its check of what the server advertises)."""
    from pyarn.security import principals

    monkeypatch.setattr(principals.socket, "getfqdn", lambda: "localhost")
    monkeypatch.setenv("KRB5CCNAME", kdc.ccache(USER))
    service = KerberosService("pyarn/_HOST", str(kdc.keytab(SERVICE)))
    assert service.principal == kdc.principal(SERVICE)
    auth = ServerAuth(methods=(AuthMethod.KERBEROS,), kerberos=service)
    with IpcServer(auth=auth, idle_timeout=5.0) as server, \
            RpcClient(_settings(principal="pyarn/_HOST")) as client:
        server.register(TEST_PROTOCOL, EchoHandler())
        assert _whoami(client, server.address_string) == ("alice", "KERBEROS", "")


def test_no_ticket_fails_fast_naming_it(kdc, monkeypatch, tmp_path):
    with _server(kdc) as server, RpcClient(_settings()) as client:
        _fails_fast(client, server.address_string, NoTicketError, r"no Kerberos ticket.*kinit")
        monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'nothing-here'}")
        error = _fails_fast(client, server.address_string, NoTicketError, "no Kerberos ticket")
        assert "nothing-here" in str(error)
    with pytest.raises(NoTicketError):
        KerberosCredentials.from_ticket_cache()


def test_an_expired_ticket_fails_fast_naming_it(kdc, monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", kdc.expired_ccache(USER))
    with _server(kdc) as server, RpcClient(_settings()) as client:
        _fails_fast(client, server.address_string, TicketExpiredError, r"ticket.*has expired; run kinit")


def test_a_ticket_that_expires_later_is_reported_on_the_next_connection(kdc, monkeypatch, tmp_path):
    ccache = tmp_path / "short.ccache"
    monkeypatch.setenv("KRB5CCNAME", kdc.kinit(USER, ccache))
    with _server(kdc) as server, RpcClient(_settings()) as client:
        assert _whoami(client, server.address_string)[0] == "alice"
        client.close()
    monkeypatch.setenv("KRB5CCNAME", kdc.expired_ccache(USER))
    with _server(kdc) as server, RpcClient(_settings()) as client:
        _fails_fast(client, server.address_string, TicketExpiredError, "expired")


def test_the_wrong_server_principal_fails_fast_naming_both(kdc, monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", kdc.ccache(USER))
    with _server(kdc) as server:
        with RpcClient(_settings(principal="rm/_HOST@PYARN.TEST")) as client:
            _fails_fast(client, server.address_string, ServerPrincipalError,
                        r"invalid Kerberos principal: pyarn/localhost@PYARN.TEST, expecting: "
                        r"rm/localhost@PYARN.TEST \(pyarn.test.principal\)")
        with RpcClient(_settings(principal="")) as client:
            _fails_fast(client, server.address_string, ServerPrincipalError, "set pyarn.test.principal")
        with RpcClient(_settings(pattern="rm/*")) as client:
            _fails_fast(client, server.address_string, ServerPrincipalError, "doesn't match the pattern: rm/")
        with RpcClient(_settings(pattern="pyarn/*@PYARN.TEST")) as client:
            assert _whoami(client, server.address_string)[0] == "alice"


def test_a_server_principal_the_kdc_does_not_know_fails_fast_naming_it(kdc, monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", kdc.ccache(USER))
    target = KerberosTarget(PROTOCOL_NAME, "localhost", {PRINCIPAL_KEY: "ghost/_HOST@PYARN.TEST"},
                            {PROTOCOL_NAME: PRINCIPAL_KEY})
    mechanism = target.mechanism(SaslAuth(method="KERBEROS", mechanism="GSSAPI", protocol="ghost",
                                          serverId="localhost"), (Qop.AUTH,))
    started = time.monotonic()
    with pytest.raises(KerberosError, match="service ticket for ghost/localhost@PYARN.TEST: .*not found"):
        mechanism.evaluate_challenge(b"")
    assert time.monotonic() - started < FAST


def test_a_keytab_without_the_principal_fails_naming_what_it_holds(kdc):
    started = time.monotonic()
    with pytest.raises(KeytabError, match=r"principal alice@PYARN.TEST not found in keytab .*holds: bob@"):
        KerberosCredentials.from_keytab(USER, str(kdc.keytab(OTHER_USER)))
    with pytest.raises(KeytabError, match="cannot read keytab"):
        KerberosCredentials.from_keytab(USER, str(Path(kdc.dir) / "absent.keytab"))
    with pytest.raises(KeytabError, match="not found in keytab"):
        KerberosService(kdc.principal(SERVICE), str(kdc.keytab(USER)))
    assert time.monotonic() - started < FAST


@pytest.mark.parametrize("client_protection, server_protection", [
    ("authentication", "privacy"), ("integrity", "privacy"), ("privacy", "authentication")])
def test_mismatched_protection_fails_fast_and_says_so(kdc, monkeypatch, client_protection, server_protection):
    monkeypatch.setenv("KRB5CCNAME", kdc.ccache(USER))
    with _server(kdc, PROTECTIONS[server_protection]) as server, \
            RpcClient(_settings(PROTECTIONS[client_protection])) as client:
        error = _fails_fast(client, server.address_string, NoCommonProtectionError,
                            "No common protection layer between client and server")
    assert client_protection in str(error) and server_protection in str(error)


@pytest.mark.parametrize("protection, visible", [("authentication", True), ("integrity", True),
                                                 ("privacy", False)])
def test_privacy_keeps_every_application_byte_off_the_wire(kdc, monkeypatch, protection, visible):
    qop = PROTECTIONS[protection]
    monkeypatch.setenv("KRB5CCNAME", kdc.ccache(USER))
    with _server(kdc, qop) as server, TcpRelay(server.address) as relay, RpcClient(_settings(qop)) as client:
        proxy = client.proxy(relay.address, TEST_PROTOCOL, User("somebody"))
        assert proxy.call("echo", Req(renewer=MARKER)).token.identifier == MARKER.encode()
        client.close()
        captured = relay.captured()
    assert (MARKER.encode() in captured) is visible
    assert (PROTOCOL_NAME.encode() in captured) is visible
    assert b"alice@PYARN.TEST" in captured or not visible  # the context's user, in clear only without privacy


def test_garbage_gssapi_tokens_are_refused_on_both_sides(kdc, monkeypatch):
    from hadoop_protos.rpc_header_pb2 import RpcSaslProto
    from pyarn.errors import SaslError

    service = KerberosService(kdc.principal(SERVICE), str(kdc.keytab(SERVICE)))
    auth = ServerAuth(methods=(AuthMethod.KERBEROS,), kerberos=service)
    initiate = RpcSaslProto(state=RpcSaslProto.INITIATE, token=b"\x60\x82garbage")
    initiate.auths.add(method="KERBEROS", mechanism="GSSAPI", protocol="pyarn", serverId="localhost")
    with pytest.raises(SaslError, match="GSS initiate failed"):
        auth.negotiation().receive(initiate)

    monkeypatch.setenv("KRB5CCNAME", kdc.ccache(USER))
    target = KerberosTarget(PROTOCOL_NAME, "localhost", {PRINCIPAL_KEY: "pyarn/_HOST@PYARN.TEST"},
                            {PROTOCOL_NAME: PRINCIPAL_KEY})
    advertised = SaslAuth(method="KERBEROS", mechanism="GSSAPI", protocol="pyarn", serverId="localhost")
    mechanism = target.mechanism(advertised, (Qop.AUTH_CONF,))
    assert mechanism.evaluate_challenge(b"")  # the AP-REQ
    with pytest.raises(AuthenticationError, match="does not check out"):
        mechanism.evaluate_challenge(b"\x6f\x10not an AP-REP")


def test_login_user_is_the_ticket_principals_short_name(kdc):
    from pyarn.security.user import User

    conf = {"hadoop.security.authentication": "kerberos"}
    env = {"KRB5CCNAME": kdc.ccache(USER), "HADOOP_USER_NAME": "ignored-under-kerberos"}
    assert User.login(conf, env=env).name == USER
    # Without a ticket (a container holding only tokens) it is the OS user, as in Java.
    no_ticket = {"KRB5CCNAME": "FILE:/nonexistent/pyarn-no-ticket"}
    assert User.login(conf, env=no_ticket).name == User.current({}).name
    # Simple auth keeps HADOOP_USER_NAME.
    assert User.login({"hadoop.security.authentication": "simple"}, env=env).name == "ignored-under-kerberos"


def test_process_keytab_login_serves_connections_without_a_ticket_cache(kdc, monkeypatch):
    from pyarn.security import kerberos
    from pyarn.security.user import User

    monkeypatch.setenv("KRB5CCNAME", "FILE:/nonexistent/pyarn-no-ticket")
    monkeypatch.setattr(kerberos, "_login_user", None)
    with _server(kdc, Qop.AUTH) as server, RpcClient(_settings(Qop.AUTH)) as client:
        with pytest.raises(NoTicketError):
            _whoami(client, server.address_string)
        login = kerberos.login_from_keytab(kdc.principal(USER), str(kdc.keytab(USER)))
        assert kerberos.login_user() is login
        assert _whoami(client, server.address_string) == ("alice", "KERBEROS", "")
        assert User.login({"hadoop.security.authentication": "kerberos"}).name == "alice"


def test_the_login_user_is_the_principal_mapped_by_the_clusters_rules(kdc, monkeypatch):
    """As Java's getShortUserName: hadoop.security.auth_to_local, not just the first component."""
    monkeypatch.setenv("KRB5CCNAME", kdc.ccache(USER))
    rules = {"hadoop.security.authentication": "kerberos",
             "hadoop.security.auth_to_local": f"RULE:[1:$1@$0]({USER}@{kdc.realm})s/.*/analyst/ DEFAULT"}
    assert User.login(rules).name == "analyst"
    assert User.login({"hadoop.security.authentication": "kerberos"}).name == USER
    with pytest.raises(PyarnError, match=f"Illegal principal name {USER}@{kdc.realm}: No rules applied"):
        User.login({"hadoop.security.authentication": "kerberos",
                    "hadoop.security.auth_to_local": "RULE:[2:$1@$0](.*)s/@.*//"})
