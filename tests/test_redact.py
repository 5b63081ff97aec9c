"""Credential masking: every kind is found and masked exactly, look-alikes are left alone, and no
input makes the scan slow.

The sample secrets are fake and built from pieces, so this file does not itself look like a
leaked key to secret scanners (GitHub push protection, gitleaks).
"""

from __future__ import annotations

import base64
import multiprocessing
import time
from collections import Counter

import orjson
import pytest

from archive.redact import KINDS, Finding, find_secrets, mask, redact, redact_data


def _b(*parts: str) -> str:
    return "".join(parts)


_MIX = "aB3dE6gH9kLmN0pQrS2tUv4wXy5z"  # random-looking alphanumerics, both cases and digits

# (id, kind, text holding one secret, the secret: exactly the span that must be masked)
SECRETS: list[tuple[str, str, str, str]] = []


def _add(id_: str, kind: str, template: str, secret: str) -> None:
    SECRETS.append((id_, kind, template.format(s=secret), secret))


_add("anthropic-key", "anthropic-key", "using {s} for the API",
     _b("sk-", "ant-", "api03-", _MIX * 3, "AA"))
_add("openai-key", "openai-key", "OPENAI key {s}.", _b("sk-", "proj-", _MIX, "Q7"))
_add("openai-key-classic", "openai-key", "old key: {s}", _b("sk-", "T3Blbk", "FJ", _MIX[:40]))
_add("github-token", "github-token", "git push https://github.com {s} ok",
     _b("gh", "p_", (_MIX * 2)[:36]))
_add("github-token-fine-grained", "github-token", "pat {s}",
     _b("github", "_pat_", "11ABCDEFG0", "_", (_MIX * 3)[:59]))
_add("gitlab-token", "gitlab-token", "GL {s}", _b("gl", "pat-", _MIX[:20]))
_add("slack-token", "slack-token", "bot {s} posted",
     _b("xo", "xb-", "1234567890", "-", "1234567890123", "-", _MIX[:24]))
_add("aws-access-key-id", "aws-access-key-id", "id={s}", _b("AK", "IA", "Z7Q2M4X9B3N6P8R5"))
_add("aws-access-key-id-session", "aws-access-key-id", "session key {s}",
     _b("AS", "IA", "Z7Q2M4X9B3N6P8R5"))
_add("aws-secret-key", "aws-secret-key", "aws_secret_access_key = {s}\n",
     _b("wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYQ8z3T5v1Ab"))
_add("google-api-key", "google-api-key", "maps key {s}&v=3", _b("AI", "za", (_MIX * 2)[:35]))
_add("stripe-key", "stripe-key", "stripe {s}", _b("sk", "_live_", "4eC39HqLyjWDarjtT1zdp7dc"))
_add("stripe-restricted-key", "stripe-key", "rk {s}",
     _b("rk", "_live_", "4eC39HqLyjWDarjtT1zdp7dc"))
_add("npm-token", "npm-token", "//registry.npmjs.org/:_authToken={s}",
     _b("np", "m_", (_MIX * 2)[:36]))
_add("huggingface-token", "huggingface-token", "HF {s}",
     _b("h", "f_", "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH"))
_add("jwt", "jwt", "cookie session={s}; Path=/",
     _b("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", ".",
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ", ".",
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"))
_add("bearer-token", "bearer-token",
     "curl -H 'Authorization: Bearer {s}' https://api.example.com/v1", _MIX)
_add("basic-auth", "basic-auth", "Authorization: Basic {s}\r\n",
     base64.b64encode(b"deploy:hunter2hunter2").decode())
_add("private-key", "private-key", "cat ~/.ssh/id_ed25519\n{s}\nthat is the key",
     _b("-----BEGIN OPENSSH ", "PRIVATE KEY-----\n",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n",
        "QyNTUxOQAAACDx3ObuXl7MiJzL2vVkTWUdMfy0oGT3FnrENMXxSbdmWQAAAJhYtqK+WLai\n",
        "-----END OPENSSH ", "PRIVATE KEY-----"))
_add("private-key-cut-short", "private-key", "output was cut: {s}",
     _b("-----BEGIN RSA ", "PRIVATE KEY-----\\n", "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2L1"))
_add("private-key-one-line", "private-key", "echo '{s}' > key.pem",
     _b("-----BEGIN EC ", "PRIVATE KEY----- ",
        "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVgEBlkfEp5bxqTlm oAoGCCqGSM49AwEHoUQDQgAE7Q4ICh ",
        "-----END EC ", "PRIVATE KEY-----"))
_add("url-password", "url-password", "DATABASE_URL=postgres://app:{s}@db.internal:5432/prod",
     "s3cr3tP4ssw0rd")
_add("password", "password", "export DB_PASSWORD={s}\n", "Tr0ub4dor3xK9")
_add("password-8-characters", "password", "--password={s} --user ops", "Zq8!mK2p")
_add("password-json", "password", '{{"username": "ops", "password": "{s}"}}', "hunter2hunter2")
_add("secret", "secret", 'client_secret: "{s}"', "9f8e7d6c5b4a3f2e1d0c")
_add("token", "token", "GET https://example.com/cb?access_token={s}&state=1",
     "ya29A0ARrdaM9xK2q7")
_add("api-key", "api-key", '{{"api_key": "{s}"}}', "4f9a2c7e1b8d3f6a5c0e")
_add("api-key-header", "api-key", "x-api-key: {s}", "Zk8QwP2mN5vR7tY1uI3o")


@pytest.mark.parametrize(("kind", "text", "secret"), [s[1:] for s in SECRETS],
                         ids=[s[0] for s in SECRETS])
def test_each_kind_is_found_and_masked_exactly(kind, text, secret):
    start = text.index(secret)
    assert find_secrets(text) == [(kind, start, start + len(secret))]
    masked = redact(text)
    assert masked == text.replace(secret, mask(kind))  # the label and the rest stay as they were
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
    "short-values": "token=abc, token=a1b2c3, password: 12345, secret=Xy9#k2, api_key='Q1w2E3r', "
                    "--password=Zq8!mK2 --user ops",
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


def test_findings_carry_positions_not_secrets():
    text = "\n".join(s[2] for s in SECRETS)
    found = find_secrets(text)
    assert len(found) == len(SECRETS)
    for f in found:
        assert isinstance(f, Finding) and len(f) == 3
        assert f.kind in KINDS and isinstance(f.start, int) and isinstance(f.end, int)
    assert [f.start for f in found] == sorted(f.start for f in found)
    assert all(a.end <= b.start for a, b in zip(found, found[1:], strict=False))
    masked = redact(text)
    for *_, secret in SECRETS:
        assert secret not in masked
    assert Counter(f.kind for f in found) == Counter(s[1] for s in SECRETS)


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
}
LIMIT_S = 2.0  # a safety bound (backtracking would take minutes), not a benchmark


def _timed_redact(text: str, conn) -> None:
    started = time.perf_counter()
    redact(text)
    conn.send(time.perf_counter() - started)


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
        pytest.fail(f"redact() still running after {LIMIT_S * 10:.0f} s on 1 MB")
    assert receive.poll(1), "the child died without an answer"
    elapsed = receive.recv()
    assert elapsed < LIMIT_S, f"redact() took {elapsed:.2f} s on 1 MB"
