"""A corpus of fake credentials, one or more of every kind ``redact.KINDS`` names, each in the
context a person would paste it in (an env line, a command, a config file).

Shared by the masking tests (``test_redact.py``, ``test_export.py``) and the end-to-end battery
that plants all of them in every part of a transcript (``test_outward.py``). The values are fake
and built from pieces, so this file does not itself look like a leaked key to secret scanners
(GitHub push protection, gitleaks); their shapes are the vendors' published formats.
"""

from __future__ import annotations

import base64
import re
from typing import NamedTuple


class Credential(NamedTuple):
    id: str  # names the case in test ids
    kind: str  # what redact must call it
    text: str  # the secret in its context
    secret: str  # exactly the span that must be masked
    also: tuple[str, ...] = ()  # kinds of other findings in ``text`` (an id next to its secret)


def _b(*parts: str) -> str:
    return "".join(parts)


_MIX = "aB3dE6gH9kLmN0pQrS2tUv4wXy5z"  # random-looking alphanumerics, both cases and digits
_HEX = "3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e"  # 32 lower-case hex digits
_UP = "Z7Q2M4X9B3N6P8R5K1W0"  # upper-case letters and digits


def _mix(n: int) -> str:
    return (_MIX * (n // len(_MIX) + 1))[:n]


def _hex(n: int) -> str:
    return (_HEX * (n // len(_HEX) + 1))[:n]


CREDENTIALS: list[Credential] = []


def _add(id_: str, kind: str, template: str, secret: str, *also: str) -> None:
    CREDENTIALS.append(Credential(id_, kind, template.format(s=secret), secret, also))


_AWS_ID = _b("AK", "IA", "Z7Q2M4X9B3N6P8R5")
_AWS_SECRET = _b("wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYQ8z3T5v1Ab")
_TWILIO_SID = _b("A", "C", _hex(32))

_add("anthropic-key", "anthropic-key", "using {s} for the API",
     _b("sk-", "ant-", "api03-", _mix(93), "AA"))
_add("openai-key", "openai-key", "OPENAI key {s}.", _b("sk-", "proj-", _MIX, "Q7"))
_add("openai-key-classic", "openai-key", "old key: {s}", _b("sk-", "T3Blbk", "FJ", _mix(40)))
_add("github-token", "github-token", "git push https://github.com {s} ok", _b("gh", "p_", _mix(36)))
_add("github-token-fine-grained", "github-token", "pat {s}",
     _b("github", "_pat_", "11ABCDEFG0", "_", _mix(59)))
_add("gitlab-token", "gitlab-token", "GL {s}", _b("gl", "pat-", _mix(20)))
_add("gitlab-deploy-token", "gitlab-token", "deploy with {s}", _b("gl", "dt-", _mix(20)))
_add("slack-token", "slack-token", "bot {s} posted",
     _b("xo", "xb-", "1234567890", "-", "1234567890123", "-", _mix(24)))
_add("slack-app-token", "slack-token", "SLACK_APP={s}",
     _b("xa", "pp-", "1-", "A01BC2DEFGH", "-", "1234567890123", "-", _hex(64)))
_add("slack-webhook", "slack-webhook", "curl -X POST https://hooks.slack.com/services/{s} -d x",
     _b("T0123ABCD/", "B0456EFGH/", _mix(24)))
_add("discord-webhook", "discord-webhook", "POST https://discord.com/api/webhooks/{s}",
     _b("123456789012345678/", _mix(68)))
_add("aws-access-key-id", "aws-access-key-id", "id={s}", _AWS_ID)
_add("aws-access-key-id-session", "aws-access-key-id", "session key {s}",
     _b("AS", "IA", "Z7Q2M4X9B3N6P8R5"))
_add("aws-secret-key", "aws-secret-key", "aws_secret_access_key = {s}\n", _AWS_SECRET)
_add("aws-secret-key-unlabelled", "aws-secret-key",
     f"$ aws configure\nAccess key: {_AWS_ID}\nand the other one: {{s}}\n", _AWS_SECRET,
     "aws-access-key-id")
_add("google-api-key", "google-api-key", "maps key {s}&v=3", _b("AI", "za", _mix(35)))
_add("google-oauth", "google-oauth", '"client_secret_value" {s}', _b("GOC", "SPX-", _mix(28)))
_add("stripe-key", "stripe-key", "stripe {s}", _b("sk", "_live_", "4eC39HqLyjWDarjtT1zdp7dc"))
_add("stripe-test-key", "stripe-key", "STRIPE test mode {s}",
     _b("sk", "_test_", "4eC39HqLyjWDarjtT1zdp7dc"))
_add("stripe-restricted-key", "stripe-key", "rk {s}",
     _b("rk", "_live_", "4eC39HqLyjWDarjtT1zdp7dc"))
_add("twilio-sid", "twilio-sid", "account {s}", _TWILIO_SID)
_add("twilio-key", "twilio-key", "api key {s}", _b("S", "K", _hex(32)[::-1]))
_add("twilio-auth-token", "twilio-auth-token", f'client = Client("{_TWILIO_SID}", "{{s}}")',
     _b("9e8d7c6b5a4f", "3e2d1c0b9a8f7e6d5c4b"), "twilio-sid")
_add("sendgrid-key", "sendgrid-key", "key {s} works",
     _b("S", "G.", _mix(22), ".", _mix(43)))
_add("sendgrid-key-assigned", "sendgrid-key", "SENDGRID_API_KEY={s}\n",
     _b("S", "G.", _mix(22)[::-1], ".", _mix(43)[::-1]))
_add("npm-token", "npm-token", "//registry.npmjs.org/:_authToken={s}", _b("np", "m_", _mix(36)))
_add("pypi-token", "pypi-token", "twine upload -p {s}",
     _b("py", "pi-", "AgEIcHlwaS5vcmc", _mix(60)))
_add("huggingface-token", "huggingface-token", "HF {s}",
     _b("h", "f_", "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH"))
_add("digitalocean-token", "digitalocean-token", "doctl auth init -t {s}",
     _b("do", "p_v1_", _hex(64)))
_add("shopify-token", "shopify-token", "X-Shopify-Access-Token: {s}", _b("sh", "pat_", _hex(32)))
_add("atlassian-token", "atlassian-token", "jira token {s}",
     _b("AT", "ATT3xFfGF0", _mix(170), "=", _hex(8).upper()))
_add("azure-storage-key", "azure-storage-key",
     "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={s};EndpointSuffix=x",
     _b(_mix(60), "+/", _mix(24), "=="))
_add("azure-sas", "azure-sas", "https://acme.blob.core.windows.net/c/f?sv=2022-11-02&sp=r&sig={s}",
     _b(_mix(40), "%2B", "q1%3D"))
_add("databricks-token", "databricks-token", "DATABRICKS_HOST=x {s}", _b("da", "pi", _hex(32)))
_add("vault-token", "vault-token", "VAULT {s}", _b("hv", "s.", _mix(95)))
_add("grafana-token", "grafana-token", "grafana {s}", _b("gl", "sa_", _mix(32), "_", _hex(8)))
_add("sentry-token", "sentry-token", "sentry-cli {s}", _b("sn", "tryu_", _hex(64)))
_add("doppler-token", "doppler-token", "doppler {s}", _b("dp", ".pt.", _mix(43)))
_add("1password-token", "1password-token", "OP {s}", _b("op", "s_eyJ", _mix(250)))
_add("planetscale-token", "planetscale-token", "pscale {s}", _b("psc", "ale_tkn_", _mix(43)))
_add("square-token", "square-token", "square {s}", _b("sq", "0atp-", _mix(22)))
_add("linear-key", "linear-key", "linear {s}", _b("lin", "_api_", _mix(40)))
_add("postman-key", "postman-key", "postman {s}", _b("PM", "AK-", _hex(24), "-", _hex(34)))
_add("perplexity-key", "perplexity-key", "pplx {s}", _b("pp", "lx-", _mix(48)))
_add("brevo-key", "brevo-key", "brevo {s}", _b("xkey", "sib-", _hex(64), "-", _mix(16)))
_add("heroku-key", "heroku-key", "heroku {s}", _b("HR", "KU-AA", _mix(58)))
_add("notion-token", "notion-token", "notion {s}", _b("nt", "n_", "12345678901", _mix(35)))
_add("rubygems-key", "rubygems-key", "gem {s}", _b("ruby", "gems_", _hex(48)))
_add("pulumi-token", "pulumi-token", "pulumi {s}", _b("pu", "l-", _hex(40)))
_add("artifactory-key", "artifactory-key", "jfrog {s}", _b("AK", "Cp", _mix(69)))
_add("telegram-bot-token", "telegram-bot-token", "bot 1234567890:{s} started",
     _b("A", "A", _mix(33)))
_add("age-key", "age-key", "# key\n{s}\n", _b("AGE-SECRET", "-KEY-1", (_UP * 3)[:58]))
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
_add("password-short", "password", "login with password=hunter2 then", "hunter2")
_add("password-env-word", "password", "PGPASSWORD={s} psql", "correcthorse")
_add("password-8-characters", "password", "--password={s} --user ops", "Zq8!mK2p")
_add("password-json", "password", '{{"username": "ops", "password": "{s}"}}', "hunter2hunter2")
_add("password-mysql", "password", "mysql -h db -u root -p{s} shop < dump.sql", "S3cr3t!")
_add("password-sshpass", "password", "sshpass -p {s} ssh deploy@host", "Tr0ub4dor")
_add("secret", "secret", 'client_secret: "{s}"', "9f8e7d6c5b4a3f2e1d0c")
_add("token", "token", "GET https://example.com/cb?access_token={s}&state=1",
     "ya29A0ARrdaM9xK2q7")
_add("api-key", "api-key", '{{"api_key": "{s}"}}', "4f9a2c7e1b8d3f6a5c0e")
_add("api-key-header", "api-key", "x-api-key: {s}", "Zk8QwP2mN5vR7tY1uI3o")
_add("key", "key", "ENCRYPTION_KEY={s}\n", "c2VjcmV0LWtleS0xMjM0NTY3")
_add("key-camel-case", "key", "const config = {{ accessKey: '{s}' }}", "Q9w8E7r6T5y4U3i2")


def fragments(secret: str, size: int = 10) -> list[str]:
    """Pieces of ``secret`` that must not appear in any output: the whole of a short one, every
    ``size``-character window of the runs of key characters of a long one (a table cell that
    wraps or cuts a secret still shows such a window), but windows of digits only."""
    runs = re.findall(rf"[A-Za-z0-9+/_!%-]{{{size},}}", secret)
    if not runs:
        return [secret]
    windows = {run[i : i + size] for run in runs for i in range(len(run) - size + 1)}
    return sorted(w for w in windows if not w.isdigit())  # ids and counts are not the secret


def leaked(output: str, credentials=CREDENTIALS, size: int = 10) -> list[str]:
    """Ids of the credentials some piece of which appears in ``output``."""
    return [c.id for c in credentials if any(f in output for f in fragments(c.secret, size))]
