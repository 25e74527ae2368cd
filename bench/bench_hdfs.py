"""HDFS benchmark: pyarn against Hadoop's Java FsShell on the same cluster, in the same run.

* put and get of one file (1 GiB by default): pyarn's ``HDFS.put`` / ``HDFS.get``
  in this process, and ``FsShell -put`` / ``-get`` (a fresh JVM each, as a user runs it);
* ``ls`` of a directory of 10,000 empty files: ``HDFS.ls`` in this process, the
  ``python -m pyarn.hdfs.cli ls`` command, and ``FsShell -ls``.

FsShell rows include the JVM's start; the ``FsShell - JVM start`` column takes off
the time of a no-op ``FsShell -test -d /`` measured in the same run. Ratios are
FsShell time / pyarn time (above 1: pyarn is faster). Numbers are printed, never
asserted.

Needs a cluster (``--conf-dir``, default ``$PYARN_TEST_HADOOP_CONF_DIR``) and, for
the FsShell rows, Java with the Hadoop client jars (``$PYARN_TEST_HADOOP_CLASSPATH``
or ``../shared/realcluster/realcluster.sh classpath yarn``).
Run: ``python bench/bench_hdfs.py [--size-mib 1024] [--files 10000]``.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from pyarn.conf import Configuration
from pyarn.hdfs import HDFS
from pyarn.hdfs.cli import format_ls

REPO = Path(__file__).resolve().parent.parent
REALCLUSTER = REPO.parent / "shared" / "realcluster" / "realcluster.sh"
MIB = 1024 * 1024


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def best_of(repeat: int, action: Callable[[], object], before: Callable[[], object] = lambda: None) -> float:
    times = []
    for _ in range(repeat):
        before()
        times.append(timed(action))
    return min(times)


def classpath() -> Optional[str]:
    if os.environ.get("PYARN_TEST_HADOOP_CLASSPATH"):
        return os.environ["PYARN_TEST_HADOOP_CLASSPATH"]
    if REALCLUSTER.is_file():
        done = subprocess.run([str(REALCLUSTER), "classpath", "yarn"], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return None


def fsshell_runner(conf_dir: str) -> Optional[Callable[..., str]]:
    path = classpath()
    if path is None or shutil.which("java") is None:
        return None

    def run(*args: str) -> str:
        # Java reads the realm from -Djava.security.krb5.conf only (not KRB5_CONFIG).
        krb5_conf = os.environ.get("KRB5_CONFIG")
        krb5 = [f"-Djava.security.krb5.conf={krb5_conf}"] if krb5_conf else []
        command = ["java", "--add-opens=java.base/java.lang=ALL-UNNAMED", *krb5, "-cp",
                   f"{conf_dir}{os.pathsep}{path}", "org.apache.hadoop.fs.FsShell", *args]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"FsShell {' '.join(args)} failed:\n{done.stderr[-2000:]}")
        return done.stdout
    return run


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(8 * MIB), b""):
            digest.update(piece)
    return digest.hexdigest()


def make_local_file(path: Path, size: int) -> None:
    block = os.urandom(16 * MIB)
    with open(path, "wb") as f:
        remaining = size
        while remaining:
            piece = block[:min(remaining, len(block))]
            f.write(piece)
            remaining -= len(piece)


def make_empty_files(fs: HDFS, directory: str, count: int) -> None:
    namenode = fs.namenode

    def one(i: int) -> None:
        path = f"{directory}/file-{i:05d}"
        namenode.complete(path, namenode.create(path, 0o644, replication=1, block_size=MIB).file_id)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


Row = Tuple[str, float, Optional[float], Optional[float], Optional[int]]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conf-dir", default=os.environ.get("PYARN_TEST_HADOOP_CONF_DIR"),
                        help="the cluster's client configuration (default: $PYARN_TEST_HADOOP_CONF_DIR)")
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the transferred file")
    parser.add_argument("--files", type=int, default=10_000, help="entries of the listed directory")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement (the best counts)")
    parser.add_argument("--local-dir", default=None, help="where the local files go (default: a temp dir)")
    args = parser.parse_args(argv)
    if not args.conf_dir:
        parser.error("no cluster: give --conf-dir or set PYARN_TEST_HADOOP_CONF_DIR")
    conf = Configuration.load(args.conf_dir)
    fsshell = fsshell_runner(args.conf_dir)
    size = args.size_mib * MIB
    rows: List[Row] = []
    with HDFS(conf=conf) as fs, tempfile.TemporaryDirectory(dir=args.local_dir) as tmp:
        local = Path(tmp)
        remote = fs.mkdir(f"/tmp/pyarn-bench-hdfs-{uuid.uuid4().hex[:12]}")
        try:
            source = local / "source.bin"
            make_local_file(source, size)
            jvm = None
            if fsshell is not None:
                fsshell("-test", "-d", "/")  # warm the page cache for the jars
                jvm = best_of(max(args.repeat, 3), lambda: fsshell("-test", "-d", "/"))

            def clear(*paths: str) -> Callable[[], None]:
                def run() -> None:
                    for path in paths:
                        if fs.exists(path):
                            fs.rm(path)
                        if (local / Path(path).name).exists():
                            (local / Path(path).name).unlink()
                return run

            put_py = best_of(args.repeat, lambda: fs.put(source, f"{remote}/py.bin"),
                             clear(f"{remote}/py.bin"))
            get_py = best_of(args.repeat, lambda: fs.get(f"{remote}/py.bin", local / "py.back"),
                             lambda: (local / "py.back").unlink(missing_ok=True))
            assert sha256(local / "py.back") == sha256(source), "pyarn's round trip changed the bytes"
            put_java = get_java = None
            if fsshell is not None:
                put_java = best_of(args.repeat, lambda: fsshell("-put", str(source), f"{remote}/java.bin"),
                                   clear(f"{remote}/java.bin"))
                get_java = best_of(args.repeat, lambda: fsshell("-get", f"{remote}/java.bin",
                                                                str(local / "java.back")),
                                   lambda: (local / "java.back").unlink(missing_ok=True))
            rows.append((f"put {args.size_mib} MiB", put_py, put_java, jvm, size))
            rows.append((f"get {args.size_mib} MiB", get_py, get_java, jvm, size))

            listing = f"{remote}/many"
            fs.mkdir(listing)
            made = timed(lambda: make_empty_files(fs, listing, args.files))
            ls_api = best_of(args.repeat, lambda: fs.ls(listing, detail=True))
            ls_lines = best_of(args.repeat, lambda: "\n".join(format_ls(fs, [listing])))
            command = [sys.executable, "-m", "pyarn.hdfs.cli", "--conf-dir", args.conf_dir, "ls", listing]
            env = {**os.environ, "PYTHONPATH": str(REPO)}
            ls_cli = best_of(args.repeat, lambda: subprocess.run(command, capture_output=True, check=True,
                                                                env=env))
            ls_java = best_of(args.repeat, lambda: fsshell("-ls", listing)) if fsshell else None
            if fsshell is not None:
                ours = subprocess.run(command, capture_output=True, text=True, env=env).stdout
                same = ours == fsshell("-ls", listing)
            rows.append((f"ls {args.files} files: HDFS.ls (in process)", ls_api, ls_java, jvm, None))
            rows.append((f"ls {args.files} files: FsShell-format lines", ls_lines, ls_java, jvm, None))
            rows.append((f"ls {args.files} files: `python -m pyarn.hdfs.cli ls`", ls_cli, ls_java, jvm, None))
        finally:
            fs.rm(remote, recursive=True)

    print(f"cluster: {fs.uri} (conf {args.conf_dir}); {args.files} empty files made in {made:.1f} s "
          f"(create+complete, 8 threads); best of {args.repeat}")
    if jvm is not None:
        print(f"JVM start (FsShell -test -d /): {jvm:.2f} s; pyarn ls output identical to FsShell's: {same}")
    else:
        print("(FsShell rows skipped: no java or no Hadoop classpath)")
    header = (f"{'operation':52} {'pyarn s':>8} {'MiB/s':>7} {'FsShell s':>9} {'MiB/s':>7} "
              f"{'ratio':>6} {'FsShell-JVM s':>13} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    for name, ours, theirs, start, nbytes in rows:
        def rate(seconds: Optional[float], nbytes: Optional[int] = nbytes) -> str:
            return f"{nbytes / MIB / seconds:7.0f}" if nbytes and seconds else f"{'':7}"

        java = f"{theirs:9.2f}" if theirs is not None else f"{'-':>9}"
        ratio = f"{theirs / ours:6.2f}" if theirs is not None else f"{'-':>6}"
        warm = theirs - start if theirs is not None and start is not None else None
        warm_text = f"{warm:13.2f}" if warm is not None else f"{'-':>13}"
        warm_ratio = f"{warm / ours:6.2f}" if warm is not None else f"{'-':>6}"
        print(f"{name:52} {ours:8.2f} {rate(ours)} {java} {rate(theirs)} {ratio} {warm_text} {warm_ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
