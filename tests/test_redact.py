"""Credential masking: every kind is found and masked exactly, look-alikes are left alone, and no
input makes the scan slow.

The sample secrets (``credentials.py``) are fake and built from pieces, so this file does not itself
look like a leaked key to secret scanners (GitHub push protection, gitleaks).
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter

import orjson
import pytest
from credentials import CREDENTIALS

from archive.redact import KINDS, Finding, find_secrets, mask, redact, redact_data


def _b(*parts: str) -> str:
    return "".join(parts)


# (id, kind, text holding one secret, the secret: exactly the span that must be masked)
SECRETS: list[tuple[str, str, str, str]] = [c[:4] for c in CREDENTIALS]
_ALSO = {c.id: c.also for c in CREDENTIALS}


@pytest.mark.parametrize(("kind", "text", "secret"), [s[1:] for s in SECRETS],
                         ids=[s[0] for s in SECRETS])
def test_each_kind_is_found_and_masked_exactly(request, kind, text, secret):
    also = _ALSO[request.node.callspec.id]
    start = text.index(secret)
    found = find_secrets(text)
    assert (kind, start, start + len(secret)) in found
    assert sorted(f.kind for f in found) == sorted((kind, *also))  # an id next to its secret
    masked = redact(text)
    if not also:
        assert masked == text.replace(secret, mask(kind))  # the label and the rest stay
    assert secret not in masked and mask(kind) in masked
    assert redact(masked) == masked  # idempotent


@pytest.mark.parametrize(("kind", "text", "secret"), [s[1:] for s in SECRETS],
                         ids=[s[0] for s in SECRETS])
def test_each_kind_is_masked_inside_json_text(kind, text, secret):
    """Tool inputs are exported as JSON text, where a line break is the two characters \\n."""
    contents = [f"first line\n{text}\nlast line"]
    if find_secrets(secret):  # a key that names itself, right after a line break
        contents.append(f"first line\n{secret}\nlast line")
    for content in contents:
        masked = redact(orjson.dumps({"content": content}).decode())
        assert mask(kind) in masked
        for line in secret.splitlines():
            assert line not in masked


def test_every_kind_has_a_sample():
    assert {s[1] for s in SECRETS} == set(KINDS)


@pytest.mark.parametrize(
    ("label", "kind"),
    [("OPENAI_API_KEY", "openai-key"), ("GITHUB_TOKEN", "github-token"),
     ("password", "jwt"), ("Authorization: Bearer", "jwt")],
)
def test_a_known_key_in_an_assignment_keeps_its_vendor_kind(label, kind):
    secret = next(s[3] for s in SECRETS if s[1] == kind)
    sep = " " if label.endswith("Bearer") else "="
    text = f"{label}{sep}{secret}"
    assert [f.kind for f in find_secrets(text)] == [kind]
    assert redact(text) == f"{label}{sep}{mask(kind)}"


@pytest.mark.parametrize("template", ['"password": "replaced-by {s} today"', "token=cfg.{s}",
                                      "secret: 'see-also {s}'"])
def test_a_key_inside_a_rejected_value_is_still_found(template):
    """The value as a whole is prose or code, but a key inside it is still a key."""
    secret = next(s[3] for s in SECRETS if s[1] == "github-token")
    text = template.format(s=secret)
    start = text.index(secret)
    assert find_secrets(text) == [("github-token", start, start + len(secret))]


INNOCENT = {
    "git-sha": "commit 3f41d3b128c67d2d9e0f5a6b7c8d9e0f1a2b3c4d fixed it",
    "sha256": "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "uuid": "session 55604662-cf2a-4331-851a-ec234028f8ca resumed",
    "sk-in-prose": "we use sk-learn (scikit-learn), a task-learning setup and "
                   "risk-assessment-framework-for-teams; sk-learn-compatible-estimators-here",
    "short-values": "token=abc, token=a1b2c3, password: pw1, secret=Xy9#k2, api_key='Q1w2E3r', "
                    "--password=Zq8 --user ops",
    "command-flags": "mkdir -p build && cp -p a b; mysql -u root -p shop; mysql -p$MYSQL_PASSWORD; "
                     "sshpass -f pwfile ssh host; mysql_config --libs",
    "code-key-labels": 'sort_key=lambda r: r.name; foreign_key="users.id"; primary_key=True; '
                       "cache_key = make_key(x); Key: value; public_key_path=/etc/ssh/host.pub",
    "password-code-values": "password: str = None\npassword=None\npassword: Optional[str]\n"
                            'if password == password_input:\npassword: "string"',
    "twilio-shaped": "SK" + "f" * 32 + " AC" + "0" * 32,
    "telegram-shaped": "at 12:AA" + "x" * 33 + " and ratio 1234567890:AAbc",
    "token-counts": 'max_tokens=4096, "input_tokens": 1234567890, tokenizer="bert-base-uncased"',
    "code": "token = self._token\npassword: str = None\napiKey: getApiKey()\n"
            "secret = new_secret\nconst apiKey = process.env.API_KEY;",
    "validation-message": '"password": "Password must be at least 8 characters"',
    "templates": "token: ${{ secrets.GITHUB_TOKEN }}\npassword=$DB_PASSWORD\n"
                 "api_key: <your-api-key>\nsecret: '********'",
    "urls-without-password": "https://example.com:8443/path?q=1 git@github.com:org/repo.git "
                             "https://user@host/x http://localhost:3000/",
    "bearer-variable": 'curl -H "Authorization: Bearer $TOKEN" https://api.example.com',
    "public-key": "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n"
                  "-----END PUBLIC KEY-----",
    "certificate": "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkq\n"
                   "-----END CERTIFICATE-----",
    "akia-inside-words": "AKIAZ7Q2M4X9B3N6P8R5EXTRA and mAKIAZ7Q2M4X9B3N6P8R5",
    "jwt-header-only": "decoded eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9 is the header",
    "base64-image": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgeyJhbGciOiJIUzI1NiJ9AAAAB",
    "already-masked": "password=[REDACTED:password] Authorization: Bearer [REDACTED:bearer-token]"
                      " postgres://app:[REDACTED:url-password]@db/x",
    "hf-identifier": "from huggingface_hub import hf_hub_download, hf_api_token_from_environment",
    "python-identifiers": "gho_total = ghp_count + xoxo_words; npm_config_cache=/tmp/npm",
}


@pytest.mark.parametrize("text", list(INNOCENT.values()), ids=list(INNOCENT))
def test_look_alikes_are_not_masked(text):
    assert find_secrets(text) == []
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [("password=abc", False), ("password=abcd1", True), ("PASSWORD=abcd", True),
     ("token=abcdef1", False), ("token=abcdefg1", True), ("mysql -pXy1", True),
     ("client_secret='Ab1cd2e'", False), ("client_secret='Ab1cd2ef'", True)],
)
def test_the_short_value_rule(text, masked):
    """Passwords from 4 characters, other labelled values from 8, glued `-p` values always
    (the README's "Short values" rule)."""
    assert bool(find_secrets(text)) is masked


def test_an_unlabelled_aws_secret_is_masked_only_next_to_an_access_key_id():
    key_id = next(c.secret for c in CREDENTIALS if c.id == "aws-access-key-id")
    secret = next(c.secret for c in CREDENTIALS if c.id == "aws-secret-key")
    sha = "3f41d3b128c67d2d9e0f5a6b7c8d9e0f1a2b3c4d"  # 40 characters too, but lower-case hex
    before = f"{secret} is the secret of {key_id}"
    assert [f.kind for f in find_secrets(before)] == ["aws-secret-key", "aws-access-key-id"]
    near = f"{key_id} at commit {sha}"
    assert [f.kind for f in find_secrets(near)] == ["aws-access-key-id"]
    far = f"{key_id}{' filler' * 40} {secret}"
    assert [f.kind for f in find_secrets(far)] == ["aws-access-key-id"]
    escaped = orjson.dumps(f"{key_id}\n{secret}\n").decode()
    assert secret not in redact(escaped) and mask("aws-secret-key") in redact(escaped)


def test_findings_carry_positions_not_secrets():
    text = "\n".join(s[2] for s in SECRETS)
    found = find_secrets(text)
    expected = Counter(c.kind for c in CREDENTIALS)
    expected.update(k for c in CREDENTIALS for k in c.also)
    assert len(found) == expected.total()
    for f in found:
        assert isinstance(f, Finding) and len(f) == 3
        assert f.kind in KINDS and isinstance(f.start, int) and isinstance(f.end, int)
    assert [f.start for f in found] == sorted(f.start for f in found)
    assert all(a.end <= b.start for a, b in zip(found, found[1:], strict=False))
    masked = redact(text)
    for *_, secret in SECRETS:
        assert secret not in masked
    assert Counter(f.kind for f in found) == expected


def test_redact_data_masks_string_values_and_counts_kinds():
    key = next(s[3] for s in SECRETS if s[1] == "anthropic-key")
    data = {"prompt": f"use {key}", "turns": [{"answer": f"password={key}", "n": 3}],
            "password": "field names are not data", "none": None}
    counts: Counter = Counter()
    out = redact_data(data, counts)
    assert out == {
        "prompt": f"use {mask('anthropic-key')}",
        "turns": [{"answer": f"password={mask('anthropic-key')}", "n": 3}],
        "password": "field names are not data",
        "none": None,
    }
    assert counts == Counter({"anthropic-key": 2})
    assert data["prompt"] == f"use {key}"  # the input is not changed


def test_non_ascii_text_keeps_offsets():
    secret = next(s[3] for s in SECRETS if s[1] == "github-token")
    text = f"İstanbul → ß 🙂 {secret} ✓"
    (f,) = find_secrets(text)
    assert text[f.start : f.end] == secret


# -- no input makes the scan slow ---------------------------------------------------------------

MB = 1_000_000


def _fill(unit: str) -> str:
    return (unit * (MB // len(unit) + 1))[:MB]


PATHOLOGICAL = {
    "sk-dashes": _fill("sk-"),
    "key-prefix-then-long-run": "sk-ant-" + "a" * MB,
    "jwt-header-without-dots": _fill("eyJ"),
    "jwt-parts": _fill("eyJaaaaaaaaa."),
    "pem-begin-repeated": _fill("-----BEGIN RSA PRIVATE KEY-----"),
    "pem-without-end": "-----BEGIN PRIVATE KEY-----\n" + _fill("Proc-Type: 4,ENC\nAAAA\n"),
    "pem-one-long-line": "-----BEGIN PRIVATE KEY-----\n" + "A" * MB,
    "url-userinfo-without-at": "x://u:" + "p" * MB,
    "url-schemes": _fill("a://:"),
    "labels-quoted": _fill('token="'),
    "labels-assigned": _fill("password: "),
    "label-then-spaces": "api_key" + " " * MB,
    "authorization-repeated": _fill("Authorization: Bearer "),
    "anchor-characters": _fill("kzJBxgS_/cwh"),
    "every-trigger": _fill("sk-ghp_eyJtoken=xoxb-AKIA://-----BEGIN PRIVATE KEY-----password:"),
    "nested-rejected-values": _fill("token=${ghp_aaaa"),
    "mysql-repeated": _fill("mysql "),
    "mysql-many-arguments": "mysql" + _fill(" -u"),
    "aws-ids-between-long-runs": _fill("AKIAZ7Q2M4X9B3N6P8R5 " + "aB3/" * 10 + " "),
    "aws-id-then-one-run": "AKIAZ7Q2M4X9B3N6P8R5 " + "A" * MB,
    "twilio-sids": _fill("AC0a1b2c3d4e5f60718293a4b5c6d7e8f9 "),
    "key-labels": _fill("x_key=Key:"),
    "telegram-colons": _fill("1234567890:AA"),
    "gitlab-prefixes": _fill("glpat-glrt-gl"),
}
LIMIT_S = 2.0  # a safety bound (backtracking would take minutes), not a benchmark


def _timed_redact(text: str, conn) -> None:
    # CPU time of this process: what the scan costs, whatever else the machine runs meanwhile
    # (wall time under a loaded CI host measured the neighbours, not the scan).
    started = time.process_time()
    redact(text)
    conn.send(time.process_time() - started)


@pytest.mark.parametrize("text", list(PATHOLOGICAL.values()), ids=list(PATHOLOGICAL))
def test_pathological_input_is_bounded(text):
    """Runs in a child process so a regression fails the test instead of hanging the suite."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_timed_redact, args=(text, send))
    child.start()
    child.join(LIMIT_S * 10)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail(f"redact() still running after {LIMIT_S * 10:.0f} s on 1 MB")  # wall time
    assert receive.poll(1), "the child died without an answer"
    elapsed = receive.recv()
    assert elapsed < LIMIT_S, f"redact() took {elapsed:.2f} s of CPU on 1 MB"
