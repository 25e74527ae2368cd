"""A tiny DataNode for tests: real sockets, real bytes, written from the protocol facts.

It serves READ_BLOCK and WRITE_BLOCK on a loopback port, one thread per
connection. Its framing is hand-rolled here with ``struct`` and the generated
protobuf classes, on purpose not with :mod:`pyarn.hdfs.datatransfer`, and its
CRCs come from the ``crc32c`` package and ``zlib``, not ``google_crc32c``.
:class:`Faults` makes it misbehave in the ways a DataNode can.

With ``sasl`` set (:class:`SaslServer`) it is a secure DataNode: every
connection starts with the DataTransfer SASL handshake
(``SaslDataTransferServer``), the DIGEST-MD5 side played by pyarn's
``DigestMd5Server`` (the only part borrowed from pyarn), the messages, the
magic number, the stream framing and the AES/CTR keys hand-rolled here.
"""
from __future__ import annotations

import base64
import os
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import crc32c

from hadoop_protos import datatransfer_pb2 as dt
from hadoop_protos import hdfs_pb2
from hadoop_protos.security_pb2 import TokenProto
from pyarn.errors import InvalidTokenError
from pyarn.ipc.constants import Qop
from pyarn.ipc.sasl.digest_md5 import DigestMd5Server

SUCCESS, ERROR, ERROR_CHECKSUM, ERROR_ACCESS_TOKEN, CHECKSUM_OK = 0, 1, 2, 5, 6


def crcs(data: bytes, kind: int, bpc: int) -> bytes:
    if kind == 0:
        return b""
    fn = crc32c.crc32c if kind == 2 else zlib.crc32
    return b"".join(struct.pack(">I", fn(data[i:i + bpc])) for i in range(0, len(data), bpc))


def varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def delimited(message) -> bytes:
    body = message.SerializeToString()
    return varint(len(body)) + body


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"peer closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def recv_delimited(sock: socket.socket, message_type):
    size, shift = 0, 0
    while True:
        byte = recv_exact(sock, 1)[0]
        size |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return message_type.FromString(recv_exact(sock, size))


def packet(offset: int, seqno: int, data: bytes, sums: bytes, last: bool = False) -> bytes:
    header = dt.PacketHeaderProto(offsetInBlock=offset, seqno=seqno, lastPacketInBlock=last,
                                  dataLen=len(data)).SerializeToString()
    return struct.pack(">IH", 4 + len(sums) + len(data), len(header)) + header + sums + data


@dataclass
class Faults:
    """Ways to misbehave. Chunk and packet numbers count from 0."""

    read_status: int = SUCCESS
    read_message: str = ""
    read_chunks_per_packet: int = 126
    read_corrupt_chunk: Optional[int] = None        # chunk index within the block
    read_close_after_packets: Optional[int] = None
    read_end_early_after_packets: Optional[int] = None  # send the last-packet marker too soon
    read_bad_seqno: bool = False
    read_raw_reply: Optional[bytes] = None          # sent instead of the reply, then the connection closes
    write_status: int = SUCCESS
    write_first_bad_link: str = ""
    write_error_ack_seqno: Optional[int] = None
    write_error_ack_replies: Tuple[int, ...] = ()
    write_close_before_ack_seqno: Optional[int] = None
    write_ack_every: int = 1                        # ack only once this many packets are waiting
    write_use_flags: bool = True
    write_raw_ack: Optional[bytes] = None           # sent instead of the first ack


@dataclass
class Received:
    ops: List[Tuple[int, object]] = field(default_factory=list)
    packets: List[dt.PacketHeaderProto] = field(default_factory=list)
    read_statuses: List[int] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    #: SASL: the raw bytes clients sent, the handshake messages they sent, the QOPs agreed,
    #: the error messages clients sent to give up.
    wire: bytearray = field(default_factory=bytearray)
    sasl_messages: List[dt.DataTransferEncryptorMessageProto] = field(default_factory=list)
    sasl_qops: List[str] = field(default_factory=list)
    sasl_client_errors: List[str] = field(default_factory=list)


MAGIC = b"\xde\xad\xbe\xef"
AES_CTR = 2  # CipherSuiteProto.AES_CTR_NOPADDING


