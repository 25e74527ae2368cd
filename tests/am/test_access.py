"""pyarn-am's application ACLs: client-to-AM tokens name the caller, the spec's ``acls`` decide.

The AM's handler is served over IPC as pyarn-am serves it (TOKEN auth, the
AuthorizedHandler); clients present the application token or client-to-AM
tokens made as a ResourceManager makes them.
"""
from __future__ import annotations

import hashlib
import hmac

import pytest

from hadoop_protos.pyarn_rpc import PYARN_APP_MASTER
from pyarn._varint import encode_varint
from pyarn.am.access import METHOD_ACCESS, Access, AccessPolicy, AuthorizedHandler
from pyarn.am.security import AppSecretManager, Caller
from pyarn.app_client import ApplicationClient
from pyarn.application.kv import KvTimeoutError
from pyarn.application.security import new_secret
from pyarn.conf import Configuration
from pyarn.errors import AccessControlError, InvalidTokenError, SaslError
from pyarn.ipc import IpcServer, ServerAuth
from pyarn.ipc.constants import AuthMethod
from pyarn.security.acl import AccessControlList
from pyarn.security.auth_to_local import AuthToLocal
from pyarn.spec import ACLs
from pyarn.yarn.client_to_am import ClientToAMIdentifier, client_to_am_password, client_to_am_token
from pyarn.yarn.ids import ApplicationAttemptId

from .test_service import AM, APP_ID, FAST

ATTEMPT = ApplicationAttemptId.parse("appattempt_1700000000000_0042_000001")
REALM = "EXAMPLE.COM"
GROUPS = {"carol": frozenset({"ops"}), "dave": frozenset({"staff"})}


# ------------------------------------------------------------------ the token itself


def test_the_client_token_identifier_is_the_rms_protobuf_bytes():
    identifier = ClientToAMIdentifier(ATTEMPT, "bob@EXAMPLE.COM").to_bytes()
    app = b"\x08" + encode_varint(42) + b"\x10" + encode_varint(1700000000000)
    attempt = b"\x0a" + bytes([len(app)]) + app + b"\x10\x01"
    assert identifier == b"\x0a" + bytes([len(attempt)]) + attempt + b"\x12\x0fbob@EXAMPLE.COM"
    assert ClientToAMIdentifier.from_bytes(identifier) == ClientToAMIdentifier(ATTEMPT, "bob@EXAMPLE.COM")
    key = b"k" * 64
    assert client_to_am_password(key, identifier) == hmac.new(key, identifier, hashlib.sha1).digest()
    token = client_to_am_token(key, ATTEMPT, "bob@EXAMPLE.COM")
    assert (token.kind, token.service, token.identifier) == ("YARN_CLIENT_TOKEN", "", identifier)


@pytest.mark.parametrize("identifier", [b"\xff\xff", b"", b"\x12\x03bob"])
def test_a_malformed_client_token_identifier_is_an_invalid_token(identifier):
    with pytest.raises(InvalidTokenError):
        ClientToAMIdentifier.from_bytes(identifier)


def test_the_secret_manager_checks_each_kind_of_token():
    secret, key = new_secret(), b"m" * 64
    manager = AppSecretManager(APP_ID, secret, "alice")
    token = client_to_am_token(key, ATTEMPT, "bob@EXAMPLE.COM")
    with pytest.raises(InvalidTokenError, match="no client-to-AM tokens"):
        manager.retrieve_password(token.identifier)
    manager.set_client_token_master_key(ATTEMPT, key)
    assert manager.retrieve_password(token.identifier) == token.password
    assert manager.caller_of(token.identifier) == Caller("bob@EXAMPLE.COM")
    other_attempt = ApplicationAttemptId.parse("appattempt_1700000000000_0042_000002")
    with pytest.raises(InvalidTokenError, match="new application report"):
        manager.retrieve_password(client_to_am_token(key, other_attempt, "bob").identifier)
    other_app = ApplicationAttemptId.parse("appattempt_1700000000000_0043_000001")
    with pytest.raises(InvalidTokenError, match="is for application_1700000000000_0043"):
        manager.retrieve_password(client_to_am_token(key, other_app, "bob").identifier)
    with pytest.raises(ValueError):
        manager.set_client_token_master_key(ATTEMPT, b"")


