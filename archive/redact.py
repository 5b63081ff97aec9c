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
import bisect
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

# Every kind a finding can have, in the order of the README's table: keys that name their vendor
# (by prefix or shape) first, then the shapes any service uses, then labelled values.
KINDS: tuple[str, ...] = (
    "anthropic-key",
    "openai-key",
    "github-token",
    "gitlab-token",
    "slack-token",
    "slack-webhook",
    "discord-webhook",
    "aws-access-key-id",
    "aws-secret-key",
    "google-api-key",
    "google-oauth",
    "stripe-key",
    "twilio-sid",
    "twilio-key",
    "twilio-auth-token",
    "sendgrid-key",
    "npm-token",
    "pypi-token",
    "huggingface-token",
    "digitalocean-token",
    "shopify-token",
    "atlassian-token",
    "azure-storage-key",
    "azure-sas",
    "databricks-token",
    "vault-token",
    "grafana-token",
    "sentry-token",
    "doppler-token",
    "1password-token",
    "planetscale-token",
    "square-token",
    "linear-key",
    "postman-key",
    "perplexity-key",
    "brevo-key",
    "heroku-key",
    "notion-token",
    "rubygems-key",
    "pulumi-token",
    "artifactory-key",
    "telegram-bot-token",
    "age-key",
    "jwt",
    "bearer-token",
    "basic-auth",
    "private-key",
    "url-password",
    "password",
    "secret",
    "token",
    "api-key",
    "key",
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


_MASKS = re.compile(re.escape(PLACEHOLDER).replace(r"\{\}", "([a-z0-9-]+)"))


def masks_in(text: str) -> Counter:
    """How many masks of each kind ``text`` holds (what a written document shows)."""
    return Counter(_MASKS.findall(text))


# -- rules --------------------------------------------------------------------------------------

_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_TOKEN_CHARS = _ALNUM | frozenset("_-")


class _Lazy:
    """A regex compiled on its first use: a run meets few of the rules, and compiling them all
    would cost every command that masks (``sessions`` included) more than its own work. After
    the first call its methods are the compiled pattern's own (no wrapper in the hot loop)."""

    def __init__(self, pattern: str, flags: int = 0):
        self.pattern, self.flags = pattern, flags

    def _compile(self) -> re.Pattern[str]:
        compiled = re.compile(self.pattern, self.flags)
        self.match, self.fullmatch = compiled.match, compiled.fullmatch
        self.finditer, self.search = compiled.finditer, compiled.search
        return compiled

    def match(self, *args):
        return self._compile().match(*args)

    def fullmatch(self, *args):
        return self._compile().fullmatch(*args)

    def finditer(self, *args):
        return self._compile().finditer(*args)

    def search(self, *args):
        return self._compile().search(*args)


_lazy = _Lazy


@dataclass(frozen=True, eq=False)  # one object per rule: hashed by identity, cheaply
class _Rule:
    """An anchored check run where a trigger was found.

    ``token`` rules match a whole key (its start must be a token boundary); the other rules
    match a label and mask only the value, their last group (``v``, or ``qv``/``uv`` for a quoted
    or bare value). ``accept`` sees the value and the match and says whether it is
    credential-shaped."""

    kind: str
    regex: _Lazy
    token: bool
    accept: Callable[[str, re.Match[str]], bool] | None = None
    boundary: bool = True  # a key must not be part of a longer word (PEM blocks need not)
    word: frozenset[str] = _TOKEN_CHARS  # the characters that would continue the word


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


def _random_ok(value: str, m: re.Match[str]) -> bool:
    """Random key material has digits and letters (``SK`` + 32 ``f`` is not a key)."""
    return _has_digit(value) and any(c.isalpha() for c in value[2:])


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


def _given_ok(value: str, m: re.Match[str]) -> bool:
    """A password glued to ``mysql -p`` or given to ``sshpass -p``: any length is one."""
    return not _placeholder(value)


def _sas_ok(value: str, m: re.Match[str]) -> bool:
    """``sig=`` is an Azure SAS signature only as a URL parameter (``?sig=`` / ``&sig=``)."""
    return m.start() > 0 and m.string[m.start() - 1] in "?&" and _has_digit(value)


def _telegram_ok(value: str, m: re.Match[str]) -> bool:
    """``<bot id>:AA…``: the part after the colon is the secret, the id before it is digits."""
    s, at = m.string, m.start()
    digits = 0
    while at - digits > 0 and s[at - digits - 1].isdigit() and digits <= 10:
        digits += 1
    before = at - digits - 1
    return 8 <= digits <= 10 and (before < 0 or s[before] not in _TOKEN_CHARS)


# The short-value rule. A labelled value is masked from _MIN_PASSWORD characters after a password
# label and from _MIN_ASSIGNED after the other labels: a shorter value is a placeholder, a count,
# a flag or an example far more often than a secret (``token=abc``, ``password: pw``), and
# machine-made tokens are never that short. A value glued to ``mysql -p`` or in a URL is masked
# whatever its length.
_MIN_PASSWORD = 4
_MIN_ASSIGNED = 8
_SHORTEST_KEY = 15  # no key rule matches fewer characters (xoxb- and 10)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*+(?:\.[A-Za-z_][A-Za-z0-9_]*+)*+")
# Words that stand where a password would in code and docs: values, types, prompts.
_NOT_A_PASSWORD = frozenset(
    "none null nil true false undefined str string bytes optional required empty".split()
)


def _assigned_ok(value: str, m: re.Match[str], shortest: int = _MIN_ASSIGNED) -> bool:
    """A value after ``token=`` and friends that looks like data, not code or prose."""
    if len(value) < shortest or _placeholder(value):
        return False
    if shortest == _MIN_ASSIGNED and value.isdigit():  # "input_tokens": 1234567890
        return False
    if value.lower() in _NOT_A_PASSWORD:
        return False
    if m.group("qv") is not None:
        return " " not in value  # quoted prose: "Password must be at least 8 characters"
    # Unquoted values in code are expressions: `token = self._token`, `password: str`,
    # `apiKey: getKey()`, `secret = new_secret`. A bare identifier counts as data when it has a
    # digit or starts upper-case (`hunter2`, `MySuperSecret`), or when the label is written as an
    # environment variable (`DB_PASSWORD=correcthorse`): what such a line assigns is data.
    if m.string[m.end("uv") : m.end("uv") + 1] in ("(", "["):
        return False
    if _IDENTIFIER.fullmatch(value):
        if "." in value:
            return False
        label = m.group("label")
        if not _has_digit(value) and not value[0].isupper() and not label.isupper():
            return False
    return True


def _password_ok(value: str, m: re.Match[str]) -> bool:
    return _assigned_ok(value, m, _MIN_PASSWORD)


def _key_label_ok(value: str, m: re.Match[str]) -> bool:
    """``*_KEY=`` labels name anything (``sort_key``, ``foreign_key="users.id"``): only values that
    look random (letters and digits) count."""
    if m.group("label") == "Key" and not (m.start() > 0 and m.string[m.start() - 1].islower()):
        return False  # camelCase (`apiKey`, `accessKey`) only; a bare `Key:` heads prose
    return _assigned_ok(value, m) and _has_digit(value) and any(c.isalpha() for c in value)


# What follows a label: a closing quote (JSON, dicts), then `=`, `:`, `:=` or `=>`.
_SEP = r"""\\?["']?[ \t]*+(?::=|=>|[:=])"""
_LABEL_TAIL = _SEP + r"[ \t]*+"


def _label_follow(shortest: int) -> str:
    """The trigger's cheap test that a label is followed by a value long enough to be masked."""
    return _LABEL_TAIL + rf"""\\?["'`]?[^\s"'`\\]{{{shortest}}}"""


_LABEL_FOLLOW = _label_follow(_MIN_ASSIGNED)
_VALUE = (
    r"""(?:\\?["'`](?P<qv>[^"'`\r\n\\]++)\\?["'`]"""
    r"""|(?P<uv>[^\s"'`,;&|<>(){}\[\]\\]++))"""
)


def _value_rule(kind: str, label: str, accept, *, ci: bool = True) -> _Rule:
    pattern = rf"(?P<label>{label}){_LABEL_TAIL}{_VALUE}"
    return _Rule(kind, _lazy(pattern, re.IGNORECASE if ci else 0), token=False, accept=accept)


def _token_rule(kind: str, pattern: str, accept=None, *, boundary: bool = True,
                word: frozenset[str] = _TOKEN_CHARS) -> _Rule:
    return _Rule(kind, _lazy(pattern), token=True, accept=accept, boundary=boundary,
                 word=word)


def _prefixed_rule(kind: str, prefix: str, value: str, accept=None) -> _Rule:
    """A secret after a fixed prefix that is not itself secret (a host, a parameter name)."""
    return _Rule(kind, _lazy(prefix + f"(?P<v>{value})"), token=False, accept=accept)


# Prefixes, lengths and alphabets below are the vendors' published token formats, as collected by
# gitleaks (config/gitleaks.toml), detect-secrets (plugins/) and trufflehog (pkg/detectors/).
_T = "A-Za-z0-9_-"
_ANTHROPIC = _token_rule("anthropic-key", rf"sk-ant-[{_T}]{{20,}}+")
_OPENAI = _token_rule(
    "openai-key",
    rf"sk-(?P<scoped>(?:proj|svcacct|admin)-)?(?P<body>[{_T}]{{20,}}+)",
    _openai_ok,
)
_GITHUB = _token_rule("github-token", r"gh[pousr]_[A-Za-z0-9]{36,}+")
_GITHUB_PAT = _token_rule("github-token", r"github_pat_[A-Za-z0-9_]{22,}+")
_GITLAB_KINDS = "pat|dt|ft|soat|rt|cbt|ptt|agent|oas|imt|ffct"
_GITLAB = _token_rule(
    "gitlab-token", rf"gl(?:{_GITLAB_KINDS})-[{_T}]{{20,}}+(?:\.[0-9a-z]{{9}}+)?+"
)
_GITLAB_RUNNER = _token_rule("gitlab-token", rf"GR1348941[{_T}]{{20,}}+")
_SLACK = _token_rule(
    "slack-token", r"xox(?:e\.xox[bp]|[abeoprs])-[A-Za-z0-9-]{10,}+", _slack_ok
)
_SLACK_APP = _token_rule("slack-token", r"xapp-[0-9]-[A-Za-z0-9-]{10,}+", _slack_ok)
_SLACK_HOOK = _prefixed_rule(
    "slack-webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/", r"[A-Za-z0-9/+]{20,}+"
)
_DISCORD_HOOK = _prefixed_rule(
    "discord-webhook", r"discord(?:app)?\.com/api/webhooks/", rf"[0-9]{{5,}}+/[{_T}]{{30,}}+"
)
_AWS_ID = _token_rule(
    "aws-access-key-id", r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}+", word=_ALNUM
)
_GOOGLE = _token_rule("google-api-key", rf"AIza[{_T}]{{35}}+")
_GOOGLE_OAUTH = _token_rule("google-oauth", rf"(?:GOCSPX-[{_T}]{{28,}}+|ya29\.[{_T}]{{20,}}+)")
_STRIPE = _token_rule("stripe-key", r"(?:[sr]k_(?:live|test|prod)|whsec)_[A-Za-z0-9]{16,}+")
_TWILIO_SID = _token_rule("twilio-sid", r"AC[0-9a-f]{32}+", _random_ok, word=_ALNUM)
_TWILIO_KEY = _token_rule("twilio-key", r"SK[0-9a-fA-F]{32}+", _random_ok, word=_ALNUM)
_SENDGRID = _token_rule("sendgrid-key", rf"SG\.[{_T}]{{16,32}}+\.[{_T}]{{30,64}}+")
_NPM = _token_rule("npm-token", r"npm_[A-Za-z0-9]{36}+")
_PYPI = _token_rule("pypi-token", rf"pypi-AgE[{_T}]{{50,}}+")
_HF = _token_rule("huggingface-token", r"hf_[A-Za-z0-9]{30,}+", _hf_ok)
_HF_ORG = _token_rule("huggingface-token", r"api_org_[A-Za-z0-9]{30,}+", _hf_ok)
_DIGITALOCEAN = _token_rule("digitalocean-token", r"do[opr]_v1_[a-f0-9]{64}+")
_SHOPIFY = _token_rule("shopify-token", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}+")
_ATLASSIAN = _token_rule("atlassian-token", r"AT[AC]TT[A-Za-z0-9_=-]{60,}+")
_AZURE_KEY = _Rule(
    "azure-storage-key",
    _lazy(r"(?:Account|SharedAccess)Key[ \t]*+=[ \t]*+(?P<v>[A-Za-z0-9+/]{40,}+={0,2})",
               re.IGNORECASE),
    token=False,
)
_AZURE_SAS = _prefixed_rule("azure-sas", r"sig=", r"[A-Za-z0-9%+/=]{30,}+", _sas_ok)
_DATABRICKS = _token_rule("databricks-token", r"dapi[a-f0-9]{32}+(?:-[0-9])?+")
_VAULT = _token_rule("vault-token", rf"hv[sb]\.[{_T}]{{90,}}+")
_GRAFANA = _token_rule(
    "grafana-token", r"(?:glc_[A-Za-z0-9+/]{32,}+={0,2}|glsa_[A-Za-z0-9_]{40,}+)"
)
_SENTRY = _token_rule("sentry-token", r"sntry[su]_[A-Za-z0-9+/=_]{40,}+")
_DOPPLER = _token_rule("doppler-token", r"dp\.(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9]{40,}+")
_ONEPASSWORD = _token_rule("1password-token", r"ops_eyJ[A-Za-z0-9+/]{200,}+={0,3}")
_PLANETSCALE = _token_rule("planetscale-token", r"pscale_(?:tkn|pw|oauth)_[\w=.-]{32,}+")
_SQUARE = _token_rule("square-token", rf"sq0(?:atp|csp)-[{_T}]{{22,}}+")
_LINEAR = _token_rule("linear-key", r"lin_api_[A-Za-z0-9]{40}+")
_POSTMAN = _token_rule("postman-key", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}+")
_PERPLEXITY = _token_rule("perplexity-key", r"pplx-[A-Za-z0-9]{48}+")
_BREVO = _token_rule("brevo-key", r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}+")
_HEROKU = _token_rule("heroku-key", rf"HRKU-AA[{_T}]{{58}}+")
_NOTION = _token_rule("notion-token", r"ntn_[0-9]{11}[A-Za-z0-9]{35}+")
_RUBYGEMS = _token_rule("rubygems-key", r"rubygems_[a-f0-9]{48}+")
_PULUMI = _token_rule("pulumi-token", r"pul-[a-f0-9]{40}+")
_ARTIFACTORY = _token_rule("artifactory-key", r"AKCp[A-Za-z0-9]{69}+", word=_ALNUM)
_TELEGRAM = _prefixed_rule(
    "telegram-bot-token", r":", rf"AA[{_T}]{{33}}+(?![{_T}])", _telegram_ok
)
_AGE = _token_rule("age-key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}+")
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
    _lazy(_AUTH_LABEL + r"bearer[ \t]++(?P<v>[A-Za-z0-9._~+/=-]++)", re.IGNORECASE),
    token=False,
    accept=_bearer_ok,
)
_BASIC = _Rule(
    "basic-auth",
    _lazy(_AUTH_LABEL + r"basic[ \t]++(?P<v>[A-Za-z0-9+/=]++)", re.IGNORECASE),
    token=False,
    accept=_basic_ok,
)
_URL = _Rule(
    "url-password",
    _lazy(r"""://[^\s/?#@:"'<>\\]*+:(?P<v>[^\s/?#"'<>\\]*)@"""),
    token=False,
    accept=_url_ok,
)
_AWS_SECRET = _Rule(
    "aws-secret-key",
    _lazy(
        r"""secret_?access_?key\\?["']?[ \t]*+[:=][ \t]*+\\?["']?(?P<v>[A-Za-z0-9/+=]{40}+)"""
        r"""(?![A-Za-z0-9/+=])""",
        re.IGNORECASE,
    ),
    token=False,
)
# A password given on a command line: glued to `mysql -p` (`-p secret` would prompt instead), or
# after `sshpass -p`. The arguments before it stay on one line; the pattern always matches (the
# password is optional; when absent, nothing is skipped). At most 16 arguments are read, so a
# line of repeated `mysql` costs a bounded amount per trigger.
_GIVEN = r"""(?:\\?["'](?P<qv>[^"'\r\n\\]++)\\?["']|(?P<uv>[^\s"'`;&|()<>\\][^\s"'`;&|()<>]*+))"""
_MYSQL = _Rule(
    "password",
    _lazy(
        r"(?:mysql|mariadb)(?:-?[a-z]{2,6}+)?(?=[ \t])"
        rf"(?:[ \t]++(?!-p)[^\s]++){{0,16}}+(?:[ \t]++-p{_GIVEN})?"
    ),
    token=False,
    accept=_given_ok,
)
_SSHPASS = _Rule(
    "password",
    _lazy(rf"sshpass(?:[ \t]++(?!-p)-[^\s]++){{0,10}}+(?:[ \t]++-p[ \t]*+{_GIVEN})?"),
    token=False,
    accept=_given_ok,
)
_PASSWORD = _value_rule("password", r"pass(?:word|wd|phrase)|mysql_pwd", _password_ok)
_SECRET = _value_rule("secret", r"secret(?:[_-]?access)?(?:[_-]?key)?", _assigned_ok)
_TOKEN = _value_rule("token", r"token", _assigned_ok)
_API_KEY = _value_rule("api-key", r"api[_-]?key|apikey", _assigned_ok)
_KEY = _value_rule("key", r"[_-]key", _key_label_ok)
_CAMEL_KEY = _value_rule("key", r"Key", _key_label_ok, ci=False)