@dataclass
class SaslServer:
    """A secure DataNode's settings. ``qops`` are offered in order (``auth``, ``auth-int``,
    ``auth-conf``). ``tokens`` maps block token identifiers to their passwords; ``keys`` maps
    ``(key id, block pool id, nonce)`` to data encryption keys (the encrypted handshake when
    ``encrypted``). ``cipher_suites``: answer a client's ``AES/CTR/NoPadding`` option with keys
    of ``key_bits``. ``token_error_flag``: refuse tokens as a 3.x DataNode does
    (``accessTokenError``)."""

    qops: Tuple[str, ...] = ("auth-conf",)
    tokens: Dict[bytes, bytes] = field(default_factory=dict)
    keys: Dict[Tuple[int, str, bytes], bytes] = field(default_factory=dict)
    encrypted: bool = False
    ciphers: Optional[Tuple[str, ...]] = None
    cipher_suites: bool = False
    key_bits: int = 128
    token_error_flag: bool = False


class _Recording:
    """The raw socket, remembering every byte the client sent."""

    def __init__(self, conn: socket.socket, wire: bytearray) -> None:
        self._conn, self._wire = conn, wire

    def recv(self, n: int) -> bytes:
        data = self._conn.recv(n)
        self._wire += data
        return data

    def sendall(self, data: bytes) -> None:
        self._conn.sendall(data)

    def close(self) -> None:
        self._conn.close()


class _SaslStream:
    """SaslInputStream/SaslOutputStream: each ``sendall`` one frame (length + wrapped bytes)."""

    def __init__(self, conn, server: DigestMd5Server) -> None:
        self._conn, self._server, self._plain = conn, server, b""

    def sendall(self, data: bytes) -> None:
        token = self._server.wrap(bytes(data))
        self._conn.sendall(struct.pack(">I", len(token)) + token)

    def recv(self, n: int) -> bytes:
        while not self._plain:
            head = recv_exact(self._conn, 4)
            self._plain = self._server.unwrap(recv_exact(self._conn, struct.unpack(">I", head)[0]))
        data, self._plain = self._plain[:n], self._plain[n:]
        return data

    def close(self) -> None:
        self._conn.close()


class _AesStream:
    """CryptoInputStream/CryptoOutputStream of the DataNode: it reads with the in key, writes with out."""

    def __init__(self, conn, option: hdfs_pb2.CipherOptionProto) -> None:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        self._conn = conn
        self._dec = Cipher(algorithms.AES(option.inKey), modes.CTR(option.inIv)).decryptor()
        self._enc = Cipher(algorithms.AES(option.outKey), modes.CTR(option.outIv)).encryptor()

    def sendall(self, data: bytes) -> None:
        self._conn.sendall(self._enc.update(bytes(data)))

    def recv(self, n: int) -> bytes:
        data = self._conn.recv(n)
        return self._dec.update(data) if data else data

    def close(self) -> None:
        self._conn.close()


def sasl_message(status: int = 0, payload: Optional[bytes] = None, message: Optional[str] = None,
                 **fields) -> bytes:
    proto = dt.DataTransferEncryptorMessageProto(status=status, **fields)
    if payload is not None:
        proto.payload = payload
    if message is not None:
        proto.message = message
    return delimited(proto)