# ------------------------------------------------------------------ the policy


def _policy(acls: ACLs, admins=None) -> AccessPolicy:
    return AccessPolicy(APP_ID, "alice", acls, admins=admins, short_name=AuthToLocal("DEFAULT", REALM),
                        groups=lambda user: GROUPS.get(user, frozenset()))


def test_every_method_of_the_protocol_has_an_access_rule():
    assert set(METHOD_ACCESS) == set(PYARN_APP_MASTER.methods)
    assert {m for m, a in METHOD_ACCESS.items() if a is Access.VIEW} == {
        "getSpec", "getContainers", "kvRange", "kvWait", "kvWatch"}


def test_without_acls_only_the_owner_and_secret_holders_get_in():
    policy = _policy(ACLs())
    policy.check(Caller("alice@EXAMPLE.COM"), Access.MODIFY)
    policy.check(Caller("alice", via_secret=True), Access.MODIFY)
    with pytest.raises(AccessControlError, match=f"User bob does not have VIEW access to {APP_ID} "
                                                 r"\(the application's ACLs are not enabled"):
        policy.check(Caller("bob@EXAMPLE.COM"), Access.VIEW)


def test_acls_grant_view_and_modify_separately_by_user_and_group():
    policy = _policy(ACLs(enable=True, view_users=["bob"], view_groups=["staff"], modify_groups=["ops"]))
    policy.check(Caller("bob@EXAMPLE.COM"), Access.VIEW)
    policy.check(Caller("dave@EXAMPLE.COM"), Access.VIEW)
    policy.check(Caller("carol@EXAMPLE.COM"), Access.MODIFY)
    with pytest.raises(AccessControlError, match="User bob does not have MODIFY access"):
        policy.check(Caller("bob@EXAMPLE.COM"), Access.MODIFY)
    with pytest.raises(AccessControlError, match="User carol does not have VIEW access"):
        policy.check(Caller("carol@EXAMPLE.COM"), Access.VIEW)
    with pytest.raises(AccessControlError, match="No rules applied to bob@OTHER.REALM"):
        policy.check(Caller("bob@OTHER.REALM"), Access.VIEW)


def test_a_wildcard_lets_everybody_in_and_admins_get_in_when_cluster_acls_are_on():
    policy = _policy(ACLs(enable=True, view_users=["*"]), admins=AccessControlList.parse("root "))
    policy.check(Caller("anyone@EXAMPLE.COM"), Access.VIEW)
    policy.check(Caller("root@EXAMPLE.COM"), Access.MODIFY)
    with pytest.raises(AccessControlError):
        policy.check(Caller("anyone@EXAMPLE.COM"), Access.MODIFY)


def test_the_policy_reads_the_clusters_acl_settings():
    conf = Configuration({"yarn.acl.enable": "true", "yarn.admin.acl": "root admins"})
    policy = AccessPolicy.from_conf(APP_ID, "alice", ACLs(), conf)
    assert policy.admins == AccessControlList(frozenset({"root"}), frozenset({"admins"}))
    assert AccessPolicy.from_conf(APP_ID, "alice", ACLs(), Configuration({})).admins is None


@pytest.mark.parametrize("text, users, groups, everyone", [
    ("*", (), (), True), (" * ", (), (), True), ("a,b g1", ("a", "b"), ("g1",), False),
    (" g1,g2", (), ("g1", "g2"), False), ("", (), (), False), ("a, *", (), (), True),
    ("a,* g", ("a", "*"), ("g",), False),
])
def test_acl_strings_read_as_hadoop_reads_them(text, users, groups, everyone):
    acl = AccessControlList.parse(text)
    assert (acl.users, acl.groups, acl.everyone) == (frozenset(users), frozenset(groups), everyone)


# ------------------------------------------------------------------ over the wire


