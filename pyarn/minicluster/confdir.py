"""The HADOOP_CONF_DIR of a mini cluster: ``core-site.xml``, ``yarn-site.xml`` and ``hdfs-site.xml``.

Written in Hadoop's XML format, so that pyarn's loader and Java's
``Configuration`` both read it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional

from ..conf.writer import site_xml


def write_conf_dir(directory: Path, core: Mapping[str, str], yarn: Mapping[str, str],
                   hdfs: Optional[Mapping[str, str]] = None) -> Path:
    """Write ``core-site.xml``, ``yarn-site.xml`` and (given ``hdfs``) ``hdfs-site.xml`` into
    ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "core-site.xml").write_text(site_xml(core))
    (directory / "yarn-site.xml").write_text(site_xml(yarn))
    if hdfs is not None:
        (directory / "hdfs-site.xml").write_text(site_xml(hdfs))
    return directory
