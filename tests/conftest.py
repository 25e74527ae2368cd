"""Shared fixtures for pyarn's tests."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: Hadoop's reference definitions, beside the checkout when ../shared is present.
REFERENCE_PROTOS = REPO.parent / "shared" / "reference" / "hadoop-proto"


@pytest.fixture(scope="session")
def reference_protos() -> Path:
    if not REFERENCE_PROTOS.is_dir():
        pytest.skip(f"Hadoop's reference .proto files are not at {REFERENCE_PROTOS} "
                    "(../shared is absent from this checkout)")
    return REFERENCE_PROTOS
