"""Hadoop's own Java FsShell as the client of the MiniHDFS.

Needs ``java`` and Hadoop's client jars: ``PYARN_TEST_HADOOP_CLASSPATH``, else
``../shared/realcluster/realcluster.sh classpath yarn``, else ``hadoop
classpath``; skipped with the reason otherwise. All FsShell commands run in
one JVM (``ShellBatch.java``, through ``FsShell.run``, as ``hadoop fs`` does)
to keep the suite fast. The replicas' ``.meta`` files are also checked with
Hadoop's ``DebugAdmin verify`` when the HDFS server jars are at hand.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from pyarn.hdfs.checksum import CRC32C_512

from .conftest import SUPERUSER
from .support import MIB, locate, read_file, write_file

HERE = Path(__file__).resolve().parent
REALCLUSTER = HERE.parents[3] / "shared" / "realcluster" / "realcluster.sh"
JAVA_FLAGS = ["--add-opens=java.base/java.lang=ALL-UNNAMED"]


def _classpath(kind: str, env: Optional[str]) -> Optional[str]:
    if env and os.environ.get(env):
        return os.environ[env]
    for command in ([str(REALCLUSTER), "classpath", kind], ["hadoop", "classpath"]):
        if shutil.which(command[0]) or Path(command[0]).is_file():
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if done.returncode == 0 and done.stdout.strip():
                return done.stdout.strip()
    return None


@pytest.fixture(scope="module")
def classpath() -> str:
    if shutil.which("java") is None:
        pytest.skip("no java on PATH: the Java FsShell cannot be run")
    found = _classpath("yarn", "PYARN_TEST_HADOOP_CLASSPATH")
    if found is None:
        pytest.skip("no Hadoop client classpath (set PYARN_TEST_HADOOP_CLASSPATH)")
    return found


def fsshell(classpath: str, cluster, commands: List[List[str]], settings: Dict[str, str],
            user: str = SUPERUSER) -> List[Tuple[int, str, str]]:
    """Run ``commands`` in one JVM; ``(exit code, stdout, stderr)`` of each."""
    args: List[str] = [cluster.default_fs, *(f"-D{k}={v}" for k, v in settings.items())]
    for command in commands:
        args += [*command, "--"]
    env = {**os.environ, "HADOOP_USER_NAME": user}
    done = subprocess.run(["java", *JAVA_FLAGS, "-cp", classpath, str(HERE / "ShellBatch.java"), *args[:-1]],
                          capture_output=True, text=True, timeout=120, env=env)
    outs = re.split(r"@@rc=-?\d+\n", done.stdout)
    errs = re.split(r"@@rc=-?\d+\n", done.stderr)
    codes = [int(code) for code in re.findall(r"@@rc=(-?\d+)\n", done.stdout)]
    assert len(codes) == len(commands), f"FsShell batch died:\n{done.stderr[-4000:]}"
    return list(zip(codes, outs, [re.sub(r"(?m)^(WARNING|.*NativeCodeLoader).*\n", "", e) for e in errs]))


def test_java_fsshell_against_minihdfs(classpath, cluster, nn, tmp_path):
    big = os.urandom(2 * MIB + 12_345)
    small = b"hello from FsShell\n"
    (tmp_path / "big").write_bytes(big)
    (tmp_path / "small").write_bytes(small)
    mine = os.urandom(MIB + 99)
    write_file(nn, "/java/from-pyarn", mine, replication=2)
    results = fsshell(classpath, cluster, [
        ["-mkdir", "-p", "/java/dir"],                                        # 0
        ["-put", str(tmp_path / "big"), "/java/dir/big"],                     # 1
        ["-put", str(tmp_path / "small"), "/java/dir/small"],                 # 2
        ["-ls", "/java/dir"],                                                 # 3
        ["-cat", "/java/dir/small"],                                          # 4
        ["-get", "/java/dir/big", str(tmp_path / "big.back")],                # 5
        ["-mv", "/java/dir/big", "/java/moved"],                              # 6
        ["-chmod", "600", "/java/moved"],                                     # 7
        ["@alice", "-cat", "/java/moved"],                                    # 8
        ["@alice", "-mkdir", "/java/dir/x"],                                  # 9
        ["-appendToFile", str(tmp_path / "small"), "/java/moved"],            # 10
        ["-get", "/java/from-pyarn", str(tmp_path / "from-pyarn")],           # 11
        ["-rm", "-r", "/java/dir"],                                           # 12
        ["-ls", "/java"],                                                     # 13
        ["-stat", "%r %o %u:%g %b %n", "/java/moved"],                        # 14
        ["-cat", "/java/missing"],                                            # 15
        ["-checksum", "/java/from-pyarn"],                                    # 16
    ], {"dfs.blocksize": str(MIB), "dfs.replication": "2"})
    codes = [code for code, _, _ in results]
    assert codes == [0] * 8 + [1, 1] + [0] * 5 + [1, 0], [(c, e) for c, _, e in results]

    listing = results[3][1]
    assert re.search(rf"-rw-r--r--\s+2 {SUPERUSER} supergroup\s+{len(big)} \S+ \S+ /java/dir/big", listing)
    assert re.search(rf"-rw-r--r--\s+2 {SUPERUSER} supergroup\s+{len(small)} \S+ \S+ /java/dir/small",
                     listing)
    assert results[4][1] == small.decode()
    assert (tmp_path / "big.back").read_bytes() == big
    assert results[8][2].strip() == (f'cat: Permission denied: user=alice, access=READ, inode="/java/moved":'
                                     f"{SUPERUSER}:supergroup:-rw-------")
    assert results[9][2].strip() == ('mkdir: Permission denied: user=alice, access=WRITE, '
                                     f'inode="/java/dir/x":{SUPERUSER}:supergroup:drwxr-xr-x')
    assert (tmp_path / "from-pyarn").read_bytes() == mine
    assert "/java/dir" not in results[13][1] and "/java/moved" in results[13][1]
    assert results[14][1].strip() == f"2 {MIB} {SUPERUSER}:supergroup {len(big) + len(small)} moved"
    assert "No such file or directory" in results[15][2]
    # MD5 of the blocks' MD5s of their CRC32Cs (the DataNodes' BLOCK_CHECKSUM answers, combined by Java)
    block_md5s = b"".join(hashlib.md5(CRC32C_512.compute(mine[i:i + MIB])).digest()
                          for i in range(0, len(mine), MIB))
    digest = hashlib.md5(block_md5s).hexdigest()
    want = f"/java/from-pyarn\tMD5-of-2048MD5-of-512CRC32C\t{512:08x}{2048:016x}{digest}"
    assert results[16][1].strip() == want

    # what Java wrote (and appended to a partial last block), pyarn reads back from each replica
    assert read_file(nn, "/java/moved", replica=0) == big + small
    assert read_file(nn, "/java/moved", replica=1) == big + small
    _verify_meta_files(cluster, nn, "/java/moved")


def _verify_meta_files(cluster, nn, path: str) -> None:
    """Hadoop's ``hdfs debug verify`` on the last block of ``path`` (when its server jars are at hand).

    That block was appended to, so its ``.meta`` had a partial chunk's CRC rewritten.
    """
    hdfs_classpath = _classpath("hdfs", "PYARN_TEST_HADOOP_HDFS_CLASSPATH")
    if hdfs_classpath is None:
        return
    block = locate(nn, path)[-1]
    replica = cluster.datanode_for(block.b.blockId)[0].storage.get(block.b.blockId)
    done = subprocess.run(
        ["java", *JAVA_FLAGS, "-cp", hdfs_classpath, "org.apache.hadoop.hdfs.tools.DebugAdmin", "verify",
         "-meta", str(replica.meta_path), "-block", str(replica.data_path)],
        capture_output=True, text=True, timeout=60)
    if "Could not find or load main class" in done.stderr:
        return
    assert "Checksum verification succeeded" in done.stdout + done.stderr, done.stdout + done.stderr
