"""Hadoop's Credentials: tokens and secret keys by alias, and the token storage file (``HDTS``).

File layout (``org.apache.hadoop.security.Credentials``, PROTOCOL-FACTS §4.3): the magic
``HDTS``, one format byte, then

* format 0 (WRITABLE): vint token count, each an alias Text and a Writable Token; vint secret
  count, each an alias Text, a vint length and the secret's bytes;
* format 1 (PROTOBUF): one varint-delimited ``hadoop.common.CredentialsProto``.

Both are read; format 0 is written by default, as Hadoop does. The same bytes travel in
``ContainerLaunchContextProto.tokens``.
"""
from __future__ import annotations

import enum
import logging
import os
import tempfile
from pathlib import Path
from typing import Dict, Iterable, Mapping, Optional, Tuple, Union

import attrs

from .._varint import VarintError, decode_varint, encode_varint
from ..errors import PyarnError
from .tokens import Token
from .writable import (
    WritableError,
    WritableReader,
    encode_bytes,
    encode_text,
    encode_vint,
    read_token,
    token_from_url_string,
    write_token,
)

log = logging.getLogger(__name__)

MAGIC = b"HDTS"
#: Token files are a few KiB; anything past this is refused rather than read into memory.
MAX_FILE_SIZE = 16 * 1024 * 1024

#: Environment variables and configuration keys Hadoop reads tokens from at login.
TOKEN_FILE_ENV = "HADOOP_TOKEN_FILE_LOCATION"
TOKEN_ENV = "HADOOP_TOKEN"
TOKEN_FILES_KEY = "hadoop.token.files"
TOKENS_KEY = "hadoop.tokens"

PathLike = Union[str, "os.PathLike[str]"]


class CredentialsError(PyarnError):
    """A token storage file or token string that cannot be read; names the file."""


class CredentialsFormat(enum.IntEnum):
    """``Credentials.SerializedFormat``."""

    WRITABLE = 0
    PROTOBUF = 1