# Triggers: (literal, case-insensitive?, its anchor character, what must follow, rules).
# The anchor is a rare character of the literal (``k`` of ``token``, ``z`` of ``authorization``);
# the trigger regex starts every alternative with an anchor, so the engine skips, in C, every
# position holding none of them (most of a transcript), and checks the rest of the literal
# with a lookbehind and a lookahead; a label only counts when a separator and a long enough value
# follow it, so prose ("tokens, secrets") and short values cost no Python call. Rules run in
# order; the first that matches wins. At one position the first trigger listed wins.
_PASSWORD_FOLLOW = _label_follow(_MIN_PASSWORD)
_TRIGGER_TABLE: tuple[tuple[str, bool, str, str, tuple[_Rule, ...]], ...] = (
    ("sk-", False, "k", "", (_ANTHROPIC, _OPENAI)),
    *((f"{a}k_{b}_", False, "k", "", (_STRIPE,)) for a in "sr" for b in ("live", "test", "prod")),
    ("whsec_", False, "w", "", (_STRIPE,)),
    *((f"gh{c}_", False, "g", "", (_GITHUB,)) for c in "pousr"),
    ("github_pat_", False, "g", "", (_GITHUB_PAT,)),
    ("gl", False, "g", f"(?:{_GITLAB_KINDS})-", (_GITLAB,)),
    ("glc_", False, "g", "", (_GRAFANA,)),
    ("glsa_", False, "g", "", (_GRAFANA,)),
    ("GR1348941", False, "R", "", (_GITLAB_RUNNER,)),
    ("xox", False, "x", "", (_SLACK,)),
    ("xapp-", False, "x", "", (_SLACK_APP,)),
    ("xkeysib-", False, "x", "", (_BREVO,)),
    ("hooks.slack.com/", False, "k", "", (_SLACK_HOOK,)),
    ("discord.com/api/webhooks/", False, "w", "", (_DISCORD_HOOK,)),
    ("discordapp.com/api/webhooks/", False, "w", "", (_DISCORD_HOOK,)),
    ("AKIA", False, "K", "", (_AWS_ID,)),
    ("AKCp", False, "K", "", (_ARTIFACTORY,)),
    ("ASIA", False, "S", "", (_AWS_ID,)),
    ("ABIA", False, "B", "", (_AWS_ID,)),
    ("ACCA", False, "C", "", (_AWS_ID,)),
    ("AC", False, "C", "[0-9a-f]{32}", (_TWILIO_SID,)),
    ("SK", False, "K", "[0-9a-fA-F]{32}", (_TWILIO_KEY,)),
    ("SG.", False, "G", "", (_SENDGRID,)),
    ("AIza", False, "z", "", (_GOOGLE,)),
    ("GOCSPX-", False, "X", "", (_GOOGLE_OAUTH,)),
    ("ya29.", False, ".", "", (_GOOGLE_OAUTH,)),
    ("npm_", False, "_", "", (_NPM,)),
    ("pypi-AgE", False, "E", "", (_PYPI,)),
    ("hf_", False, "_", "", (_HF,)),
    ("api_org_", False, "_", "", (_HF_ORG,)),
    *((f"do{c}_v1_", False, "_", "", (_DIGITALOCEAN,)) for c in "opr"),
    *((f"shp{c}_", False, "_", "", (_SHOPIFY,)) for c in ("at", "ca", "pa", "ss")),
    ("ATATT", False, "T", "", (_ATLASSIAN,)),
    ("ATCTT", False, "T", "", (_ATLASSIAN,)),
    ("accountkey", True, "k", "", (_AZURE_KEY,)),
    ("sharedaccesskey", True, "k", "", (_AZURE_KEY,)),
    ("sig=", False, "g", "", (_AZURE_SAS,)),
    ("dapi", False, "p", "[a-f0-9]{32}", (_DATABRICKS,)),
    ("hvs.", False, ".", "", (_VAULT,)),
    ("hvb.", False, ".", "", (_VAULT,)),
    ("sntrys_", False, "_", "", (_SENTRY,)),
    ("sntryu_", False, "_", "", (_SENTRY,)),
    ("dp.", False, ".", "", (_DOPPLER,)),
    ("ops_eyJ", False, "J", "", (_ONEPASSWORD,)),
    ("pscale_", False, "_", "", (_PLANETSCALE,)),
    ("sq0", False, "0", "", (_SQUARE,)),
    ("lin_api_", False, "_", "", (_LINEAR,)),
    ("PMAK-", False, "M", "", (_POSTMAN,)),
    ("pplx-", False, "x", "", (_PERPLEXITY,)),
    ("HRKU-", False, "U", "", (_HEROKU,)),
    ("ntn_", False, "_", "", (_NOTION,)),
    ("rubygems_", False, "_", "", (_RUBYGEMS,)),
    ("pul-", False, "-", "", (_PULUMI,)),
    (":AA", False, ":", "", (_TELEGRAM,)),
    ("AGE-SECRET-KEY-1", False, "G", "", (_AGE,)),
    ("eyJ", False, "J", "", (_JWT,)),
    ("-----BEGIN", False, "B", "", (_PEM,)),
    ("://", False, "/", "", (_URL,)),
    ("mysql", False, "q", "", (_MYSQL,)),
    ("mariadb", False, "b", "", (_MYSQL,)),
    ("sshpass", False, "h", "", (_SSHPASS,)),
    ("authorization", True, "z", _SEP, (_BEARER, _BASIC)),
    ("secret", True, "c", rf"(?:[_-]?access)?(?:[_-]?key)?{_LABEL_FOLLOW}",
     (_AWS_SECRET, _SECRET)),
    ("password", True, "w", _PASSWORD_FOLLOW, (_PASSWORD,)),
    ("passwd", True, "w", _PASSWORD_FOLLOW, (_PASSWORD,)),
    ("passphrase", True, "h", _PASSWORD_FOLLOW, (_PASSWORD,)),
    ("mysql_pwd", True, "w", _PASSWORD_FOLLOW, (_PASSWORD,)),
    ("token", True, "k", _LABEL_FOLLOW, (_TOKEN,)),
    ("api_key", True, "k", _LABEL_FOLLOW, (_API_KEY,)),
    ("api-key", True, "k", _LABEL_FOLLOW, (_API_KEY,)),
    ("apikey", True, "k", _LABEL_FOLLOW, (_API_KEY,)),
    ("_key", True, "k", _LABEL_FOLLOW, (_KEY,)),
    ("-key", True, "k", _LABEL_FOLLOW, (_KEY,)),
    ("Key", False, "K", _LABEL_FOLLOW, (_CAMEL_KEY,)),
)


