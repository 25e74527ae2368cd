"""IPC round-trip benchmark: latency (p50, p99) and calls/s on one connection.

Targets, each with 1 and 16 calling threads:

* a bare loopback TCP echo (length-prefixed messages, one socket per thread), for scale;
* pyarn's IPC server, SIMPLE auth, an echo method (all threads share one connection);
* pyarn's IPC server with TOKEN auth (DIGEST-MD5) at each QOP (auth, auth-int, auth-conf), with
  a 32-byte and a 64 KiB payload: what integrity and privacy cost;
* the real ResourceManager's ``getClusterMetrics`` when ``PYARN_TEST_HADOOP_CONF_DIR``
  names a cluster (address and authentication from its configuration: on a Kerberized
  cluster GSSAPI at its ``hadoop.rpc.protection``).

Numbers are printed, never asserted. Run: ``python bench/bench_ipc.py [--seconds 2]``.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import struct
import threading
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import attrs

from hadoop_protos.protocol import RetrySafety, RpcMethod, RpcProtocol
from hadoop_protos.security_pb2 import GetDelegationTokenRequestProto as Req
from hadoop_protos.security_pb2 import GetDelegationTokenResponseProto as Resp
from hadoop_protos.security_pb2 import TokenProto
from pyarn.ipc import IpcServer, IpcSettings, Qop, RpcClient, ServerAuth
from pyarn.ipc.constants import AuthMethod
from pyarn.security.tokens import Token
from pyarn.security.user import User

BENCH_PROTOCOL = RpcProtocol("org.pyarn.bench.EchoProtocolPB", 1, "pyarn.bench.EchoService", (
    RpcMethod("echo", Req, Resp, RetrySafety.IDEMPOTENT),
))
PAYLOAD = "x" * 32
SETTINGS = IpcSettings(connect_timeout=10.0, rpc_timeout=60.0)


class EchoHandler:
    def echo(self, request: Req, ctx) -> Resp:
        return Resp(token=TokenProto(identifier=request.renewer.encode(), password=b"", kind="", service=""))


def measure(make_caller: Callable[[], Callable[[], None]], threads: int,
            seconds: float) -> Tuple[int, float, List[float]]:
    """Run callers on ``threads`` threads for ``seconds``; returns (calls, wall time, latencies)."""
    callers = [make_caller() for _ in range(threads)]
    for call in callers:
        for _ in range(20):  # warm up connections and caches
            call()
    latencies: List[List[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)
    deadline: List[float] = [0.0]

    def run(i: int) -> None:
        call, out = callers[i], latencies[i]
        start.wait()
        while True:
            t0 = time.perf_counter()
            call()
            t1 = time.perf_counter()
            out.append(t1 - t0)
            if t1 >= deadline[0]:
                return

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for w in workers:
        w.join()
    wall = time.perf_counter() - began
    merged = [x for per in latencies for x in per]
    return len(merged), wall, merged


def _echo_caller(proxy, size: int) -> Callable[[], Callable[[], None]]:
    request = Req(renewer="x" * size)
    return lambda: (lambda: proxy.call("echo", request))


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ------------------------------------------------------------------ targets


class TcpEcho:
    """Loopback echo of 4-byte-length-prefixed messages."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    @staticmethod
    def _serve(sock: socket.socket) -> None:
        with sock:
            while True:
                head = _recv_exact(sock, 4)
                if not head:
                    return
                body = _recv_exact(sock, struct.unpack(">I", head)[0])
                sock.sendall(head + body)

    def caller(self) -> Callable[[], None]:
        sock = socket.create_connection(self.address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        message = struct.pack(">I", len(PAYLOAD)) + PAYLOAD.encode()

        def call() -> None:
            sock.sendall(message)
            head = _recv_exact(sock, 4)
            _recv_exact(sock, struct.unpack(">I", head)[0])
        return call

    def close(self) -> None:
        self.listener.close()


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def rm_address() -> Optional[str]:
    conf_dir = os.environ.get("PYARN_TEST_HADOOP_CONF_DIR")
    if not conf_dir:
        return None
    site = Path(conf_dir) / "yarn-site.xml"
    root = ElementTree.parse(site).getroot()
    values = {p.findtext("name"): p.findtext("value") for p in root.iter("property")}
    address = values.get("yarn.resourcemanager.address")
    if address and "${" not in address:
        return address
    return f"{values.get('yarn.resourcemanager.hostname', '0.0.0.0')}:8032"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per row (default 2)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args(argv)

    rows = []

    def row(target: str, threads: int, make_caller: Callable[[], Callable[[], None]]) -> None:
        calls, wall, latencies = measure(make_caller, threads, args.seconds)
        rows.append((target, threads, calls, calls / wall, statistics.median(latencies) * 1e3,
                     percentile(latencies, 0.99) * 1e3))

    echo = TcpEcho()
    for n in args.threads:
        row("loopback TCP echo (socket/thread)", n, echo.caller)
    echo.close()

    with IpcServer(handler_threads=16) as server, RpcClient(SETTINGS) as client:
        server.register(BENCH_PROTOCOL, EchoHandler())
        proxy = client.proxy(server.address_string, BENCH_PROTOCOL, User("bench"))
        request = Req(renewer=PAYLOAD)
        for n in args.threads:
            row("pyarn server, echo (1 connection)", n, lambda: (lambda: proxy.call("echo", request)))

    for qop in (Qop.AUTH, Qop.AUTH_INT, Qop.AUTH_CONF):
        auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=lambda identifier: b"bench-password",
                          qops=(qop,))
        token = Token(b"bench", b"bench-password", "BENCH_TOKEN", "")
        settings = attrs.evolve(SETTINGS, qops=(qop,))
        with IpcServer(handler_threads=16, auth=auth) as server, RpcClient(settings) as client:
            server.register(BENCH_PROTOCOL, EchoHandler())
            proxy = client.proxy(server.address_string, BENCH_PROTOCOL, User("bench", tokens=[token]),
                                 token=token)
            for size, label in ((len(PAYLOAD), "32 B"), (64 * 1024, "64 KiB")):
                for n in args.threads:
                    row(f"pyarn server, DIGEST-MD5 {qop.value}, {label}", n, _echo_caller(proxy, size))

    address = rm_address()
    if address:
        from hadoop_protos import yarn_service_pb2
        from hadoop_protos.yarn_protocols_rpc import APPLICATION_CLIENT_PROTOCOL
        from pyarn.conf import Configuration

        conf = Configuration.load(os.environ["PYARN_TEST_HADOOP_CONF_DIR"])
        settings = attrs.evolve(IpcSettings.from_conf(conf), connect_timeout=10.0, rpc_timeout=60.0)
        with RpcClient(settings) as client:
            rm = client.proxy(address, APPLICATION_CLIENT_PROTOCOL, User.login(conf))
            address = f"{address}, {'/'.join(q.value for q in settings.qops)}"
            metrics = yarn_service_pb2.GetClusterMetricsRequestProto()
            for n in args.threads:
                row(f"real RM getClusterMetrics ({address})", n,
                    lambda: (lambda: rm.call("getClusterMetrics", metrics)))
    else:
        print("(real RM rows skipped: PYARN_TEST_HADOOP_CONF_DIR is not set)")

    header = f"{'target':56} {'threads':>7} {'calls':>8} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
    print(header)
    print("-" * len(header))
    for target, threads, calls, rate, p50, p99 in rows:
        print(f"{target:56} {threads:>7} {calls:>8} {rate:>9.0f} {p50:>8.3f} {p99:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
