"""Mask credential-shaped strings in text that leaves the archive (exports, later snippets, show).

Invariants:

- Exports mask by default; ``--no-redact`` is the only way out. The archive itself is never
  altered: ``cat`` and restore give back the original bytes; masking happens on the way out only.
- Masking format: the secret part becomes ``[REDACTED:<kind>]``. Nothing of a key is kept, not
  even its public prefix (``sk-ant-``, ``ghp_``): the kind already names the vendor, and "keep
  nothing" is a rule a reader can trust. Labels that are not secret stay so the text still
  reads: ``password=[REDACTED:password]``, ``Authorization: Bearer [REDACTED:bearer-token]``,
  ``https://user:[REDACTED:url-password]@host``.
- Masking is idempotent: ``redact(redact(t)) == redact(t)``.
- :func:`find_secrets` returns ``(kind, start, end)`` spans, never the secret text, so a command
  that lists findings cannot print a secret by accident.
- Linear time on any input. One pass of a trigger regex finds the few places worth a look
  (``sk-``, ``ghp_``, ``password``, ``://`` …); an anchored pattern then checks each. Its
  quantifiers are possessive (they never backtrack), a key must start at a token boundary, and
  triggers inside a span already examined are skipped, so no input makes the work grow faster
  than its length.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

# Every kind a finding can have, in the order of the README's table.
KINDS: tuple[str, ...] = (
    "anthropic-key",
    "openai-key",
    "github-token",
    "gitlab-token",
    "slack-token",
    "aws-access-key-id",
    "aws-secret-key",
    "google-api-key",
    "stripe-key",
    "npm-token",
    "huggingface-token",
    "jwt",
    "bearer-token",
    "basic-auth",
    "private-key",
    "url-password",
    "password",
    "secret",
    "token",
    "api-key",
)

PLACEHOLDER = "[REDACTED:{}]"


class Finding(NamedTuple):
    """Where a secret is and what it looks like; deliberately not what it is."""

    kind: str
    start: int
    end: int


def mask(kind: str) -> str:
    """The text that replaces a secret of ``kind`` (one format for every caller)."""
    return PLACEHOLDER.format(kind)


# -- rules --------------------------------------------------------------------------------------

_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True)
class _Rule:
    """An anchored check run where a trigger was found.

    ``token`` rules match a whole key (its start must be a token boundary); the other rules
    match a label and mask only the value, their last group (``v``, or ``qv``/``uv`` for a quoted
    or bare value). ``accept`` sees the value and the match and says whether it is
    credential-shaped."""

    kind: str
    regex: re.Pattern[str]
    token: bool
    accept: Callable[[str, re.Match[str]], bool] | None = None
    boundary: bool = True  # a key must not be part of a longer word (PEM blocks need not)


def _has_digit(s: str) -> bool:
    return any(c.isdigit() for c in s)


def _mixed_case(s: str) -> bool:
    return any(c.isupper() for c in s) and any(c.islower() for c in s)


def _openai_ok(value: str, m: re.Match[str]) -> bool:
    body = m.group("body")
    if body.startswith("ant-"):  # a too-short Anthropic key is not an OpenAI key
        return False
    if m.group("scoped"):  # sk-proj-, sk-svcacct-, sk-admin-
        return _has_digit(body)
    # Classic keys are random alphanumerics: digits and both cases. Prose ("sk-learn-…") is not.
    return _has_digit(body) and _mixed_case(body) and body.count("-") + body.count("_") <= 2


def _slack_ok(value: str, m: re.Match[str]) -> bool:
    return _has_digit(value)


def _hf_ok(value: str, m: re.Match[str]) -> bool:
    return _mixed_case(value[3:])


def _placeholder(value: str) -> bool:
    """Variables, templates and already-masked text: not a secret in itself."""
    return (
        value.startswith(("$", "%", "{", "<", "["))
        or "${" in value
        or "{{" in value
        or len(set(value)) <= 2  # "********", "xxxxxxxx"
    )


def _bearer_ok(value: str, m: re.Match[str]) -> bool:
    return len(value) >= 8 and (_has_digit(value) or len(value) >= 20) and not _placeholder(value)


def _basic_ok(value: str, m: re.Match[str]) -> bool:
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


def _url_ok(value: str, m: re.Match[str]) -> bool:
    return bool(value) and not _placeholder(value)


_MIN_ASSIGNED = 8  # "a long value": shorter ones (token=abc) are left alone
_SHORTEST_KEY = 15  # no key rule matches fewer characters (xoxb- and 10)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*+(?:\.[A-Za-z_][A-Za-z0-9_]*+)*+")


def _assigned_ok(value: str, m: re.Match[str]) -> bool:
    """A value after ``password=`` and friends that looks like data, not code or prose."""
    if len(value) < _MIN_ASSIGNED or _placeholder(value) or value.isdigit():
        return False
    if m.group("qv") is not None:
        return " " not in value  # quoted prose: "Password must be at least 8 characters"
    # Unquoted values in code are expressions: `token = self._token`, `password: str`,
    # `apiKey: getKey()`, `secret = new_secret`. A bare identifier counts as data only when it
    # has a digit or starts upper-case (`hunter2hunter`, `MySuperSecret`).
    if m.string[m.end("uv") : m.end("uv") + 1] in ("(", "["):
        return False
    if _IDENTIFIER.fullmatch(value):
        if "." in value:
            return False
        if not _has_digit(value) and not value[0].isupper():
            return False
    return True


# What follows a label: a closing quote (JSON, dicts), then `=`, `:`, `:=` or `=>`.
_SEP = r"""\\?["']?[ \t]*+(?::=|=>|[:=])"""
_LABEL_TAIL = _SEP + r"[ \t]*+"
# The trigger's cheap test that a label is followed by a value long enough to be masked.
_LABEL_FOLLOW = _LABEL_TAIL + rf"""\\?["'`]?[^\s"'`\\]{{{_MIN_ASSIGNED}}}"""
_VALUE = (
    r"""(?:\\?["'`](?P<qv>[^"'`\r\n\\]++)\\?["'`]"""
    r"""|(?P<uv>[^\s"'`,;&|<>(){}\[\]\\]++))"""
)


def _value_rule(kind: str, label: str, accept) -> _Rule:
    pattern = rf"(?:{label}){_LABEL_TAIL}{_VALUE}"
    return _Rule(kind, re.compile(pattern, re.IGNORECASE), token=False, accept=accept)


def _token_rule(kind: str, pattern: str, accept=None, *, boundary: bool = True) -> _Rule:
    return _Rule(kind, re.compile(pattern), token=True, accept=accept, boundary=boundary)


_T = "A-Za-z0-9_-"
_ANTHROPIC = _token_rule("anthropic-key", rf"sk-ant-[{_T}]{{20,}}+")
_OPENAI = _token_rule(
    "openai-key",
    rf"sk-(?P<scoped>(?:proj|svcacct|admin)-)?(?P<body>[{_T}]{{20,}}+)",
    _openai_ok,
)
_GITHUB = _token_rule("github-token", r"gh[pousr]_[A-Za-z0-9]{36,}+")
_GITHUB_PAT = _token_rule("github-token", r"github_pat_[A-Za-z0-9_]{22,}+")
_GITLAB = _token_rule("gitlab-token", rf"glpat-[{_T}]{{20,}}+")
_SLACK = _token_rule("slack-token", r"xox[abprs]-[A-Za-z0-9-]{10,}+", _slack_ok)
_AWS_ID = _token_rule("aws-access-key-id", r"(?:AKIA|ASIA)[A-Z0-9]{16}+")
_GOOGLE = _token_rule("google-api-key", rf"AIza[{_T}]{{35}}+")
_STRIPE = _token_rule("stripe-key", r"[sr]k_live_[A-Za-z0-9]{20,}+")
_NPM = _token_rule("npm-token", r"npm_[A-Za-z0-9]{36}+")
_HF = _token_rule("huggingface-token", r"hf_[A-Za-z0-9]{30,}+", _hf_ok)
_JWT = _token_rule("jwt", rf"eyJ[{_T}]{{8,}}+\.[{_T}]{{8,}}+\.[{_T}]*+")
# PEM: the body is lines of base64 (possibly JSON-escaped "\n", indented, or joined by spaces
# when a command line was collapsed) and header lines such as "Proc-Type: 4,ENCRYPTED". A block
# cut short (tool output is capped) is masked up to the first blank line or other character.
_B64_RUN = r"[A-Za-z0-9+/=\\]++"
_PEM_LINE = (
    rf"[ \t]*+(?:[A-Za-z][A-Za-z-]*+:[ \t][^\r\n\\]*+|{_B64_RUN}(?:[ \t]++{_B64_RUN})*+)[ \t]*+"
)
_PEM = _token_rule(
    "private-key",
    r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    rf"(?:[ \t]*+\r?\n)?+(?:{_PEM_LINE}(?:\r?\n{_PEM_LINE})*+)?+"
    r"(?:(?:\r?\n)?+-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
    boundary=False,
)
_AUTH_LABEL = r"""authorization\\?["']?[ \t]*+[:=][ \t]*+\\?["']?"""
_BEARER = _Rule(
    "bearer-token",
    re.compile(_AUTH_LABEL + r"bearer[ \t]++(?P<v>[A-Za-z0-9._~+/=-]++)", re.IGNORECASE),
    token=False,
    accept=_bearer_ok,
)
_BASIC = _Rule(
    "basic-auth",
    re.compile(_AUTH_LABEL + r"basic[ \t]++(?P<v>[A-Za-z0-9+/=]++)", re.IGNORECASE),
    token=False,
    accept=_basic_ok,
)
_URL = _Rule(
    "url-password",
    re.compile(r"""://[^\s/?#@:"'<>\\]*+:(?P<v>[^\s/?#"'<>\\]*)@"""),
    token=False,
    accept=_url_ok,
)
_AWS_SECRET = _Rule(
    "aws-secret-key",
    re.compile(
        r"""secret_?access_?key\\?["']?[ \t]*+[:=][ \t]*+\\?["']?(?P<v>[A-Za-z0-9/+=]{40}+)"""
        r"""(?![A-Za-z0-9/+=])""",
        re.IGNORECASE,
    ),
    token=False,
)
_PASSWORD = _value_rule("password", r"pass(?:word|wd|phrase)", _assigned_ok)
_SECRET = _value_rule("secret", r"secret(?:[_-]?access)?(?:[_-]?key)?", _assigned_ok)
_TOKEN = _value_rule("token", r"token", _assigned_ok)
_API_KEY = _value_rule("api-key", r"api[_-]?key|apikey", _assigned_ok)

# Triggers: (literal, case-insensitive?, its anchor character, what must follow, rules).
# The anchor is a rare character of the literal (``k`` of ``token``, ``z`` of ``authorization``);
# the trigger regex starts every alternative with an anchor, so the engine skips, in C, every
# position holding none of them (about 85% of a transcript), and checks the rest of the literal
# with a lookbehind and a lookahead; a label only counts when a separator and a long enough value
# follow it, so prose ("tokens, secrets") and short values cost no Python call. Rules run in
# order; the first that matches wins.
_TRIGGER_TABLE: tuple[tuple[str, bool, str, str, tuple[_Rule, ...]], ...] = (
    ("sk-", False, "k", "", (_ANTHROPIC, _OPENAI)),
    ("sk_live_", False, "k", "", (_STRIPE,)),
    ("rk_live_", False, "k", "", (_STRIPE,)),
    *((f"gh{c}_", False, "g", "", (_GITHUB,)) for c in "pousr"),
    ("github_pat_", False, "g", "", (_GITHUB_PAT,)),
    ("glpat-", False, "g", "", (_GITLAB,)),
    ("xox", False, "x", "", (_SLACK,)),
    ("AKIA", False, "K", "", (_AWS_ID,)),
    ("ASIA", False, "S", "", (_AWS_ID,)),
    ("AIza", False, "z", "", (_GOOGLE,)),
    ("npm_", False, "_", "", (_NPM,)),
    ("hf_", False, "_", "", (_HF,)),
    ("eyJ", False, "J", "", (_JWT,)),
    ("-----BEGIN", False, "B", "", (_PEM,)),
    ("://", False, "/", "", (_URL,)),
    ("authorization", True, "z", _SEP, (_BEARER, _BASIC)),
    ("secret", True, "c", rf"(?:[_-]?access)?(?:[_-]?key)?{_LABEL_FOLLOW}",
     (_AWS_SECRET, _SECRET)),
    ("password", True, "w", _LABEL_FOLLOW, (_PASSWORD,)),
    ("passwd", True, "w", _LABEL_FOLLOW, (_PASSWORD,)),
    ("passphrase", True, "h", _LABEL_FOLLOW, (_PASSWORD,)),
    ("token", True, "k", _LABEL_FOLLOW, (_TOKEN,)),
    ("api_key", True, "k", _LABEL_FOLLOW, (_API_KEY,)),
    ("api-key", True, "k", _LABEL_FOLLOW, (_API_KEY,)),
    ("apikey", True, "k", _LABEL_FOLLOW, (_API_KEY,)),
)


def _build_triggers() -> tuple[re.Pattern[str], list[tuple[int, tuple[_Rule, ...]]]]:
    """The trigger regex, and for each of its groups: (offset of the anchor, rules).

    Each alternative ends in an empty group, so ``m.lastindex`` names the trigger found."""
    by_anchor: dict[str, list[tuple[str, int, tuple[_Rule, ...]]]] = {}
    for literal, ci, anchor, follow, rules in _TRIGGER_TABLE:
        at = literal.index(anchor)
        before, after = re.escape(literal[: at + 1]), re.escape(literal[at + 1 :]) + follow
        if ci:
            before, after = f"(?i:{before})", f"(?i:{after})"
        alternative = f"(?<={before})" + (f"(?={after})" if after else "") + "()"
        for a in sorted({anchor.lower(), anchor.upper()}) if ci else (anchor,):
            by_anchor.setdefault(a, []).append((alternative, at, rules))
    parts = []
    groups: list[tuple[int, tuple[_Rule, ...]]] = [(0, ())]  # group 0: the whole match
    for a, alternatives in by_anchor.items():  # groups are numbered in pattern order
        parts.append(f"{re.escape(a)}(?:{'|'.join(alt for alt, _, _ in alternatives)})")
        groups.extend((at, rules) for _, at, rules in alternatives)
    return re.compile("|".join(parts)), groups


_TRIGGERS, _GROUPS = _build_triggers()


def _token_rules_by_first() -> dict[str, tuple[_Rule, ...]]:
    """Key rules by the first character of their literal, for :func:`_vendor_kind`."""
    by_first: dict[str, list[_Rule]] = {}
    for literal, _ci, _anchor, _follow, rules in _TRIGGER_TABLE:
        for rule in rules:
            if rule.token and rule not in by_first.setdefault(literal[0], []):
                by_first[literal[0]].append(rule)
    return {first: tuple(rules) for first, rules in by_first.items()}


_TOKEN_RULES_BY_FIRST = _token_rules_by_first()


def _vendor_kind(value: str) -> str | None:
    """The kind of a known key when ``value`` is exactly one (``API_KEY=sk-ant-…``)."""
    for rule in _TOKEN_RULES_BY_FIRST.get(value[:1], ()):
        m = rule.regex.fullmatch(value)
        if m and (rule.accept is None or rule.accept(value, m)):
            return rule.kind
    return None


def _scan(text: str, start: int, end: int, tokens_only: bool, out: list) -> None:
    """Append the findings of ``text[start:end]`` to ``out``, in order."""
    skip = start  # triggers before this were inside a span already examined
    for t in _TRIGGERS.finditer(text, start, end):
        at, rules = _GROUPS[t.lastindex]
        pos = t.start() - at
        if pos < skip:
            continue
        for rule in rules:
            if rule.token:
                if (
                    rule.boundary
                    and pos > 0
                    and text[pos - 1] in _TOKEN_CHARS
                    and not (pos > 1 and text[pos - 2] == "\\")  # after an escape (JSON "\\n")
                ):
                    break  # inside a longer word: not a key
                m = rule.regex.match(text, pos, end)
                if m is None:
                    continue
                skip = m.end()
                if rule.boundary and skip < end and text[skip] in _TOKEN_CHARS:
                    break  # runs on into more word characters: not a key
                if rule.accept is None or rule.accept(m.group(), m):
                    out.append(Finding(rule.kind, pos, skip))
                break
            if tokens_only:
                continue
            if rule is _URL and not (pos > 0 and text[pos - 1].isalnum()):
                break  # "://" without a scheme before it
            m = rule.regex.match(text, pos, end)
            if m is None:
                continue
            skip = max(skip, m.end())
            vs, ve = m.span(m.lastindex)  # the value: the last group of every rule
            value = text[vs:ve]
            vendor = _vendor_kind(value)
            if vendor:
                out.append(Finding(vendor, vs, ve))
            elif rule.accept is None or rule.accept(value, m):
                out.append(Finding(rule.kind, vs, ve))
            elif ve - vs >= _SHORTEST_KEY:
                # Not credential-shaped as a whole; a known key may still sit inside it.
                _scan(text, vs, ve, True, out)
            break


def find_secrets(text: str) -> list[Finding]:
    """Credential-shaped spans of ``text``, in order and not overlapping."""
    if not text or not isinstance(text, str):
        return []
    out: list[Finding] = []
    _scan(text, 0, len(text), False, out)
    return out


def redact(text: str, findings: list[Finding] | None = None) -> str:
    """``text`` with every secret replaced by ``[REDACTED:<kind>]``.

    Pass ``findings`` (from :func:`find_secrets` on the same text) to avoid scanning twice."""
    if findings is None:
        findings = find_secrets(text)
    if not findings:
        return text
    parts: list[str] = []
    at = 0
    for kind, start, end in findings:
        parts.append(text[at:start])
        parts.append(mask(kind))
        at = end
    parts.append(text[at:])
    return "".join(parts)


def redact_spans(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` redacted, and where each mask sits in the result: for callers that cut or
    highlight the text afterwards (search snippets), so no cut can split a secret."""
    findings = find_secrets(text)
    if not findings:
        return text, []
    parts: list[str] = []
    masks: list[tuple[int, int]] = []
    at = length = 0
    for kind, start, end in findings:
        parts.append(text[at:start])
        length += start - at
        placeholder = mask(kind)
        parts.append(placeholder)
        masks.append((length, length + len(placeholder)))
        length += len(placeholder)
        at = end
    parts.append(text[at:])
    return "".join(parts), masks


def redact_data(value, counts: Counter | None = None):
    """A copy of JSON-like data with every string value redacted (keys are ours, not data).

    ``counts`` (optional) is incremented by kind, so a caller can say what it masked."""
    if isinstance(value, str):
        found = find_secrets(value)
        if counts is not None:
            counts.update(f.kind for f in found)
        return redact(value, found) if found else value
    if isinstance(value, dict):
        return {k: redact_data(v, counts) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, counts) for v in value]
    return value


__all__ = ["KINDS", "Finding", "find_secrets", "mask", "redact", "redact_data", "redact_spans"]