# At each anchor character the engine tries the anchors' branches in turn (each one a cheap
# literal test until the right one), so the most frequent characters of transcripts and listings
# go first (a listing's rows: 30% less time per character). Any order finds the same triggers
# (one character opens one branch only).
_ANCHOR_RANK = {a: rank for rank, a in enumerate("c:p0-h_/bgk.wxTSCUZERMqWBHJGzKX")}


def _build_triggers(
    tokens_only: bool = False,
) -> tuple[_Lazy, list[tuple[int, tuple[_Rule, ...]]]]:
    """The trigger regex, and for each of its groups: (offset of the anchor, rules).

    Each alternative ends in an empty group, so ``m.lastindex`` names the trigger found."""
    by_anchor: dict[str, list[tuple[str, int, tuple[_Rule, ...]]]] = {}
    for literal, ci, anchor, follow, rules in _TRIGGER_TABLE:
        if tokens_only and not any(rule.token for rule in rules):
            continue  # inside a value already examined only keys are looked for
        at = literal.index(anchor)
        before, after = re.escape(literal[: at + 1]), re.escape(literal[at + 1 :]) + follow
        if ci:
            before, after = f"(?i:{before})", f"(?i:{after})"
        alternative = f"(?<={before})" + (f"(?={after})" if after else "") + "()"
        for a in sorted({anchor.lower(), anchor.upper()}) if ci else (anchor,):
            by_anchor.setdefault(a, []).append((alternative, at, rules))
    parts = []
    groups: list[tuple[int, tuple[_Rule, ...]]] = [(0, ())]  # group 0: the whole match
    ordered = sorted(by_anchor.items(), key=lambda item: _ANCHOR_RANK.get(item[0], 99))
    for a, alternatives in ordered:  # groups are numbered in pattern order
        parts.append(f"{re.escape(a)}(?:{'|'.join(alt for alt, _, _ in alternatives)})")
        groups.extend((at, rules) for _, at, rules in alternatives)
    return _Lazy("|".join(parts)), groups


