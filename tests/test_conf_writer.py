"""``pyarn.conf.writer``: what it writes, the reader reads back as written."""
from __future__ import annotations

import pytest

from pyarn.conf import Configuration
from pyarn.conf.writer import site_xml, write_site_xml
from pyarn.conf.xml import read_properties

PROPERTIES = {
    "fs.defaultFS": "hdfs://nn.example:8020",
    "yarn.resourcemanager.scheduler.address": "${yarn.resourcemanager.hostname}:8030",
    "odd.characters": "a<b & c>d \"quoted\" 'single' ünïcödé",
    "leading.space": "  kept  ",
    "a.number": 3,
}


def test_written_properties_read_back_unchanged(tmp_path):
    path = write_site_xml(tmp_path / "core-site.xml", PROPERTIES)
    read = {p.name: p.value for p in read_properties(str(path))}
    assert read == {name: str(value) for name, value in PROPERTIES.items()}
    assert path.read_text(encoding="utf-8") == site_xml(PROPERTIES)
    conf = Configuration.load(tmp_path, env={})
    assert conf.raw("yarn.resourcemanager.scheduler.address") == "${yarn.resourcemanager.hostname}:8030"


def test_an_empty_document_and_characters_xml_cannot_hold():
    assert site_xml({}) == '<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n</configuration>\n'
    with pytest.raises(ValueError, match="bad.value"):
        site_xml({"bad.value": "bell\x07"})
    with pytest.raises(ValueError, match="property name"):
        site_xml({"bad\x00name": "x"})
