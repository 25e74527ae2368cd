"""The mini RM's ``DelegationTokenRenewer`` (``pyarn.minicluster.delegation``) on its own.

What YARN's renewer does with the tokens of several applications, checked against a real
:class:`DelegationTokenSecretManager` (the RM's own tokens): a token is renewed when the first
application brings it and cancelled when the last one holding it ends; a submission whose token
cannot be renewed keeps none of its tokens; a token without a renewer is not the RM's; with
log aggregation on (``removal_delay_ms``) the tokens go only after the delay. On a running
cluster: ``test_rm_tokens.py``.
"""
from __future__ import annotations

import logging
from typing import Callable, List

import pytest

from pyarn.errors import AccessControlError, InvalidTokenError
from pyarn.minicluster.delegation import (
    DelegationTokenRenewer,
    DelegationTokenSecretManager,
    TokenHandler,
    TokenRenewalError,
    describe_token,
    hdfs_codec,
    rm_codec,
)
from pyarn.security.kerberos import short_name
from pyarn.security.tokens import RM_DELEGATION_TOKEN_KIND, Token
from pyarn.yarn.ids import ApplicationId

APP1, APP2 = ApplicationId(1, 1), ApplicationId(1, 2)


class Recorded:
    """An RM's token secret manager behind a renewer that records what it renewed and cancelled."""

    def __init__(self, **options) -> None:
        self.manager = DelegationTokenSecretManager(rm_codec(), short_name)
        self.renewed: List[Token] = []
        self.cancelled: List[Token] = []
        self.queued: List[Callable[[], None]] = []
        self.renewer = DelegationTokenRenewer(self.queued.append, **options)
        self.renewer.handlers[RM_DELEGATION_TOKEN_KIND] = TokenHandler(self._renew, self._cancel)

    def _renewer_of(self, token: Token) -> str:
        return self.manager.identifier_of(token.identifier).renewer

    def _renew(self, token: Token) -> None:
        self.manager.renew(token, self._renewer_of(token))
        self.renewed.append(token)

    def _cancel(self, token: Token) -> None:
        self.manager.cancel(token, self._renewer_of(token))
        self.cancelled.append(token)

    def run_queued(self) -> None:
        while self.queued:
            self.queued.pop(0)()

    def token(self, renewer: str = "yarn") -> Token:
        return self.manager.create_token("alice", renewer).with_service("127.0.0.1:8032")


def test_a_token_is_renewed_once_and_cancelled_when_the_last_application_ends():
    rm = Recorded()
    token = rm.token()
    rm.renewer.add_application(APP1, [token], cancel_at_end=True)
    rm.renewer.add_application(APP2, [token], cancel_at_end=True)
    assert rm.renewed == [token]  # the second application finds it tracked already
    rm.renewer.application_finished(APP1, 0)
    rm.run_queued()
    assert rm.cancelled == []
    rm.renewer.application_finished(APP2, 0)
    assert rm.cancelled == []  # cancelled on the RM's worker, not at once
    rm.run_queued()
    assert rm.cancelled == [token]
    with pytest.raises(InvalidTokenError, match="can't be found in cache"):
        rm.manager.retrieve_password(token.identifier)


def test_tokens_kept_after_the_end():
    """``cancel_tokens_when_complete`` off keeps the token, the first application's choice
    holding for the next ones; ``always_cancel`` overrides it."""
    rm = Recorded()
    token = rm.token()
    rm.renewer.add_application(APP1, [token], cancel_at_end=False)
    rm.renewer.add_application(APP2, [token], cancel_at_end=True)
    for app in (APP1, APP2):
        rm.renewer.application_finished(app, 0)
    rm.run_queued()
    assert rm.cancelled == []
    rm.manager.retrieve_password(token.identifier)

    always = Recorded(always_cancel=True)
    token = always.token()
    always.renewer.add_application(APP1, [token], cancel_at_end=False)
    always.renewer.application_finished(APP1, 0)
    always.run_queued()
    assert always.cancelled == [token]


