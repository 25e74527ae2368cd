"""Hadoop security tokens as pyarn handles them."""
from __future__ import annotations

from typing import Optional

import attrs

#: Token kinds pyarn selects by name (PROTOCOL-FACTS §4.4).
AMRM_TOKEN_KIND = "YARN_AM_RM_TOKEN"
NM_TOKEN_KIND = "NMToken"
CONTAINER_TOKEN_KIND = "ContainerToken"
RM_DELEGATION_TOKEN_KIND = "RM_DELEGATION_TOKEN"
CLIENT_TO_AM_TOKEN_KIND = "YARN_CLIENT_TOKEN"
HDFS_DELEGATION_TOKEN_KIND = "HDFS_DELEGATION_TOKEN"
HDFS_BLOCK_TOKEN_KIND = "HDFS_BLOCK_TOKEN"


@attrs.frozen(repr=False)
class Token:
    """A Hadoop token: opaque identifier and password, a kind and a service.

    The password is a secret: it is never shown by ``repr``.
    """

    identifier: bytes
    password: bytes
    kind: str
    service: str = ""

    def __repr__(self) -> str:
        return f"Token(kind={self.kind!r}, service={self.service!r}, identifier={len(self.identifier)} bytes)"

    def with_service(self, service: str) -> Token:
        return attrs.evolve(self, service=service)

    @classmethod
    def from_proto(cls, proto) -> Token:
        """From a ``hadoop.common.TokenProto``."""
        return cls(bytes(proto.identifier), bytes(proto.password), proto.kind, proto.service)

    def to_proto(self):
        from hadoop_protos.security_pb2 import TokenProto

        return TokenProto(identifier=self.identifier, password=self.password,
                          kind=self.kind, service=self.service)

    def matches(self, kind: str, service: Optional[str] = None) -> bool:
        return self.kind == kind and (service is None or self.service == service)
