"""Hadoop's ``hadoop.security.auth_to_local``: the short user name of a Kerberos principal.

Servers (the mini cluster's, ``pyarn-am``) name callers by short names, as
Hadoop's ``KerberosName`` rules map them: ``alice@REALM`` -> ``alice``,
``nn/host@REALM`` -> ``hdfs`` with a rule for it.
"""
from __future__ import annotations

import re
from typing import List, Mapping, Optional

import attrs

from ..errors import AccessControlError

__all__ = ["AuthToLocal", "NoMatchingRule"]


class NoMatchingRule(AccessControlError):
    """No auth_to_local rule maps a principal (Hadoop's ``KerberosName.NoMatchingRule``)."""


_RULE = re.compile(r"\s*((DEFAULT)|(RULE:\[(\d+):([^\]]*)](\(([^)]*)\))?(s/([^/]*)/([^/]*)/(g)?)?/?(L)?))")
_PARAMETER = re.compile(r"([^$]*)(\$(\d*))?")
_NON_SIMPLE = re.compile(r"[/@]")


@attrs.frozen
class _Rule:
    default: bool = False
    components: int = 0
    fmt: str = ""
    match: Optional[re.Pattern] = None
    from_pattern: Optional[re.Pattern] = None
    to_pattern: str = ""
    repeat: bool = False
    lower: bool = False

    def apply(self, params: List[str], default_realm: str) -> Optional[str]:
        result: Optional[str] = None
        if self.default:
            if params[0] == default_realm:
                result = params[1]
        elif len(params) - 1 == self.components:
            base = _replace_parameters(self.fmt, params)
            if self.match is None or self.match.fullmatch(base):
                if self.from_pattern is None:
                    result = base
                else:
                    replacement = re.sub(r"\$(\d)", r"\\g<\1>", self.to_pattern)
                    result = self.from_pattern.sub(replacement, base, count=0 if self.repeat else 1)
        if result is not None and _NON_SIMPLE.search(result):
            raise NoMatchingRule(f"Non-simple name {result} after auth_to_local rule {self}")
        if self.lower and result is not None:
            result = result.lower()
        return result


def _replace_parameters(fmt: str, params: List[str]) -> str:
    out = []
    for match in _PARAMETER.finditer(fmt):
        if not match.group(0):
            continue
        out.append(match.group(1))
        if match.group(3) is not None:
            index = int(match.group(3)) if match.group(3) else -1
            if not 0 <= index < len(params):
                raise ValueError(f"auth_to_local: index {match.group(3)} from {fmt} is outside of the valid "
                                 f"range 0 to {len(params) - 1}")
            out.append(params[index])
    return "".join(out)


class AuthToLocal:
    """``hadoop.security.auth_to_local`` (Hadoop's ``KerberosName`` rules, the ``hadoop`` mechanism).

    ``short_name("alice@R")`` applies the first rule that maps the principal; a name with
    no realm is returned as it is; a principal no rule maps raises :class:`NoMatchingRule`
    (an ``AccessControlException``), as Hadoop does.
    """

    def __init__(self, rules: str, default_realm: str) -> None:
        self.text = rules
        self.default_realm = default_realm
        self.rules = self._parse(rules)

    @staticmethod
    def _parse(text: str) -> List[_Rule]:
        rules: List[_Rule] = []
        remaining = text.strip()
        while remaining:
            match = _RULE.match(remaining)
            if match is None:
                raise ValueError(f"Invalid rule: {remaining}")
            if match.group(2) is not None:
                rules.append(_Rule(default=True))
            else:
                rules.append(_Rule(
                    components=int(match.group(4)), fmt=match.group(5),
                    match=re.compile(match.group(7)) if match.group(7) is not None else None,
                    from_pattern=re.compile(match.group(9)) if match.group(9) is not None else None,
                    to_pattern=match.group(10) or "", repeat=match.group(11) == "g",
                    lower=match.group(12) == "L"))
            remaining = remaining[match.end():].strip()
        return rules

    @classmethod
    def from_conf(cls, conf: Mapping[str, str]) -> AuthToLocal:
        """The rules of ``hadoop.security.auth_to_local`` (default ``DEFAULT``) with the default realm
        of the Kerberos configuration (needs the ``kerberos`` extra)."""
        from .kerberos import default_realm

        return cls(conf.get("hadoop.security.auth_to_local") or "DEFAULT", default_realm() or "")

    def short_name(self, principal: str) -> str:
        name, _, realm = principal.partition("@")
        parts = name.split("/")
        if not realm and len(parts) == 1:
            return principal
        params = [realm, *parts]
        for rule in self.rules:
            result = rule.apply(params, self.default_realm)
            if result is not None:
                return result
        raise NoMatchingRule(f"No rules applied to {principal}")

    def __call__(self, principal: str) -> str:
        return self.short_name(principal)