_TRIGGERS, _GROUPS = _build_triggers()
_KEY_TRIGGERS, _KEY_GROUPS = _build_triggers(tokens_only=True)


def _token_rules_by_literal() -> tuple[re.Pattern[str], dict[str, tuple[_Rule, ...]]]:
    """Key rules by their literal, and one regex that finds which literal a value starts with
    (longest first), for :func:`_vendor_kind`."""
    by_literal: dict[str, list[_Rule]] = {}
    for literal, _ci, _anchor, _follow, rules in _TRIGGER_TABLE:
        for rule in rules:
            if rule.token and rule not in by_literal.setdefault(literal, []):
                by_literal[literal].append(rule)
    literals = sorted((lit for lit, rules in by_literal.items() if rules), key=len, reverse=True)
    start = re.compile("|".join(re.escape(lit) for lit in literals))
    return start, {lit: tuple(rules) for lit, rules in by_literal.items()}


_VENDOR_START, _TOKEN_RULES_BY_LITERAL = _token_rules_by_literal()


def _vendor_kind(value: str) -> str | None:
    """The kind of a known key when ``value`` is exactly one (``API_KEY=sk-ant-…``)."""
    start = _VENDOR_START.match(value)
    if start is None:
        return None
    for rule in _TOKEN_RULES_BY_LITERAL[start.group()]:
        m = rule.regex.fullmatch(value)
        if m and (rule.accept is None or rule.accept(value, m)):
            return rule.kind
    return None