class DataNodePeer:
    """Listen on 127.0.0.1; ``blocks`` maps block id → (data, checksum type, bytes per checksum)."""

    def __init__(self) -> None:
        self.blocks: Dict[int, Tuple[bytes, int, int]] = {}
        self.faults = Faults()
        self.received = Received()
        self.sasl: Optional[SaslServer] = None
        self.block_token = TokenProto(identifier=b"", password=b"", kind="", service="")
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: List[threading.Thread] = []
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    # -- what clients need -----------------------------------------------------

    def datanode(self, uuid: str = "peer") -> hdfs_pb2.DatanodeInfoProto:
        return hdfs_pb2.DatanodeInfoProto(id=hdfs_pb2.DatanodeIDProto(
            ipAddr="127.0.0.1", hostName="localhost", datanodeUuid=uuid, xferPort=self.port,
            infoPort=0, ipcPort=0))

    def located_block(self, block_id: int, extra_targets: int = 0) -> hdfs_pb2.LocatedBlockProto:
        locs = [self.datanode()]
        locs += [hdfs_pb2.DatanodeInfoProto(id=hdfs_pb2.DatanodeIDProto(
            ipAddr=f"10.9.9.{i}", hostName=f"far{i}", datanodeUuid=f"far{i}", xferPort=9866,
            infoPort=0, ipcPort=0)) for i in range(1, extra_targets + 1)]
        return hdfs_pb2.LocatedBlockProto(
            b=hdfs_pb2.ExtendedBlockProto(poolId="BP-test", blockId=block_id, generationStamp=1000),
            offset=0, locs=locs, corrupt=False, blockToken=self.block_token,
            storageTypes=[hdfs_pb2.DISK] * len(locs), storageIDs=[f"DS-{i}" for i in range(len(locs))])

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every connection served so far has been handled to its end."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self._closing = True
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    # -- serving ---------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        conn = raw
        try:
            if self.sasl is not None:
                conn = self._sasl_handshake(_Recording(raw, self.received.wire), self.sasl)
                if conn is None:
                    return
            version, op = struct.unpack(">HB", recv_exact(conn, 3))
            if version != 28:
                self.received.problems.append(f"version {version}")
                return
            if op == 81:
                self._read(conn, recv_delimited(conn, dt.OpReadBlockProto))
            elif op == 80:
                self._write(conn, recv_delimited(conn, dt.OpWriteBlockProto))
            else:
                self.received.problems.append(f"op {op}")
        except (EOFError, OSError):
            pass
        finally:
            raw.close()

    # -- SASL (SaslDataTransferServer) ------------------------------------------------

    def _password(self, config: SaslServer, username: str) -> str:
        if config.encrypted:
            parts = username.split(" ")
            key = config.keys.get((int(parts[0]), parts[1], base64.b64decode(parts[2])))
            if key is None:
                raise LookupError(f"Can't re-compute encryption key for nonce, since the required block "
                                  f"key (keyID={parts[0]}) doesn't exist.")
            return base64.b64encode(key).decode()
        password = config.tokens.get(base64.b64decode(username))
        if password is None:
            raise InvalidTokenError("Block token with unknown identifier")
        return base64.b64encode(password).decode()

    def _sasl_handshake(self, conn, config: SaslServer):
        if recv_exact(conn, 4) != MAGIC:
            self.received.problems.append("no SASL magic number")
            return None
        first = recv_delimited(conn, dt.DataTransferEncryptorMessageProto)
        self.received.sasl_messages.append(first)
        failure: List[BaseException] = []

        def password_for(username: str) -> str:
            try:
                return self._password(config, username)
            except Exception as exc:
                failure.append(exc)
                raise

        server = DigestMd5Server(password_for, realm="0", protocol="hdfs", server_id="0",
                                 qops=[Qop(q) for q in config.qops], ciphers=config.ciphers)
        conn.sendall(sasl_message(payload=server.evaluate_response(bytes(first.payload))))
        second = recv_delimited(conn, dt.DataTransferEncryptorMessageProto)
        self.received.sasl_messages.append(second)
        if second.status != 0:
            self.received.sasl_client_errors.append(second.message)
            return None
        try:
            final = server.evaluate_response(bytes(second.payload))
        except Exception as exc:
            if failure and isinstance(failure[0], LookupError):
                conn.sendall(sasl_message(1, message=str(failure[0])))  # ERROR_UNKNOWN_KEY
            else:
                flag = {"accessTokenError": True} if config.token_error_flag and failure else {}
                conn.sendall(sasl_message(2, message=str(exc), **flag))
            return None
        self.received.sasl_qops.append(server.qop.value)
        option = None
        if (server.qop is Qop.AUTH_CONF and config.cipher_suites
                and any(o.suite == AES_CTR for o in second.cipherOption)):
            size = config.key_bits // 8
            option = hdfs_pb2.CipherOptionProto(suite=AES_CTR, inKey=os.urandom(size), inIv=os.urandom(16),
                                                outKey=os.urandom(size), outIv=os.urandom(16))
            wrapped = hdfs_pb2.CipherOptionProto()
            wrapped.CopyFrom(option)
            wrapped.inKey = server.wrap(option.inKey)
            wrapped.outKey = server.wrap(option.outKey)
            conn.sendall(sasl_message(payload=final, cipherOption=[wrapped]))
            return _AesStream(conn, option)
        conn.sendall(sasl_message(payload=final))
        return _SaslStream(conn, server) if server.qop.has_security_layer else conn

    def _read(self, conn: socket.socket, op: dt.OpReadBlockProto) -> None:
        self.received.ops.append((81, op))
        f = self.faults
        if f.read_raw_reply is not None:
            conn.sendall(f.read_raw_reply)
            return
        block_id = op.header.baseHeader.block.blockId
        if f.read_status != SUCCESS or block_id not in self.blocks:
            status = f.read_status if f.read_status != SUCCESS else ERROR
            conn.sendall(delimited(dt.BlockOpResponseProto(
                status=status, message=f.read_message or f"no block {block_id}")))
            return
        data, kind, bpc = self.blocks[block_id]
        if not op.sendChecksums:
            kind = 0
        start = op.offset - op.offset % bpc
        end = op.offset + op.len
        end = min(len(data), end + (-end % bpc))
        info = dt.ReadOpChecksumInfoProto(checksum=dt.ChecksumProto(type=kind, bytesPerChecksum=bpc),
                                          chunkOffset=start)
        conn.sendall(delimited(dt.BlockOpResponseProto(status=SUCCESS, readOpChecksumInfo=info)))
        step = bpc * f.read_chunks_per_packet
        seqno = 0
        for pos in range(start, end, step):
            if f.read_close_after_packets == seqno:
                return
            if f.read_end_early_after_packets == seqno:
                break
            piece = data[pos:min(pos + step, end)]
            sums = bytearray(crcs(piece, kind, bpc))
            bad = f.read_corrupt_chunk
            if bad is not None and kind and pos <= bad * bpc < pos + len(piece):
                index = (bad * bpc - pos) // bpc * 4
                sums[index] ^= 0xFF
            conn.sendall(packet(pos, seqno + (5 if f.read_bad_seqno else 0), piece, bytes(sums)))
            seqno += 1
        conn.sendall(packet(end, seqno, b"", b"", last=True))
        status = recv_delimited(conn, dt.ClientReadStatusProto)
        self.received.read_statuses.append(status.status)

    def _ack(self, seqno: int, replies) -> bytes:
        ack = dt.PipelineAckProto(seqno=seqno, reply=replies, downstreamAckTimeNanos=0)
        if self.faults.write_use_flags:
            ack.flag.extend(replies)
        return delimited(ack)

    def _write(self, conn: socket.socket, op: dt.OpWriteBlockProto) -> None:
        self.received.ops.append((80, op))
        f = self.faults
        if f.write_status != SUCCESS:
            conn.sendall(delimited(dt.BlockOpResponseProto(
                status=f.write_status, firstBadLink=f.write_first_bad_link, message="refused")))
            return
        conn.sendall(delimited(dt.BlockOpResponseProto(status=SUCCESS)))
        kind, bpc = op.requestedChecksum.type, op.requestedChecksum.bytesPerChecksum
        nodes = op.pipelineSize
        data = bytearray()
        waiting: List[int] = []
        expected_seqno = None
        while True:
            payload_len, header_len = struct.unpack(">IH", recv_exact(conn, 6))
            header = dt.PacketHeaderProto.FromString(recv_exact(conn, header_len))
            body = recv_exact(conn, payload_len - 4)
            self.received.packets.append(header)
            if header.seqno == -1:
                conn.sendall(self._ack(-1, [SUCCESS] * nodes))
                continue
            sums, piece = body[:payload_len - 4 - header.dataLen], body[payload_len - 4 - header.dataLen:]
            if expected_seqno is not None and header.seqno != expected_seqno:
                self.received.problems.append(f"seqno {header.seqno}, expected {expected_seqno}")
            expected_seqno = header.seqno + 1
            if header.offsetInBlock != len(data):
                self.received.problems.append(f"offset {header.offsetInBlock}, have {len(data)}")
            if sums != crcs(piece, kind, bpc):
                self.received.problems.append(f"bad checksums in packet {header.seqno}")
            if header.lastPacketInBlock and (piece or waiting):
                self.received.problems.append("last packet carries data or was sent before all acks")
            data += piece
            waiting.append(header.seqno)
            if len(waiting) < f.write_ack_every and not header.lastPacketInBlock:
                continue
            for seqno in waiting:
                if f.write_close_before_ack_seqno == seqno:
                    return
                if f.write_raw_ack is not None:
                    conn.sendall(f.write_raw_ack)
                    time.sleep(0.2)
                    return
                replies = [SUCCESS] * nodes
                if f.write_error_ack_seqno == seqno:
                    replies = list(f.write_error_ack_replies)
                conn.sendall(self._ack(seqno, replies))
            waiting.clear()
            if header.lastPacketInBlock:
                self.blocks[op.header.baseHeader.block.blockId] = (bytes(data), kind, bpc)
                return