@attrs.define(repr=False)
class Credentials:
    """Tokens and secret keys, each under an alias (insertion-ordered).

    Secrets are never shown by ``repr``; tokens show their kind and service only.
    """

    tokens: Dict[str, Token] = attrs.field(factory=dict)
    secrets: Dict[str, bytes] = attrs.field(factory=dict)

    def __repr__(self) -> str:
        return f"Credentials(tokens={self.tokens!r}, secrets={sorted(self.secrets)!r})"

    # -- contents -------------------------------------------------------------------------

    def add_token(self, alias: str, token: Token) -> None:
        """Add (or replace) the token under ``alias``."""
        self.tokens[alias] = token

    def get_token(self, alias: str) -> Optional[Token]:
        return self.tokens.get(alias)

    def add_secret(self, alias: str, secret: bytes) -> None:
        """Add (or replace) the secret key under ``alias``."""
        self.secrets[alias] = bytes(secret)

    def get_secret(self, alias: str) -> Optional[bytes]:
        return self.secrets.get(alias)

    def find_token(self, kind: str, service: Optional[str] = None) -> Optional[Token]:
        """The first token of ``kind`` (and ``service``, when given), whatever its alias."""
        for token in self.tokens.values():
            if token.matches(kind, service):
                return token
        return None

    def update(self, other: Credentials) -> None:
        """Copy ``other``'s tokens and secrets in, replacing those with the same alias
        (``Credentials.addAll``)."""
        self.tokens.update(other.tokens)
        self.secrets.update(other.secrets)

    # -- serialization --------------------------------------------------------------------

    def to_bytes(self, format: CredentialsFormat = CredentialsFormat.WRITABLE) -> bytes:
        """The token storage stream (``writeTokenStorageToStream``), magic included."""
        format = CredentialsFormat(format)
        if format is CredentialsFormat.WRITABLE:
            parts = [MAGIC, bytes([format]), encode_vint(len(self.tokens))]
            for alias, token in self.tokens.items():
                parts += [encode_text(alias), write_token(token)]
            parts.append(encode_vint(len(self.secrets)))
            for alias, secret in self.secrets.items():
                parts += [encode_text(alias), encode_bytes(secret)]
            return b"".join(parts)
        from hadoop_protos.security_pb2 import CredentialsKVProto, CredentialsProto

        proto = CredentialsProto(
            tokens=[CredentialsKVProto(alias=a, token=t.to_proto()) for a, t in self.tokens.items()],
            secrets=[CredentialsKVProto(alias=a, secret=s) for a, s in self.secrets.items()],
        )
        body = proto.SerializeToString()
        return MAGIC + bytes([format]) + encode_varint(len(body)) + body

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "token storage") -> Credentials:
        """Parse a token storage stream of either format. ``source`` names it in errors."""
        if len(data) < len(MAGIC) + 1:
            if not MAGIC.startswith(bytes(data[: len(MAGIC)])):
                raise CredentialsError(f"{source}: not a Hadoop token storage file (bad magic)")
            raise CredentialsError(f"{source}: truncated ({len(data)} bytes, no format byte)")
        if bytes(data[:4]) != MAGIC:
            raise CredentialsError(f"{source}: not a Hadoop token storage file "
                                   f"(starts with {bytes(data[:4])!r}, expected {MAGIC!r})")
        try:
            fmt = CredentialsFormat(data[4])
        except ValueError:
            raise CredentialsError(f"{source}: unknown token storage format {data[4]}") from None
        try:
            if fmt is CredentialsFormat.WRITABLE:
                return cls._read_writable(WritableReader(data, 5))
            return cls._read_protobuf(data, 5)
        except WritableError as e:
            raise CredentialsError(f"{source}: malformed {fmt.name} token storage: {e}") from None

    @classmethod
    def _read_writable(cls, reader: WritableReader) -> Credentials:
        creds = cls()
        for _ in range(reader.read_vint("token count")):
            alias = reader.read_text("token alias")
            creds.tokens[alias] = read_token(reader)
        for _ in range(reader.read_vint("secret count")):
            alias = reader.read_text("secret alias")
            creds.secrets[alias] = reader.read_vbytes(f"secret {alias!r}")
        return creds

    @classmethod
    def _read_protobuf(cls, data: bytes, offset: int) -> Credentials:
        from google.protobuf.message import DecodeError

        from hadoop_protos.security_pb2 import CredentialsProto

        size, offset = _decode_length(data, offset)
        if size > len(data) - offset:
            raise WritableError(f"truncated: CredentialsProto claims {size} bytes, "
                                f"only {len(data) - offset} left")
        try:
            proto = CredentialsProto.FromString(bytes(data[offset:offset + size]))
        except DecodeError as e:
            raise WritableError(f"CredentialsProto does not parse: {e}") from None
        creds = cls()
        for kv in proto.tokens:
            creds.tokens[kv.alias] = Token.from_proto(kv.token)
        for kv in proto.secrets:
            creds.secrets[kv.alias] = bytes(kv.secret)
        return creds

    # -- files ----------------------------------------------------------------------------

    @classmethod
    def read_file(cls, path: PathLike) -> Credentials:
        """Read a token storage file (``readTokenStorageFile``)."""
        name = os.fspath(path)
        try:
            with open(name, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size > MAX_FILE_SIZE:
                    raise CredentialsError(f"{name}: {size} bytes, too large for a token file "
                                           f"(limit {MAX_FILE_SIZE})")
                data = f.read(MAX_FILE_SIZE + 1)
        except OSError as e:
            raise CredentialsError(f"{name}: cannot read token file: {e.strerror or e}") from None
        if len(data) > MAX_FILE_SIZE:
            raise CredentialsError(f"{name}: too large for a token file (limit {MAX_FILE_SIZE})")
        return cls.from_bytes(data, source=name)

    def write_file(self, path: PathLike,
                   format: CredentialsFormat = CredentialsFormat.WRITABLE) -> None:
        """Write a token storage file atomically, readable by its owner only (mode 0600).

        The bytes go to a private temporary file beside ``path`` that then replaces it, so a
        reader sees either the old file or the whole new one.
        """
        data = self.to_bytes(format)
        target = Path(os.fspath(path))
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        _fsync_dir(target.parent)

    # -- login-time sources ---------------------------------------------------------------

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None, conf: Optional[Mapping[str, str]] = None
                 ) -> Credentials:
        """The tokens Hadoop loads at login (``UserGroupInformation``): the files named by
        ``hadoop.token.files`` (in ``conf``) and ``HADOOP_TOKEN_FILE_LOCATION``, then the
        URL-safe Base64 tokens of ``hadoop.tokens`` and ``HADOOP_TOKEN``; each a comma list.

        A named file that does not exist is skipped (as Hadoop does, with a log line); a file
        or token that exists but does not parse is an error. Inline tokens are stored under
        their service as alias.
        """
        env = os.environ if env is None else env
        conf = {} if conf is None else conf
        creds = cls()
        files = _comma_list(conf.get(TOKEN_FILES_KEY), env.get(TOKEN_FILE_ENV))
        for name in files:
            if not os.path.isfile(name):
                log.warning("token file %s does not exist; skipped", name)
                continue
            creds.update(cls.read_file(name))
        encoded = _comma_list(conf.get(TOKENS_KEY), env.get(TOKEN_ENV))
        for i, text in enumerate(encoded):
            try:
                token = token_from_url_string(text)
            except WritableError as e:
                raise CredentialsError(f"{TOKEN_ENV}/{TOKENS_KEY}: token #{i + 1} cannot be "
                                       f"decoded: {e}") from None
            creds.tokens[token.service] = token
        return creds


def _comma_list(*values: Optional[str]) -> Iterable[str]:
    seen: Dict[str, None] = {}
    for value in values:
        for item in (value or "").split(","):
            item = item.strip()
            if item:
                seen.setdefault(item, None)
    return list(seen)


def _decode_length(data: bytes, offset: int) -> Tuple[int, int]:
    """The varint length of the delimited CredentialsProto (at most 32 bits, as Java reads it)."""
    too_long = WritableError("CredentialsProto length varint longer than 32 bits")
    try:
        decoded = decode_varint(data, offset)
    except VarintError:
        raise too_long from None
    if decoded is None:
        raise WritableError("truncated: CredentialsProto length varint")
    if decoded[0] >> 32:
        raise too_long
    return decoded


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