@pytest.fixture
def served():
    """The AM's handler behind the ACLs (view: bob; modify: group ops) with a master key set."""
    am, secret, key = AM(), new_secret(), b"q" * 64
    manager = AppSecretManager(APP_ID, secret, "alice")
    manager.set_client_token_master_key(ATTEMPT, key)
    policy = _policy(ACLs(enable=True, view_users=["bob"], modify_groups=["ops"]))
    server = IpcServer(auth=ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=manager), idle_timeout=5.0,
                       handler_threads=am.handler.handler_threads)
    server.register(PYARN_APP_MASTER, AuthorizedHandler(am.handler, policy, manager.caller_of))
    with server:
        yield server, am, secret, key
    am.kv.close()


def _as(server, key, name):
    return ApplicationClient(server.address_string, APP_ID, token=client_to_am_token(key, ATTEMPT, name),
                             settings=FAST)


def test_a_viewer_reads_but_may_not_change_anything(served):
    server, am, _, key = served
    with _as(server, key, "bob@EXAMPLE.COM") as bob:
        assert bob.get_specification().name == "served"
        assert len(bob.get_containers()) == 2
        assert bob.kv.get("missing") is None
        with pytest.raises(KvTimeoutError):  # a long poll is a view: it runs, and times out
            bob.kv.wait("missing", timeout=0.05)
        with pytest.raises(AccessControlError, match=f"User bob does not have MODIFY access to {APP_ID}"):
            bob.scale("web", count=5)
        with pytest.raises(PermissionError):
            bob.kv["k"] = b"v"
        with pytest.raises(PermissionError):
            bob.shutdown("KILLED")
    assert len(am.scheduler.containers()) == 2 and not am.scheduler.finished


def test_a_modifier_by_group_changes_but_may_not_view(served):
    server, am, _, key = served
    with _as(server, key, "carol@EXAMPLE.COM") as carol:
        assert [c.id for c in carol.scale("web", count=3)] == ["web_2"]
        with pytest.raises(AccessControlError, match="User carol does not have VIEW access"):
            carol.get_specification()


def test_the_owner_by_client_token_and_secret_holders_do_everything(served):
    server, am, secret, key = served
    with _as(server, key, "alice@EXAMPLE.COM") as alice:
        alice.kv["owner"] = b"1"
        assert alice.kv["owner"] == b"1"
    with ApplicationClient(server.address_string, APP_ID, secret, settings=FAST) as holder:
        holder.scale("web", count=1)
        assert holder.kv["owner"] == b"1"


def test_a_token_signed_with_another_key_does_not_authenticate(served):
    server, _, _, _ = served
    with ApplicationClient(server.address_string, APP_ID, settings=FAST,
                           token=client_to_am_token(b"x" * 64, ATTEMPT, "alice@EXAMPLE.COM")) as forged:
        with pytest.raises(SaslError, match="DIGEST-MD5: digest response format violation"):
            forged.get_specification()


def test_a_stale_client_token_is_replaced_when_a_new_attempt_listens_at_the_same_address():
    """A client-to-AM token is good for one attempt: after an AM restart on the same host and port,
    the client looks the application up again and takes the new attempt's token."""
    am, second = AM(), ApplicationAttemptId.parse("appattempt_1700000000000_0042_000002")
    manager = AppSecretManager(APP_ID, new_secret(), "alice")
    manager.set_client_token_master_key(second, b"r" * 64)  # the new attempt's key
    server = IpcServer(auth=ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=manager), idle_timeout=5.0)
    policy = _policy(ACLs(enable=True, view_users=["bob"]))
    server.register(PYARN_APP_MASTER, AuthorizedHandler(am.handler, policy, manager.caller_of))
    lookups = []

    def locate():
        lookups.append("locate")
        return server.address_string

    def refresh():
        lookups.append("token")
        return client_to_am_token(b"r" * 64, second, "bob@EXAMPLE.COM")

    stale = client_to_am_token(b"q" * 64, ATTEMPT, "bob@EXAMPLE.COM")
    with server, ApplicationClient(server.address_string, APP_ID, token=stale, settings=FAST, locate=locate,
                                   refresh_token=refresh) as bob:
        assert bob.get_specification().name == "served"
        assert bob.get_specification().name == "served"
    assert lookups == ["locate", "token"]
    am.kv.close()