def _scan(text: str, start: int, end: int, tokens_only: bool, out: list) -> None:
    """Append the findings of ``text[start:end]`` to ``out``, in order."""
    skip = start  # triggers before this were inside a span already examined
    quiet: dict[_Rule, int] = {}  # a rule's triggers before this cannot match (see below)
    triggers, groups = (_KEY_TRIGGERS, _KEY_GROUPS) if tokens_only else (_TRIGGERS, _GROUPS)
    for t in triggers.finditer(text, start, end):
        at, rules = groups[t.lastindex]
        pos = t.start() - at
        if pos < skip:
            continue
        for rule in rules:
            if rule.token:
                if (
                    rule.boundary
                    and pos > 0
                    and text[pos - 1] in rule.word
                    and not (pos > 1 and text[pos - 2] == "\\")  # after an escape (JSON "\\n")
                ):
                    break  # inside a longer word: not a key
                m = rule.regex.match(text, pos, end)
                if m is None:
                    continue
                skip = m.end()
                if rule.boundary and skip < end and text[skip] in rule.word:
                    break  # runs on into more word characters: not a key
                if rule.accept is None or rule.accept(m.group(), m):
                    out.append(Finding(rule.kind, pos, skip))
                break
            if tokens_only:
                continue
            if rule is _URL and not (pos > 0 and text[pos - 1].isalnum()):
                break  # "://" without a scheme before it
            if quiet and pos < quiet.get(rule, -1):
                break
            m = rule.regex.match(text, pos, end)
            if m is None:
                continue
            if m.lastindex is None or m.start(m.lastindex) < 0:
                # A command line without a password (`mysql -u root -p`). A `mysql` among its
                # arguments would read the same ones (a password more than 16 arguments after
                # the first is missed), so its trigger is not worth a look.
                quiet[rule] = m.end()
                break
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