def test_a_token_without_a_renewer_or_of_another_kind_is_left_alone():
    rm = Recorded()
    unrenewable = rm.token(renewer="")
    rm.manager.cancel(unrenewable, "alice")  # even a cancelled one
    other = DelegationTokenSecretManager(hdfs_codec(), short_name).create_token("alice", "yarn")
    rm.renewer.add_application(APP1, [unrenewable, other], cancel_at_end=True)
    rm.renewer.application_finished(APP1, 0)
    rm.run_queued()
    assert (rm.renewed, rm.cancelled) == ([], [])


def test_a_token_the_rm_cannot_renew_fails_the_submission_keeping_none():
    rm = Recorded()
    good, cancelled = rm.token(), rm.token()
    rm.manager.cancel(cancelled, "alice")
    with pytest.raises(TokenRenewalError) as info:
        rm.renewer.add_application(APP1, [good, cancelled], cancel_at_end=True)
    assert str(info.value) == f"Failed to renew token: {describe_token(cancelled)}"
    assert str(info.value).startswith("Failed to renew token: Kind: RM_DELEGATION_TOKEN, Service: "
                                      "127.0.0.1:8032, Ident: (RM_DELEGATION_TOKEN owner=alice, "
                                      "renewer=yarn, realUser=, ")
    assert isinstance(info.value.__cause__, InvalidTokenError)
    rm.renewer.application_finished(APP1, 0)
    rm.run_queued()
    assert rm.cancelled == []  # nothing was kept: the good token lives on
    rm.renewer.add_application(APP2, [good], cancel_at_end=True)
    assert rm.renewed == [good, good]  # not tracked, so renewed again


def test_with_log_aggregation_the_tokens_go_after_a_delay():
    rm = Recorded(removal_delay_ms=1000)
    token = rm.token()
    rm.renewer.add_application(APP1, [token], cancel_at_end=True)
    rm.renewer.application_finished(APP1, 5000)
    rm.renewer.check(5999)
    rm.run_queued()
    assert rm.cancelled == []
    rm.renewer.check(6000)
    rm.run_queued()
    assert rm.cancelled == [token]


def test_a_failed_cancellation_is_logged(caplog):
    rm = Recorded()
    token = rm.token()
    rm.renewer.add_application(APP1, [token], cancel_at_end=True)
    rm.manager.cancel(token, "alice")  # gone before the RM gets to it
    rm.renewer.application_finished(APP1, 0)
    with caplog.at_level(logging.WARNING, logger="pyarn.minicluster.delegation"):
        rm.run_queued()
    assert f"Failed to cancel token {describe_token(token)}" in caplog.text


def test_an_undecodable_token_is_shown_as_java_shows_it():
    token = Token(b"\x01\xab", b"", RM_DELEGATION_TOKEN_KIND, "127.0.0.1:8032")
    assert describe_token(token) == "Kind: RM_DELEGATION_TOKEN, Service: 127.0.0.1:8032, Ident: 01 ab"


def test_renewal_refusals_name_the_token_as_hadoop_3_does():
    """``AbstractDelegationTokenSecretManager.renewToken``: a token of another master key, then a
    wrong password, then an unknown token."""
    rm = Recorded()
    token = rm.token(renewer="alice")
    ident = rm.manager.describe(rm.manager.identifier_of(token.identifier))
    other = DelegationTokenSecretManager(rm_codec(), short_name).create_token("alice", "alice")
    other_ident = rm.manager.describe(rm.manager.identifier_of(other.identifier))
    key_id = rm.manager.identifier_of(other.identifier).master_key_id
    with pytest.raises(InvalidTokenError) as refused:
        rm.manager.renew(other, "alice")
    assert str(refused.value) == (f"Unable to find master key for keyId={key_id} from cache. Failed to renew "
                                  f"an unexpired token {other_ident} with sequenceNumber=1")
    forged = Token(token.identifier, b"x" * 20, token.kind, token.service)
    with pytest.raises(AccessControlError) as refused_too:
        rm.manager.renew(forged, "alice")
    assert str(refused_too.value) == f"alice is trying to renew a token {ident} with wrong password"
    rm.manager.cancel(token, "alice")
    with pytest.raises(InvalidTokenError, match=r"^Renewal request for unknown token \("):
        rm.manager.renew(token, "alice")
