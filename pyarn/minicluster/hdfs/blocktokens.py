"""Block access tokens (``dfs.block.access.token.enable``), issued by the NameNode, checked by DataNodes.

The identifier is Hadoop's legacy Writable ``BlockTokenIdentifier`` (as 3.x writes it
unless ``dfs.block.access.token.protobuf.enable``): expiry date (vlong), key id
(vint), user id, block pool id (vint-counted strings), block id (vlong), access
modes, storage types (each a vint count and enum names) and storage ids. The
password is ``HmacSHA1(block key, identifier)``; the DataNodes share the
NameNode's key in-process (a real NameNode hands its keys out in heartbeats).
Checks and messages are ``BlockTokenSecretManager.checkAccess``'s.
"""
from __future__ import annotations

import hmac
import time
from typing import Callable, Iterable, Optional, Sequence, Tuple

import attrs

from hadoop_protos import hdfs_pb2
from hadoop_protos.security_pb2 import TokenProto
from pyarn.errors import InvalidTokenError
from pyarn.security.tokens import HDFS_BLOCK_TOKEN_KIND
from pyarn.security.writable import WritableError, WritableReader, encode_text, encode_vint, encode_vlong

from ..secrets import MasterKey

__all__ = ["BlockTokenSecretManager", "BlockTokenIdentifier", "READ", "WRITE", "COPY", "REPLACE",
           "LIFETIME_MS"]

READ, WRITE, COPY, REPLACE = "READ", "WRITE", "COPY", "REPLACE"
#: ``dfs.block.access.token.lifetime`` (600 minutes).
LIFETIME_MS = 600 * 60 * 1000
_STORAGE_NAMES = {hdfs_pb2.DISK: "DISK", hdfs_pb2.SSD: "SSD", hdfs_pb2.ARCHIVE: "ARCHIVE",
                  hdfs_pb2.RAM_DISK: "RAM_DISK"}


def _string(text: Optional[str]) -> bytes:
    """``WritableUtils.writeString``: a vint byte count (-1 for null) and UTF-8."""
    if text is None:
        return encode_vint(-1)
    return encode_text(text)


@attrs.frozen
class BlockTokenIdentifier:
    expiry_date: int
    key_id: int
    user_id: str
    block_pool_id: str
    block_id: int
    modes: Tuple[str, ...]
    storage_types: Tuple[str, ...] = ()
    storage_ids: Tuple[str, ...] = ()

    def to_bytes(self) -> bytes:
        out = [encode_vlong(self.expiry_date), encode_vint(self.key_id), _string(self.user_id),
               _string(self.block_pool_id), encode_vlong(self.block_id), encode_vint(len(self.modes))]
        out += [encode_text(mode) for mode in self.modes]
        out.append(encode_vint(len(self.storage_types)))
        out += [encode_text(kind) for kind in self.storage_types]
        out.append(encode_vint(len(self.storage_ids)))
        out += [_string(storage_id) for storage_id in self.storage_ids]
        return b"".join(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> BlockTokenIdentifier:
        reader = WritableReader(data)

        def string(what: str) -> str:
            length = reader.read_vint(f"length of {what}")
            return "" if length < 0 else reader.read_bytes(length, what).decode("utf-8")

        def strings(what: str) -> Tuple[str, ...]:
            if reader.at_end():
                return ()
            return tuple(string(what) for _ in range(reader.read_length(f"{what} count")))

        try:
            expiry, key_id = reader.read_vlong("expiry date"), reader.read_vint("key id")
            user, pool = string("user id"), string("block pool id")
            block_id = reader.read_vlong("block id")
            return cls(expiry, key_id, user, pool, block_id, strings("access mode"), strings("storage type"),
                       strings("storage id"))
        except (WritableError, UnicodeDecodeError) as exc:
            raise InvalidTokenError(f"malformed block token identifier: {exc}") from None

    def __str__(self) -> str:
        """``BlockTokenIdentifier.toString``, as the DataNode's messages quote it."""
        return (f"block_token_identifier (expiryDate={self.expiry_date}, keyId={self.key_id}, "
                f"userId={self.user_id}, blockPoolId={self.block_pool_id}, blockId={self.block_id}, "
                f"access modes={list(self.modes)}, storageTypes= {list(self.storage_types)}, "
                f"storageIds= {list(self.storage_ids)})")


def _now_ms() -> int:
    return int(time.time() * 1000)


class BlockTokenSecretManager:
    """The NameNode's block key: :meth:`token` signs, :meth:`check` verifies (on the DataNodes)."""

    def __init__(self, block_pool_id: str, *, lifetime_ms: int = LIFETIME_MS,
                 clock: Callable[[], int] = _now_ms) -> None:
        self.block_pool_id = block_pool_id
        self.lifetime_ms = lifetime_ms
        self.key = MasterKey.generate()
        self._clock = clock

    def now(self) -> int:
        return self._clock()

    def token(self, user: str, block_id: int, modes: Iterable[str], storage_types: Sequence[int] = (),
              storage_ids: Sequence[str] = ()) -> TokenProto:
        identifier = BlockTokenIdentifier(
            self._clock() + self.lifetime_ms, self.key.key_id, user, self.block_pool_id, block_id,
            tuple(modes), tuple(_STORAGE_NAMES.get(t, "DISK") for t in storage_types), tuple(storage_ids))
        raw = identifier.to_bytes()
        return TokenProto(identifier=raw, password=self.key.password(raw), kind=HDFS_BLOCK_TOKEN_KIND,
                          service="")

    def check(self, token: TokenProto, block: hdfs_pb2.ExtendedBlockProto, mode: str) -> BlockTokenIdentifier:
        """``checkAccess``: the token is for ``block``, allows ``mode``, has not expired and checks out."""
        if not token.identifier:
            raise InvalidTokenError(f"Block token is missing for block {block.poolId}:blk_{block.blockId} "
                                    f"(access mode {mode})")
        identifier = BlockTokenIdentifier.from_bytes(bytes(token.identifier))
        name = f"{block.poolId}:blk_{block.blockId}_{block.generationStamp}"
        if identifier.block_pool_id != block.poolId or identifier.block_id != block.blockId:
            raise InvalidTokenError(f"Block token with {identifier} doesn't apply to block {name}")
        if identifier.expiry_date < self._clock():
            raise InvalidTokenError(f"Block token with {identifier} is expired.")
        if mode not in identifier.modes:
            raise InvalidTokenError(f"Block token with {identifier} doesn't have {mode} permission")
        if identifier.key_id != self.key.key_id or not hmac.compare_digest(
                self.key.password(bytes(token.identifier)), bytes(token.password)):
            raise InvalidTokenError(f"Block token with {identifier} doesn't have the correct token password")
        return identifier