def may_hold_secrets(text: str) -> bool:
    """False proves that :func:`find_secrets` finds nothing in ``text``: one search in C.

    Every finding starts where a trigger matches (a companion needs a finding first), so no
    trigger, no finding. It also holds for a text made of many strings joined by anything (a
    row's strings in its JSON, see outward.py): the trigger regex looks around only with
    positive lookarounds, anchors on nothing but characters, and its only possessive runs are
    of spaces and tabs, so a trigger that matches inside one string matches there in any text
    holding that string; joining can only add matches (false alarms, which the full scan of
    each string then clears), never hide one. test_redact_precheck keeps the regex so."""
    return _TRIGGERS.search(text) is not None


def find_secrets(text: str) -> list[Finding]:
    """Credential-shaped spans of ``text``, in order and not overlapping."""
    if not text or not isinstance(text, str):
        return []
    out: list[Finding] = []
    _scan(text, 0, len(text), False, out)
    if out:
        out = _with_companions(text, out)
    return out


# Secrets that carry no mark of their own, found next to the identifier they go with: the
# 40-character AWS secret access key near an access key id, the 32-hex Twilio auth token near an
# account SID. "Near" is within _NEAR characters on either side (a credentials file, an
# `aws configure` transcript, `Client("AC…", "…")`, `-u AC…:…`).
_NEAR = 200
_ESCAPED = r"(?<=\\[nrt])"  # right after a JSON-escaped line break or tab


