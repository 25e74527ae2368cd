"""YARN's client-to-AM tokens (kind ``YARN_CLIENT_TOKEN``): the ResourceManager vouching for a user to an AM.

On a secure cluster the ResourceManager makes a master key for each application
attempt and hands it to the AM when it registers
(``RegisterApplicationMasterResponse.client_to_am_token_master_key``). A caller
of ``getApplicationReport`` allowed to view the application gets a token in the
report: identifier ``ClientToAMTokenIdentifierProto(attempt, caller)``, the
caller being the name it authenticated to the RM as (``alice@REALM`` for a
Kerberos user), password ``HmacSHA1(master key, identifier)``. The AM checks
the password with its key and so learns, from the RM, who is calling.
"""
from __future__ import annotations

import hashlib
import hmac

import attrs
from google.protobuf.message import DecodeError

from hadoop_protos import yarn_tokens_pb2 as tpb

from ..errors import InvalidTokenError
from ..security.tokens import CLIENT_TO_AM_TOKEN_KIND, Token
from .ids import ApplicationAttemptId

__all__ = ["ClientToAMIdentifier", "client_to_am_password", "client_to_am_token"]


@attrs.frozen
class ClientToAMIdentifier:
    """What a client-to-AM token says: the attempt it is for and who it stands for."""

    attempt_id: ApplicationAttemptId
    client_name: str

    def to_bytes(self) -> bytes:
        """The identifier as the RM writes it (the protobuf message's bytes)."""
        return tpb.ClientToAMTokenIdentifierProto(appAttemptId=self.attempt_id.to_proto(),
                                                  clientName=self.client_name).SerializeToString()

    @classmethod
    def from_bytes(cls, identifier: bytes) -> ClientToAMIdentifier:
        """Parse a token identifier; :class:`~pyarn.errors.InvalidTokenError` when it is not one."""
        try:
            proto = tpb.ClientToAMTokenIdentifierProto.FromString(identifier)
        except DecodeError:
            raise InvalidTokenError("Can't de-serialize the client-to-AM tokenIdentifier") from None
        if not proto.HasField("appAttemptId") or not proto.clientName:
            raise InvalidTokenError("the client-to-AM tokenIdentifier names no attempt or no client")
        return cls(ApplicationAttemptId.from_proto(proto.appAttemptId), proto.clientName)


def client_to_am_password(master_key: bytes, identifier: bytes) -> bytes:
    """``HmacSHA1(master_key, identifier)``, the token's password."""
    return hmac.new(master_key, identifier, hashlib.sha1).digest()


def client_to_am_token(master_key: bytes, attempt_id: ApplicationAttemptId, client_name: str) -> Token:
    """The token a ResourceManager gives ``client_name`` for ``attempt_id`` (empty service)."""
    identifier = ClientToAMIdentifier(attempt_id, client_name).to_bytes()
    return Token(identifier, client_to_am_password(master_key, identifier), CLIENT_TO_AM_TOKEN_KIND, "")
