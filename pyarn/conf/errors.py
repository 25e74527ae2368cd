"""The configuration error type."""
from __future__ import annotations

from typing import Optional

from ..errors import PyarnError


class ConfigError(PyarnError):
    """A Hadoop configuration that cannot be used: a missing directory, an unreadable or
    malformed file, or a value that does not parse. The message names the file (and line)
    and the key when they are known; they are also kept as attributes."""

    def __init__(self, message: str, *, file: Optional[str] = None, line: Optional[int] = None,
                 key: Optional[str] = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        what = f"{key}: " if key is not None else ""
        super().__init__(f"{where}{what}{message}")
