"""SASL WRAP framing, used by both cores once a QOP with a security layer is agreed.

Outgoing bytes (whole frames) are cut into chunks no larger than the
mechanism's raw send size, each wrapped and sent as its own SASL frame with
state WRAP. Incoming WRAP tokens unwrap into a byte stream of ordinary frames
(PROTOCOL-FACTS §2.5).
"""
from __future__ import annotations

from typing import List

from hadoop_protos.rpc_header_pb2 import RpcSaslProto

from .framing import FrameReader, delimited, frame
from .sasl.mechanism import SecurityLayer


class WrappedChannel:
    """Both directions of a connection under a SASL security layer.

    ``sasl_header`` is the delimited RPC header of this side's SASL frames.
    """

    def __init__(self, layer: SecurityLayer, sasl_header: bytes, max_frame_length: int) -> None:
        self.layer = layer
        self._sasl_header = sasl_header
        self._inner = FrameReader(max_frame_length)

    def wrap(self, data: bytes) -> bytes:
        """``data`` as one or more WRAP frames."""
        step = max(1, self.layer.max_wrap_size)
        out = []
        for start in range(0, len(data), step):
            token = self.layer.wrap(data[start:start + step])
            message = RpcSaslProto(state=RpcSaslProto.WRAP, token=token)
            out.append(frame(self._sasl_header, delimited(message.SerializeToString())))
        return b"".join(out)

    def unwrap(self, token: bytes) -> List[bytes]:
        """The complete inner frames available after unwrapping ``token``."""
        self._inner.feed(self.layer.unwrap(token))
        frames: List[bytes] = []
        while True:
            payload = self._inner.next_frame()
            if payload is None:
                return frames
            frames.append(payload)

    @property
    def buffered(self) -> int:
        return self._inner.buffered