def _aws_secret_ok(value: str) -> bool:
    # Random base64: both cases and a digit or symbol. Git SHAs (lower hex) and paths are not.
    return (
        _mixed_case(value)
        and any(c.isdigit() or c in "/+" for c in value)
        and value.count("/") <= 4
        and not value.startswith("/")
    )


def _twilio_token_ok(value: str) -> bool:
    return _has_digit(value) and any(c.isalpha() for c in value)


_COMPANIONS: dict[str, tuple[str, _Lazy, Callable[[str], bool]]] = {
    "aws-access-key-id": (
        "aws-secret-key",
        _lazy(rf"(?:(?<![A-Za-z0-9/+=])|{_ESCAPED})[A-Za-z0-9/+]{{40}}(?![A-Za-z0-9/+=])"),
        _aws_secret_ok,
    ),
    "twilio-sid": (
        "twilio-auth-token",
        _lazy(rf"(?:(?<![A-Za-z0-9_])|{_ESCAPED})[0-9a-f]{{32}}(?![A-Za-z0-9_])"),
        _twilio_token_ok,
    ),
}
_LONGEST_COMPANION = 40


def _with_companions(text: str, found: list[Finding]) -> list[Finding]:
    """``found`` plus the companion secrets near its identifiers, in order, not overlapping.

    Each stretch of text is searched once per companion kind, so the work stays linear."""
    extra: list[Finding] = []
    taken = [(f.start, f.end) for f in found]
    for id_kind, (kind, regex, accept) in _COMPANIONS.items():
        for lo, hi in _near(text, (f for f in found if f.kind == id_kind)):
            # Read a little past ``hi`` so the end check sees the real next character.
            for m in regex.finditer(text, lo, min(len(text), hi + _LONGEST_COMPANION + 1)):
                s, e = m.span()
                if s >= hi:
                    break
                if accept(m.group()) and not _overlaps(taken, s, e):
                    extra.append(Finding(kind, s, e))
    if not extra:
        return found
    return sorted(found + extra, key=lambda f: f.start)


