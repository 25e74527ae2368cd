"""Removing an application's staging directory when it ends.

The submitter names the directory in the AM's environment
(``PYARN_STAGING_DIR``, a URL). :func:`clean_staging` deletes it with the
cleaner registered for its scheme: ``file`` removes the local directory,
``hdfs`` deletes through :mod:`pyarn.hdfs`. Other schemes can be added with
:func:`register_cleaner`. Cleaning never raises: a failure is logged.
"""
from __future__ import annotations

import logging
import shutil
from typing import Callable, Dict, Optional
from urllib.parse import unquote, urlsplit

from ..conf import Configuration
from ..security.user import User

log = logging.getLogger(__name__)

__all__ = ["Cleaner", "register_cleaner", "clean_staging"]

#: ``(url, conf, user)``: delete the directory at ``url``.
Cleaner = Callable[[str, Configuration, Optional[User]], None]

_CLEANERS: Dict[str, Cleaner] = {}


def register_cleaner(scheme: str, cleaner: Cleaner) -> None:
    """Use ``cleaner`` for staging directories whose URL has ``scheme``."""
    _CLEANERS[scheme.lower()] = cleaner


def _clean_local(url: str, conf: Configuration, user: Optional[User]) -> None:
    path = unquote(urlsplit(url).path)
    if path in ("", "/"):
        raise ValueError(f"refusing to delete {path!r}")
    shutil.rmtree(path)


def _clean_hdfs(url: str, conf: Configuration, user: Optional[User]) -> None:
    from ..hdfs import HDFS

    parts = urlsplit(url)
    with HDFS(conf=conf, uri=f"hdfs://{parts.netloc}" if parts.netloc else None, user=user) as fs:
        fs.rm(unquote(parts.path), recursive=True)


register_cleaner("file", _clean_local)
register_cleaner("hdfs", _clean_hdfs)


def clean_staging(url: Optional[str], conf: Configuration, user: Optional[User] = None) -> bool:
    """Delete the staging directory ``url``; True when it is gone. A path without a scheme
    is on ``fs.defaultFS``."""
    if not url:
        return False
    if not urlsplit(url).scheme:
        default = conf.get_str("fs.defaultFS", "file:///").rstrip("/")
        url = default + "/" + url.lstrip("/")
    scheme = urlsplit(url).scheme.lower()
    cleaner = _CLEANERS.get(scheme)
    if cleaner is None:
        log.warning("cannot delete staging directory %s: no cleaner for %s:// URLs", url, scheme)
        return False
    try:
        cleaner(url, conf, user)
    except FileNotFoundError:
        log.info("staging directory %s was already gone", url)
        return True
    except Exception as exc:  # cleaning up must never fail the application's ending
        log.warning("cannot delete staging directory %s: %s", url, exc)
        return False
    log.info("deleted staging directory %s", url)
    return True
