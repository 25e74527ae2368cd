"""The user pyarn acts as: current(), login() with the process's tokens, proxies."""
from __future__ import annotations

import pytest

import pyarn.security.groups as groups_module
from pyarn.security.credentials import Credentials, CredentialsError
from pyarn.security.groups import GroupMapping
from pyarn.security.tokens import Token
from pyarn.security.user import User
from pyarn.security.writable import token_to_url_string

FILE_TOKEN = Token(b"f", b"pf", "HDFS_DELEGATION_TOKEN", "ha-hdfs:ns1")
INLINE_TOKEN = Token(b"i", b"pi", "RM_DELEGATION_TOKEN", "10.0.0.1:8032")
CONF_TOKEN = Token(b"c", b"pc", "HDFS_DELEGATION_TOKEN", "10.0.0.2:8020")


def token_file(path, *tokens: Token) -> str:
    credentials = Credentials()
    for token in tokens:
        credentials.add_token(token.service, token)
    credentials.write_file(path)
    return str(path)


def test_current_has_no_tokens_even_in_a_container(tmp_path):
    env = {"HADOOP_USER_NAME": "alice", "HADOOP_TOKEN_FILE_LOCATION": token_file(tmp_path / "t", FILE_TOKEN)}
    assert User.current(env) == User("alice")


def test_login_attaches_the_tokens_of_the_environment(tmp_path):
    env = {"HADOOP_USER_NAME": "alice", "HADOOP_TOKEN_FILE_LOCATION": token_file(tmp_path / "t", FILE_TOKEN),
           "HADOOP_TOKEN": token_to_url_string(INLINE_TOKEN)}
    user = User.login(env=env)
    assert user.name == "alice" and user.real_user is None
    assert user.tokens == (FILE_TOKEN, INLINE_TOKEN)


def test_login_reads_the_configuration_keys_too(tmp_path):
    conf = {"hadoop.token.files": token_file(tmp_path / "c", CONF_TOKEN)}
    user = User.login(conf, env={"HADOOP_USER_NAME": "bob"})
    assert user == User("bob", tokens=[CONF_TOKEN])


def test_login_without_tokens_is_current(tmp_path):
    env = {"HADOOP_USER_NAME": "carol", "HADOOP_TOKEN_FILE_LOCATION": str(tmp_path / "missing")}
    assert User.login(env=env) == User.current(env) == User("carol")


def test_login_with_a_broken_token_file_says_which(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"not a token file")
    with pytest.raises(CredentialsError, match=str(bad)):
        User.login(env={"HADOOP_USER_NAME": "d", "HADOOP_TOKEN_FILE_LOCATION": str(bad)})


def test_tokens_take_any_iterable_and_proxies_do_not_borrow_them():
    user = User("svc", tokens=[FILE_TOKEN])  # a list: mypy accepts it too (Iterable[Token])
    assert user.tokens == (FILE_TOKEN,)
    assert user.with_tokens(iter([INLINE_TOKEN])).tokens == (FILE_TOKEN, INLINE_TOKEN)
    proxy = user.proxy_for("alice")
    # as Java's createProxyUser: the real user's tokens would authenticate as the real user
    assert (proxy.name, proxy.real_user, proxy.tokens) == ("alice", "svc", ())
    assert user.find_token("HDFS_DELEGATION_TOKEN", "ha-hdfs:ns1") is FILE_TOKEN


def test_host_groups_are_looked_up_again_after_the_cache_time(monkeypatch):
    now = [0.0]
    calls = []

    mapping = GroupMapping({"ghost": ["g1", "g2"]}, cache_seconds=300.0, clock=lambda: now[0])
    assert mapping("ghost") == frozenset({"g1", "g2"}) and mapping.primary("ghost") == "g1"
    monkeypatch.setattr(groups_module, "_host_groups",
                        lambda user: calls.append(user) or frozenset({f"n{len(calls)}"}))
    assert mapping("root") == frozenset({"n1"})
    now[0] = 299.0
    assert mapping("root") == frozenset({"n1"}) and calls == ["root"]
    now[0] = 300.0  # hadoop.security.groups.cache.secs later: asked again
    assert mapping("root") == frozenset({"n2"}) and calls == ["root", "root"]