def _near(text: str, ids) -> list[tuple[int, int]]:
    """The stretches within _NEAR characters of each id, overlapping ones merged."""
    spans: list[tuple[int, int]] = []
    for f in ids:
        lo, hi = max(0, f.start - _NEAR), min(len(text), f.end + _NEAR)
        if spans and lo <= spans[-1][1]:
            spans[-1] = (spans[-1][0], hi)
        else:
            spans.append((lo, hi))
    return spans


def _overlaps(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    i = bisect.bisect_right(taken, (start, float("inf")))
    return (i > 0 and taken[i - 1][1] > start) or (i < len(taken) and taken[i][0] < end)


_LONGEST_KEY = 512  # far longer than any key rule matches, PEM blocks aside (masked cut or not)


def safe_cut(text: str, at: int) -> int:
    """Where to cut ``text`` near ``at`` so that no secret is split: ``at``, or the start of a
    secret that runs across it. A secret cut in half no longer matches its rule and would be
    shown; cut before it, it is either whole (and masked on the way out) or gone."""
    if at >= len(text):
        return at
    for f in find_secrets(text[: at + _LONGEST_KEY]):
        if f.start < at < f.end:
            return f.start
    return at


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


__all__ = [
    "KINDS", "Finding", "find_secrets", "mask", "may_hold_secrets", "redact", "redact_data",
    "redact_spans", "safe_cut",
]
