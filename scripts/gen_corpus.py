#!/usr/bin/env python3
"""Generate a realistic corpus of Claude Code transcripts, for benchmarks.

Layout as on a real machine: ``<home>/.claude/projects/<encoded cwd>/<session>.jsonl`` (profile
``default``) and ``<home>/.ccs/instances/<name>/projects/...`` (CCS profiles), with subagent
transcripts under ``<session>/subagents/agent-<hex>.jsonl`` (+ ``.meta.json``) and a
``history.jsonl`` per root. Lines follow shared/claude-code-format.md §4–5: string user prompts,
one content block per assistant line (thinking, text, tool_use for Bash/Read/Edit/Grep/Glob/Write)
with ``message.id``/``requestId``/``usage``, tool results as user lines with ``toolUseResult``,
``progress``, ``file-history-snapshot`` and ``system`` lines, all chained by uuid/parentUuid.

Why it is built this way:
- Text is cut from pools of prose and code made once from a Zipf-weighted vocabulary of a few
  thousand words (English, identifiers, ``jwt.decode()``-like calls, paths), so search has
  meaningful terms and zstd finds about the redundancy of real transcripts (~4-8x), while
  generation runs near memcpy speed (1 GiB in well under 2 minutes).
- Everything is drawn from ``random.Random(seed)`` and timestamps count back from a fixed anchor
  (``--now``), so a seed always gives the same bytes. File mtimes keep the same ages relative to
  the real clock (a session last written 3 days before the anchor was modified 3 days ago), so
  age-based logic (Claude Code's cleanup, "at risk" warnings) sees a realistic spread. Each root
  gets a ``settings.json`` with ``cleanupPeriodDays: 60``, consistent with keeping 60 days.
- Files are written line by line: a 1 GiB session never sits in memory.

CLI: ``python scripts/gen_corpus.py DEST --mb 200 [--seed N]``
     (``--many-small N``: N small sessions instead; ``--single-mb N``: one N MiB session).
"""

from __future__ import annotations

import argparse
import base64
import itertools
import os
import re
import sys
import time
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from random import Random

import orjson

KiB = 1024
MiB = 1024 * 1024
DAY_MS = 86_400_000
# Timestamps are spread over the 60 days before this anchor (fixed: same seed, same bytes).
DEFAULT_NOW = datetime(2026, 11, 1, tzinfo=UTC)
PROFILES = ("default", "work", "personal")

ENGLISH = """
the of and to in is that it for on with as was be this by not are from at or have an but
they which you one all were we there been if has their can more will would when what so no
out up about into them some could other time only then these two may first like new than also
any its now over way most after such even made many before must through back years where much
your should well because each just those people how too little state good very make world still
own see men work long here get both between life being under never day same another know while
last might great old year off come since against go came right used take three states himself
few house use during without again place around however home small found thought went say part
once general high upon school every does got united left number course war until always away
something fact though water less public put think almost hand enough far took head yet government
system better set told nothing night end why called didn find look asked later point knew city
next program business give group toward young days let room president side social given present
several order national possible rather second face per among form important often things looking
early white case john become large big need four within felt along children saw best church ever
least power development light thing seemed family interest want members mind country area others
done turned although open problem god service certain kind different thus began door help means
sense whole matter perhaps itself york times human law line above name example action company
hands local show whether five history gave today either act feet across taken past quite anyone
seen having death experience body word half really week free field car words already themselves
information tell together college shall money period held keep sure probably real behind miss
political air question making office brought whose special heard major problems ago became federal
moment study available known result street economic boy position reason change south board
individual job areas society west close turn love community true court force full seems
cost wife future age wanted department voice center woman control common policy necessary
following front sometimes six girl clear further land run students provide feel party able
mother music education university child effect level stood military town short morning total
outside rate figure class art century washington north usually plan leave therefore evidence too
million sound black strong hard various says believe type value play surface soon mean near table
lines peace modern tax road red book personal process situation minutes increase idea english
alone women gone nor private living student fine difficult sort river expected building
quickly stage actually simple cold ready material decided spirit running answer instead
lost finally particular report approach trying list design carefully faster slower careful
retry retries timeout deadline budget request response client server handler worker queue
batch commit rollback migrate migration schema column index query cache stale fresh invalid
valid broken fixed failing passing flaky green red merge branch rebase conflict review
approve deploy release staging production rollout feature flag toggle config setting default
override environment variable secret token password credential session cookie header payload
body status error warning notice message log trace span metric counter gauge histogram alert
dashboard panel chart graph latency throughput memory disk network socket port host domain
route endpoint controller service repository model view template component hook effect state
props render layout style theme color font icon button input form field label select option
modal dialog toast banner sidebar navbar footer page screen mobile desktop browser tab window
frame event listener callback promise async await thread lock mutex channel stream buffer chunk
file folder path directory archive backup snapshot version history diff patch hunk line offset
length size count limit page cursor sort filter search match pattern regex glob escape quote
encode decode parse serialize format print read write append delete remove insert update upsert
create destroy start stop restart reload refresh sync flush close open connect disconnect bind
listen accept reject resolve retry wrap unwrap guard check verify validate assert expect mock
stub fake fixture test suite case scenario step unit integration regression benchmark profile
slow fast small large tiny huge empty full partial missing extra duplicate unique stable
unstable legacy modern deprecated experimental internal external public private shared local
global remote upstream downstream parent child sibling root leaf node edge tree graph list
map set array vector tuple struct record object class module package library framework runtime
compiler interpreter debugger linter formatter bundler builder runner scheduler dispatcher
parser lexer tokenizer encoder decoder reader writer loader saver exporter importer adapter
wrapper proxy gateway router balancer registry catalog store bucket table row key value pair
entry item element member property attribute method function argument parameter return yield
exception panic crash hang leak spike drop loss gain win fail pass skip ignore ensure handle
""".split()

TECH = """
jwt.decode() jwt.encode() refresh_token access_token user_id session_id api_key auth_header
os.environ json.loads() json.dumps() requests.get() requests.post() subprocess.run()
asyncio.gather() asyncio.run() pytest.fixture() pytest.raises() re.compile() datetime.now()
pathlib.Path Path.read_text() open() print() len() isinstance() getattr() setattr() dict.get()
useEffect() useState() useMemo() fetch() Promise.all() Array.map() Object.keys() console.log()
JSON.parse() JSON.stringify() process.env express.Router() app.listen() res.json() req.body
sqlite3.connect() cursor.execute() conn.commit() session.query() db.session.add() Base.metadata
logger.info() logger.warning() logger.exception() time.monotonic() hashlib.sha256() zstd
orjson typer pydantic fastapi django flask sqlalchemy alembic celery redis postgres sqlite
kafka nginx docker kubectl helm terraform ansible github gitlab webpack vite eslint prettier
typescript javascript python rust golang elixir phoenix react svelte vue nextjs tailwind
node npm pnpm yarn pip uv poetry ruff mypy pyright black isort tox nox make cmake cargo
rustc clippy tokio serde axum actix hyper grpc protobuf graphql openapi swagger oauth oidc
saml ldap cors csrf xss sql utf8 base64 sha256 hmac rsa tls ssl http https websocket sse
src/auth/session.py src/auth/jwt.py src/api/routes.py src/db/models.py src/db/migrations.py
src/cli/main.py tests/test_auth.py tests/test_api.py tests/conftest.py package.json
pyproject.toml Cargo.toml Dockerfile docker-compose.yml Makefile README.md CHANGELOG.md
.env.example config/settings.py lib/utils.ts lib/api/client.ts components/Header.tsx
pages/index.tsx app/layout.tsx server/index.js scripts/deploy.sh migrations/0001_initial.py
TODO FIXME XXX HTTP_401 HTTP_403 HTTP_500 ECONNREFUSED ETIMEDOUT ENOENT SIGTERM SIGKILL
KeyError ValueError TypeError AttributeError ImportError TimeoutError RuntimeError
AssertionError IntegrityError OperationalError NullPointerException SyntaxError
""".split()

PROMPT_OPENERS = (
    "Can you", "Please", "Let's", "I need you to", "Now", "OK, next:", "Could you",
    "Help me", "Go ahead and", "Why does", "Fix the", "Look at", "Investigate why",
)
VERSIONS = ("2.0.76", "2.1.17", "2.1.39", "2.1.50", "2.1.89")
MODELS = ("claude-opus-4-6", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001")
USERS = ("alex", "sam", "dev", "maria", "kim")
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
HEX = "0123456789abcdef"

CODE_TEMPLATES = (
    "def {a}_{b}({c}, {d}=None):",
    '    """{p}."""',
    "    return {a}.{b}({c})",
    "    if not {a}:",
    "        raise {C}Error(f\"{p}: {{{a}!r}}\")",
    "    {a} = {b}.{c}({d}, {n})",
    "    for {a} in {b}:",
    "        {a}.append({b}[{n}])",
    "    self.{a} = {b}",
    "    # {p}",
    "import {a}",
    "from {a}.{b} import {C}",
    "class {C}({D}):",
    "",
    "@pytest.fixture",
    "    assert {a}.{b} == {n}",
    "    {a}_{b} = {{\"{c}\": {d}, \"{b}\": {n}}}",
    "    logger.info(\"{p} %s\", {a})",
    "export async function {a}{C}({b}: {C}): Promise<{D}> {{",
    "  const {a} = await {b}.{c}({d});",
    "  if ({a} === undefined) return null;",
    "}}",
    "  // {p}",
    "import {{ {C} }} from './{a}';",
    "  return {{ ...{a}, {b}: {c} }};",
    "fn {a}_{b}(&self, {c}: &{C}) -> Result<{D}, Error> {{",
    "    let {a} = self.{b}.get(&{c})?;",
    "    Ok({C}::new({a}, {n}))",
)
LOG_LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "DEBUG", "WARNING", "ERROR")


def encode_project(cwd: str) -> str:
    """Claude Code's project folder name: every non-alphanumeric character becomes '-'."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}Z"
    )


def parse_iso_ms(ts: str) -> int:
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def new_uuid(rng: Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def rand_str(rng: Random, alphabet: str, n: int) -> str:
    return "".join(rng.choices(alphabet, k=n))


def _zipf(n: int) -> list[float]:
    """Cumulative Zipf weights over ranks 0..n-1 (for ``Random.choices``)."""
    return list(itertools.accumulate(1.0 / (r + 2) ** 1.05 for r in range(n)))


class Text:
    """Pools of prose and code, cut at random offsets.

    Drawing words one by one would cost ~1 µs per word (minutes per GiB); slicing a pool costs a
    memcpy. Pools are tens of MiB, larger than zstd's 2 MiB window, so slices rarely repeat
    inside one compressed chunk and the archive sees about the redundancy of real text."""

    def __init__(self, seed: int = 0, prose_mb: float = 8, code_mb: float = 4,
                 derived_words: int = 2200):
        rng = Random(f"text-{seed}")
        english = list(dict.fromkeys(ENGLISH))  # roughly by frequency: "the of and" first
        derived = sorted(self._derived(rng, english, min(derived_words, 2200)))
        derived += sorted(self._coined(rng, derived_words - len(derived)))
        tech = list(dict.fromkeys(TECH)) + derived
        rng.shuffle(tech)
        # Zipf over ranks: English first (common words common), identifiers in the long tail.
        self.vocab = english + tech
        self.cum = _zipf(len(self.vocab))
        self.idents = [w for w in self.vocab if re.fullmatch(r"[a-z][a-z0-9_]*", w)]
        self.icum = _zipf(len(self.idents))
        self.paths = [w for w in self.vocab if "/" in w or re.fullmatch(r"\w+\.\w+", w)]
        self.prose = self._prose(rng, int(prose_mb * MiB))
        self.code = self._code(rng, int(code_mb * MiB))

    @staticmethod
    def _derived(rng: Random, english: list[str], n: int) -> set[str]:
        """Identifiers made of vocabulary words: refresh_token, getUserById, auth/session.py."""
        base = english[100:600]  # skip "the", "of": nobody names a variable the_of
        out: set[str] = set()
        while len(out) < n:
            a, b = rng.choice(base), rng.choice(base)
            kind = rng.random()
            if kind < 0.45:
                out.add(f"{a}_{b}")
            elif kind < 0.7:
                out.add(f"{a}{b.capitalize()}")
            elif kind < 0.85:
                out.add(f"{a}.{b}()")
            else:
                out.add(f"src/{a}/{b}.{rng.choice(('py', 'ts', 'rs', 'go', 'ex'))}")
        return out

    @staticmethod
    def _coined(rng: Random, n: int) -> set[str]:
        """Made-up words (names, jargon, foreign words): a real history's long tail of terms."""
        syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + ["qu", "th", "sh"]
        out: set[str] = set()
        while len(out) < n:
            out.add("".join(rng.choices(syllables, k=rng.randint(2, 4))))
        return out

    def words(self, rng: Random, n: int) -> str:
        return " ".join(rng.choices(self.vocab, cum_weights=self.cum, k=n))

    def _prose(self, rng: Random, size: int) -> str:
        words = rng.choices(
            [f"`{w}`" if re.search(r"[_./()]", w) else w for w in self.vocab],
            cum_weights=self.cum,
            k=size // 7 + 64,
        )
        parts: list[str] = []
        i = total = 0
        while total < size and i < len(words):
            n = rng.randint(5, 24)
            sentence = words[i : i + n]
            i += n
            sentence[0] = sentence[0].capitalize()
            end = rng.random()
            text = " ".join(sentence) + ("." if end < 0.8 else "?" if end < 0.88 else ":")
            if end > 0.93:
                text += "\n\n"
            elif end > 0.9:
                text += "\n- "
            parts.append(text)
            total += len(text) + 1
        return " ".join(parts)

    def _code(self, rng: Random, size: int) -> str:
        lines: list[str] = []
        total = 0
        idents, icum = self.idents, self.icum
        while total < size:
            ids = rng.choices(idents, cum_weights=icum, k=4 * 256)
            caps = [w.title().replace("_", "") for w in ids[:512]]
            phrases = [self.words(rng, rng.randint(3, 8)) for _ in range(16)]
            for k in range(256):
                line = rng.choice(CODE_TEMPLATES).format(
                    a=ids[4 * k], b=ids[4 * k + 1], c=ids[4 * k + 2], d=ids[4 * k + 3],
                    C=caps[2 * k], D=caps[2 * k + 1], p=phrases[k % 16],
                    n=rng.randrange(1000),
                )
                lines.append(line)
                total += len(line) + 1
        return "\n".join(lines)

    def prose_slice(self, rng: Random, n: int) -> str:
        pool = self.prose
        n = min(n, len(pool) - 1)
        start = rng.randrange(len(pool) - n)
        start = pool.find(" ", start) + 1
        return pool[start : start + n]

    def code_slice(self, rng: Random, n: int) -> str:
        pool = self.code
        n = min(n, len(pool) - 1)
        start = pool.find("\n", rng.randrange(len(pool) - n)) + 1
        end = pool.find("\n", start + n)
        return pool[start : end if end > 0 else len(pool)]

    def log_block(self, rng: Random, ms: int, lines: int) -> str:
        mods = rng.choices(self.idents, cum_weights=self.icum, k=lines)
        return "\n".join(
            f"{iso_ms(ms + 37 * i)} {rng.choice(LOG_LEVELS)} {mods[i]}: "
            f"{self.prose_slice(rng, rng.randint(30, 160))}"
            for i in range(lines)
        )

    def varied(self, rng: Random, size: int, ms: int) -> str:
        """Tool output of the text-dense shape, of one of many kinds: code, logs, JSON records,
        a traceback, a diff, a table, a commit log, prose (docs, man pages)."""
        r = rng.random()
        if r < 0.2:
            return self.code_slice(rng, size)
        if r < 0.35:
            return self.log_block(rng, ms, max(1, size // 110))
        if r < 0.45:
            recs = []
            while sum(map(len, recs)) < size:
                a, b, c = rng.choices(self.idents, cum_weights=self.icum, k=3)
                recs.append(orjson.dumps({
                    "id": rng.randrange(10**6), a: self.words(rng, rng.randint(2, 9)),
                    b: rng.random() < 0.5, c: rng.randrange(10**4),
                    "sha": f"{rng.getrandbits(40):010x}",
                }).decode())
            return "[\n  " + ",\n  ".join(recs) + "\n]"
        if r < 0.55:
            frames = [
                f'  File "{rng.choice(self.paths)}", line {rng.randint(1, 2000)}, in '
                f"{rng.choice(self.idents)}\n    {self.code_slice(rng, 30).strip()}"
                for _ in range(max(2, size // 160))
            ]
            err = rng.choice([w for w in TECH if w.endswith(("Error", "Exception"))])
            return ("Traceback (most recent call last):\n" + "\n".join(frames)
                    + f"\n{err}: {self.prose_slice(rng, 120)}")
        if r < 0.65:
            code = self.code_slice(rng, size).split("\n")
            body = [("+" if rng.random() < 0.3 else "-" if rng.random() < 0.2 else " ") + ln
                    for ln in code]
            path = rng.choice(self.paths)
            return (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
                    f"@@ -{rng.randint(1, 900)},{len(code)} +{rng.randint(1, 900)},{len(code)} @@\n"
                    + "\n".join(body))
        if r < 0.72:
            rows = []
            while sum(map(len, rows)) < size:
                rows.append("| " + " | ".join(
                    rng.choices(self.vocab, cum_weights=self.cum, k=4)
                    + [str(rng.randrange(10**5))]) + " |")
            return "| name | kind | owner | state | count |\n|---|---|---|---|---|\n" + "\n".join(
                rows)
        if r < 0.8:
            return "\n".join(
                f"{rng.getrandbits(28):07x} {self.words(rng, rng.randint(4, 12))}"
                for _ in range(max(1, size // 60))
            )
        return self.prose_slice(rng, size)

    def huge(self, rng: Random, size: int, ms: int) -> str:
        """A 1–5 MB tool output: test or build logs, a big file dump."""
        pieces: list[str] = []
        total = 0
        while total < size:
            r = rng.random()
            if r < 0.55:
                piece = self.code_slice(rng, rng.randint(8 * KiB, 64 * KiB))
            elif r < 0.85:
                piece = self.prose_slice(rng, rng.randint(4 * KiB, 32 * KiB))
            else:
                piece = self.log_block(rng, ms, rng.randint(20, 80))
            pieces.append(piece)
            total += len(piece) + 1
        return "\n".join(pieces)[:size]


@lru_cache(maxsize=4)
def text_pools(seed: int = 0, prose_mb: float = 8, code_mb: float = 4,
               derived_words: int = 2200) -> Text:
    return Text(seed, prose_mb, code_mb, derived_words)


def _tool_output_size(rng: Random, scale: float) -> int:
    return int(min(120 * KiB, max(30, rng.lognormvariate(7.1, 1.3) * scale)))


class SessionWriter:
    """Writes the lines of one transcript (main or subagent) to an open binary file."""

    def __init__(
        self, fh, text: Text, rng: Random, *, session_id: str, cwd: str, branch: str,
        version: str, model: str, start_ms: int, slug: str | None = None,
        parent: str | None = None, agent_id: str | None = None, output_scale: float = 1.0,
        dense: bool = False,
    ):
        self.fh = fh
        self.text = text
        self.rng = rng
        self.session_id = session_id
        self.cwd = cwd
        self.branch = branch
        self.version = version
        self.model = model
        self.ms = start_ms
        self.slug = slug
        self.parent = parent
        self.agent_id = agent_id
        self.output_scale = output_scale
        self.dense = dense  # the text-dense shape: long prose, thinking, varied tool output
        self.bytes = 0
        self.files: dict[str, str] = {}  # path -> content, so a file read twice reads the same
        self.edited: dict[str, int] = {}  # path -> backup version, for file-history-snapshot
        self.huge_at: list[tuple[int, int]] = []  # (at byte offset, output size), sorted
        self.target = sys.maxsize  # bytes this file should reach; sizes shrink near it
        self.first_prompt: str | None = None

    # -- low level ------------------------------------------------------------------------

    def emit(self, obj: dict) -> None:
        data = orjson.dumps(obj)
        self.fh.write(data)
        self.fh.write(b"\n")
        self.bytes += len(data) + 1

    def fit(self, n: int) -> int:
        """``n``, or less near the size target, so a 5 KB session is not 30 KB."""
        return min(n, max(40, (self.target - self.bytes) // 4))

    def tick(self, lo_ms: int, hi_ms: int) -> str:
        self.ms += self.rng.randint(lo_ms, hi_ms)
        return iso_ms(self.ms)

    def base(self, kind: str) -> dict:
        d = {
            "parentUuid": self.parent,
            "isSidechain": self.agent_id is not None,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.session_id,
            "version": self.version,
            "gitBranch": self.branch,
        }
        if self.agent_id:
            d["agentId"] = self.agent_id
        if self.slug:
            d["slug"] = self.slug
        d["type"] = kind
        return d

    def line(self, kind: str, fields: dict, lo_ms: int = 50, hi_ms: int = 2000) -> str:
        uid = new_uuid(self.rng)
        d = self.base(kind)
        d.update(fields)
        d["uuid"] = uid
        d["timestamp"] = self.tick(lo_ms, hi_ms)
        self.emit(d)
        self.parent = uid
        return uid

    # -- content --------------------------------------------------------------------------

    def prompt_text(self) -> str:
        rng, text = self.rng, self.text
        opener = rng.choice(PROMPT_OPENERS)
        body = text.words(rng, rng.randint(6, 40))
        extra = ""
        if rng.random() < 0.5:
            extra = f" in `{rng.choice(text.paths)}`"
        if rng.random() < 0.25:
            extra += "\n\n" + text.prose_slice(rng, rng.randint(100, 1500))
        if self.dense:  # pasted specs, error reports, code under discussion
            extra += "\n\n" + text.prose_slice(rng, self.fit(rng.randint(300, 6000)))
            if rng.random() < 0.3:
                extra += "\n\n```\n" + text.varied(rng, rng.randint(200, 3000), self.ms) + "\n```"
        return f"{opener} {body}{extra}"

    def project_path(self) -> str:
        return f"{self.cwd}/{self.rng.choice(self.text.paths)}"

    def file_content(self, path: str) -> str:
        content = self.files.get(path)
        if content is None:
            content = self.text.code_slice(self.rng, self.fit(_tool_output_size(self.rng, 4)))
            self.files[path] = content
        return content

    def usage(self) -> dict:
        rng = self.rng
        created = rng.randint(0, 20000)
        return {
            "input_tokens": rng.randint(1, 12),
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": rng.randint(10000, 180000),
            "cache_creation": {
                "ephemeral_5m_input_tokens": created, "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": rng.randint(1, 3000),
            "service_tier": "standard",
        }

    def assistant(self, msg: dict, block: dict) -> str:
        message = {
            "model": self.model,
            "id": msg["id"],
            "type": "message",
            "role": "assistant",
            "content": [block],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": msg["usage"],
        }
        return self.line(
            "assistant", {"message": message, "requestId": msg["req"]}, 300, 20000
        )

    def tool_call(self, msg: dict, huge: int | None) -> None:
        """One tool_use line, maybe progress lines, and the tool_result user line."""
        rng, text = self.rng, self.text
        tool_id = "toolu_01" + rand_str(rng, ALNUM, 22)
        r = rng.random()
        if huge is not None:
            name = "Bash"
        elif r < 0.35:
            name = "Bash"
        elif r < 0.62:
            name = "Read"
        elif r < 0.78:
            name = "Edit"
        elif r < 0.9:
            name = "Grep"
        elif r < 0.95:
            name = "Glob"
        else:
            name = "Write"
        result_text: str
        tool_result: object
        if name == "Bash":
            cmd = rng.choice((
                "pytest -q {p}", "git diff --stat", "rg -n '{w}' src/", "npm run build",
                "ls -la {d}", "cat {p}", "python -m {w} --verbose", "git log --oneline -20",
                "make test", "cargo test {w}",
            )).format(p=rng.choice(text.paths), w=rng.choice(text.idents), d=self.cwd)
            inp = {"command": cmd, "description": text.words(rng, rng.randint(3, 8))}
            if huge is not None:
                out = text.huge(rng, huge, self.ms)
            elif self.dense:
                out = text.varied(rng, self.fit(_tool_output_size(rng, 0.6)), self.ms)
            elif rng.random() < 0.5:
                out = text.code_slice(rng, self.fit(_tool_output_size(rng, self.output_scale)))
            else:
                out = text.log_block(rng, self.ms, self.fit(rng.randint(2, 40) * 100) // 100 + 1)
            result_text = out
            tool_result = {"stdout": out, "stderr": "", "interrupted": False, "isImage": False}
        elif name == "Read":
            path = self.project_path()
            content = self.file_content(path)
            inp = {"file_path": path}
            lines = content.split("\n")
            result_text = "\n".join(f"{i:>6}→{ln}" for i, ln in enumerate(lines, 1))
            tool_result = {
                "type": "text",
                "file": {
                    "filePath": path, "content": content, "numLines": len(lines),
                    "startLine": 1, "totalLines": len(lines),
                },
            }
        elif name == "Edit":
            path = self.project_path()
            original = self.file_content(path)
            lines = original.split("\n")
            at = rng.randrange(len(lines))
            old = "\n".join(lines[at : at + rng.randint(1, 6)])
            new = old + "\n" + text.code_slice(rng, rng.randint(40, 600))
            self.files[path] = original.replace(old, new, 1)
            self.edited[path] = self.edited.get(path, 0) + 1
            inp = {"file_path": path, "old_string": old, "new_string": new, "replace_all": False}
            result_text = f"The file {path} has been updated successfully."
            tool_result = {
                "filePath": path, "oldString": old, "newString": new, "originalFile": original,
                "structuredPatch": [{
                    "oldStart": at + 1, "oldLines": old.count("\n") + 1, "newStart": at + 1,
                    "newLines": new.count("\n") + 1,
                    "lines": [f" {ln}" for ln in old.split("\n")]
                    + [f"+{ln}" for ln in new.split("\n")[old.count("\n") + 1 :]],
                }],
                "userModified": False, "replaceAll": False,
            }
        elif name == "Grep":
            pattern = rng.choice(text.idents)
            n = rng.randint(0, 40)
            code = text.code_slice(rng, 80 * n + 1).split("\n")[:n]
            found = [f"{self.project_path()}:{rng.randint(1, 900)}:{ln}" for ln in code]
            inp = {"pattern": pattern, "path": self.cwd, "output_mode": "content", "-n": True}
            result_text = "\n".join(found) if found else "No matches found"
            tool_result = {
                "mode": "content", "numFiles": len({f.split(":")[0] for f in found}),
                "filenames": [], "content": result_text, "numLines": len(found),
            }
        elif name == "Glob":
            names = [self.project_path() for _ in range(rng.randint(1, 60))]
            inp = {"pattern": f"**/*.{rng.choice(('py', 'ts', 'rs', 'md'))}"}
            result_text = "\n".join(names)
            tool_result = {
                "filenames": names, "durationMs": rng.randint(2, 300),
                "numFiles": len(names), "truncated": False,
            }
        else:  # Write
            path = self.project_path()
            content = text.code_slice(rng, self.fit(_tool_output_size(rng, 2)))
            self.files[path] = content
            inp = {"file_path": path, "content": content}
            result_text = f"File created successfully at: {path}"
            tool_result = {"type": "create", "filePath": path, "content": content,
                           "structuredPatch": []}
        use_uuid = self.assistant(
            msg, {"type": "tool_use", "id": tool_id, "name": name, "input": inp}
        )
        if name == "Bash" and rng.random() < (0.1 if self.dense else 0.4):
            for k in range(rng.randint(1, 3)):
                preview = text.log_block(rng, self.ms, 1)
                self.line("progress", {
                    "data": {"type": "bash_progress", "output": preview, "fullOutput": preview,
                             "elapsedTimeSeconds": k + 2, "totalLines": k + 1,
                             "timeoutMs": 120000},
                    "toolUseID": f"bash-progress-{k}", "parentToolUseID": tool_id,
                }, 500, 3000)
        if rng.random() < 0.3:
            self.line("progress", {
                "data": {"type": "hook_progress", "hookEvent": "PostToolUse",
                         "hookName": f"PostToolUse:{name}", "command": "~/.claude/hooks/log.sh"},
                "parentToolUseID": tool_id, "toolUseID": tool_id,
            }, 5, 200)
        self.line("user", {
            "message": {"role": "user", "content": [
                {"tool_use_id": tool_id, "type": "tool_result", "content": result_text}
            ]},
            "toolUseResult": tool_result,
            "sourceToolAssistantUUID": use_uuid,
        }, 100, 30000)

    def turn(self, target: int) -> None:
        """A user prompt and the assistant's work on it, until ``target`` bytes are written."""
        rng, text = self.rng, self.text
        self.target = target
        self.tick(20_000, 40 * 60_000)
        prompt_uuid = new_uuid(rng)
        if self.agent_id is None and rng.random() < (0.2 if self.dense else 0.7):
            backups = {
                p[len(self.cwd) + 1 :]: {
                    "backupFileName": f"{rand_str(rng, HEX, 16)}@v{v}", "version": v,
                    "backupTime": iso_ms(self.ms),
                }
                for p, v in list(self.edited.items())[-4:]
            }
            self.emit({
                "type": "file-history-snapshot", "messageId": prompt_uuid,
                "snapshot": {"messageId": prompt_uuid, "trackedFileBackups": backups,
                             "timestamp": iso_ms(self.ms)},
                "isSnapshotUpdate": False,
            })
        prompt = self.prompt_text()
        if self.first_prompt is None:
            self.first_prompt = prompt
        d = self.base("user")
        d["message"] = {"role": "user", "content": prompt}
        d["uuid"] = prompt_uuid
        d["timestamp"] = iso_ms(self.ms)
        d["permissionMode"] = "default"
        self.emit(d)
        self.parent = prompt_uuid
        dense = self.dense
        for _step in range(rng.randint(1, 5) if dense else rng.randint(1, 14)):
            msg = {
                "id": "msg_01" + rand_str(rng, ALNUM, 22),
                "req": "req_011C" + rand_str(rng, ALNUM, 20),
                "usage": self.usage(),
            }
            if rng.random() < (0.8 if dense else 0.35):
                sig = base64.b64encode(rng.randbytes(rng.randint(200, 600))).decode()
                size = rng.randint(600, 10000) if dense else rng.randint(80, 2500)
                self.assistant(msg, {
                    "type": "thinking",
                    "thinking": text.prose_slice(rng, self.fit(size)),
                    "signature": sig,
                })
            if rng.random() < (0.8 if dense else 0.5):
                size = rng.randint(300, 5000) if dense else rng.randint(20, 600)
                self.assistant(msg, {
                    "type": "text", "text": text.prose_slice(rng, self.fit(size))
                })
            if dense and rng.random() < 0.3:
                continue  # a step of thinking and talk only
            for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 4)):
                huge = None
                if self.huge_at and self.bytes >= self.huge_at[0][0]:
                    huge = self.huge_at.pop(0)[1]
                self.tool_call(msg, huge)
            if self.bytes >= target:
                break
        msg = {"id": "msg_01" + rand_str(rng, ALNUM, 22),
               "req": "req_011C" + rand_str(rng, ALNUM, 20), "usage": self.usage()}
        summary = text.prose_slice(
            rng, self.fit(rng.randint(800, 9000) if self.dense else rng.randint(200, 2500)))
        if rng.random() < 0.3:
            summary += "\n\n```python\n" + text.code_slice(rng, rng.randint(100, 1500)) + "\n```"
        self.assistant(msg, {"type": "text", "text": summary})
        if self.agent_id is None and rng.random() < 0.5:
            self.line("system", {
                "subtype": "turn_duration", "durationMs": rng.randint(2000, 900_000),
                "isMeta": False,
            }, 10, 500)

    def write(self, target: int, huge=()) -> None:
        """Turns until ``target`` bytes; ``huge`` tool outputs land at random points."""
        if huge:
            self.huge_at = sorted(
                (self.rng.randrange(max(1, target - size)), size) for size in huge
            )
        while self.bytes < target or self.huge_at:
            self.turn(target)


class _Layout:
    """Roots and projects of a generated home: which folder each profile writes to."""

    def __init__(self, home: Path, rng: Random, text: Text, profiles, n_projects: int,
                 now: datetime):
        self.home = home
        self.rng = rng
        self.mtime_shift_ms = int(time.time() * 1000) - int(now.timestamp() * 1000)
        self.profiles = list(profiles)
        self.projects: dict[str, list[str]] = {}
        self.history: dict[str, list[bytes]] = {p: [] for p in self.profiles}
        for profile in self.profiles:
            user = rng.choice(USERS)
            names = set()
            while len(names) < max(1, n_projects // len(self.profiles)):
                a, b = rng.choice(text.idents), rng.choice(text.idents)
                names.add(rng.choice((f"/home/{user}/src/{a}", f"/home/{user}/work/{a}/{b}",
                                      f"/home/{user}/code/{a}-{b}")))
            self.projects[profile] = sorted(names)

    def root(self, profile: str) -> Path:
        if profile == "default":
            return self.home / ".claude"
        return self.home / ".ccs" / "instances" / profile

    def session_path(self, profile: str, cwd: str, session_id: str) -> Path:
        folder = self.root(profile) / "projects" / encode_project(cwd)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{session_id}.jsonl"

    def set_mtime(self, path: Path, ms: int) -> None:
        """The content's last timestamp, moved to the same age on the real clock."""
        ns = min(ms + self.mtime_shift_ms, int(time.time() * 1000)) * 1_000_000  # not future
        os.utime(path, ns=(ns, ns))

    def finish(self, history: bool = True) -> list[Path]:
        """Write each root's settings.json and history.jsonl; returns the history files."""
        written = []
        for profile, lines in self.history.items():
            root = self.root(profile)
            root.mkdir(parents=True, exist_ok=True)
            settings = root / "settings.json"
            if not settings.exists():
                settings.write_bytes(orjson.dumps({"cleanupPeriodDays": 60}))
            if lines and history:
                path = root / "history.jsonl"
                with open(path, "ab") as fh:
                    fh.write(b"".join(lines))
                written.append(path)
        return written


def write_session(
    layout: _Layout, text: Text, rng: Random, *, profile: str, size: int, start_ms: int,
    huge=(), subagents: int = 0, dense: bool = False,
) -> tuple[list[Path], int]:
    """One main transcript of about ``size`` bytes (subagents included). Returns its files."""
    cwd = rng.choice(layout.projects[profile])
    session_id = new_uuid(rng)
    slug = "-".join(rng.choices(text.vocab[:300], k=3))
    common = dict(
        cwd=cwd, branch=rng.choice(("main", "main", "", f"feat/{rng.choice(text.idents)}")),
        version=rng.choice(VERSIONS), model=rng.choice(MODELS), slug=slug,
        output_scale=1.0 + min(size / (4 * MiB), 2.0), dense=dense,
    )
    sub_sizes = [max(3 * KiB, int(size * rng.uniform(0.05, 0.15))) for _ in range(subagents)]
    path = layout.session_path(profile, cwd, session_id)
    with open(path, "wb", buffering=MiB) as fh:
        w = SessionWriter(fh, text, rng, session_id=session_id, start_ms=start_ms, **common)
        w.write(max(1, size - sum(sub_sizes)), huge)
    layout.set_mtime(path, w.ms)
    files, total = [path], w.bytes
    if w.first_prompt:
        layout.history[profile].append(orjson.dumps({
            "display": w.first_prompt[:400], "pastedContents": {}, "timestamp": start_ms,
            "project": cwd,
        }) + b"\n")
    for sub_size in sub_sizes:
        agent_id = "a" + rand_str(rng, HEX, 16)
        folder = path.with_suffix("") / "subagents"
        folder.mkdir(parents=True, exist_ok=True)
        sub = folder / f"agent-{agent_id}.jsonl"
        with open(sub, "wb", buffering=MiB) as fh:
            sw = SessionWriter(
                fh, text, rng, session_id=session_id, agent_id=agent_id,
                start_ms=start_ms + rng.randint(60_000, 3_600_000), **common,
            )
            sw.write(sub_size)
        layout.set_mtime(sub, sw.ms)
        meta = folder / f"agent-{agent_id}.meta.json"
        meta.write_bytes(orjson.dumps({
            "agentType": "general-purpose", "description": text.words(rng, 4),
        }))
        files += [sub, meta]
        total += sw.bytes + meta.stat().st_size
    return files, total


def _session_size(rng: Random, kind: str) -> int:
    lo, hi = {"short": (5 * KiB, 80 * KiB), "medium": (200 * KiB, 2 * MiB),
              "large": (10 * MiB, 50 * MiB), "dense-short": (4 * KiB, 80 * KiB),
              "dense-medium": (150 * KiB, 1536 * KiB)}[kind]
    return int(lo * (hi / lo) ** rng.random())  # log-uniform: more small than big


def _huge_outputs(rng: Random, size: int) -> list[int]:
    """A few 1–5 MB tool outputs for a large session, at most half its bytes."""
    out: list[int] = []
    for _ in range(rng.randint(1, 5)):
        s = rng.randint(1 * MiB, 5 * MiB)
        if sum(out) + s > size // 2:
            break
        out.append(s)
    return out


def _summary(files: list[Path], sessions: int, started: float) -> dict:
    return {
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
        "sessions": sessions,
        "seconds": round(time.monotonic() - started, 2),
    }


SHAPES = ("envelope", "dense")


def generate(
    dest_home: Path, *, total_mb: float, seed: int = 1, profiles=PROFILES,
    now: datetime = DEFAULT_NOW, shape: str = "envelope",
) -> dict:
    """A corpus of about ``total_mb`` MiB.

    ``shape="envelope"`` (the default): many short sessions, some medium, a few large with
    1–5 MB tool outputs; most bytes are JSON envelope and tool output repeated in
    ``toolUseResult``. ``shape="dense"``: many short sessions (4–80 KB, a few up to 1.5 MB),
    long prompts, answers and thinking, tool output of many kinds and a larger vocabulary, so
    most bytes are text worth indexing (a heavy user's history)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown corpus shape {shape!r} (one of {', '.join(SHAPES)})")
    dense = shape == "dense"
    started = time.monotonic()
    dest_home = Path(dest_home)
    rng = Random(seed)
    budget = int(total_mb * MiB)
    text = text_pools(seed, min(24, max(4, total_mb / 8)), min(12, max(2, total_mb / 16)),
                      20_000 if dense else 2200)
    n_projects = max(6, int(total_mb / (1 if dense else 4)))
    layout = _Layout(dest_home, rng, text, profiles, n_projects, now)
    now_ms = int(now.timestamp() * 1000)
    files: list[Path] = []
    sessions = 0
    written = 0
    while written < budget:
        r = rng.random()
        if dense:
            kind = "dense-medium" if r < 0.05 else "dense-short"
        elif budget >= 40 * MiB and (sessions == 0 or r < 0.02):
            kind = "large"
        elif r < 0.2:
            kind = "medium"
        else:
            kind = "short"
        size = min(_session_size(rng, kind), budget - written)
        if budget - written - size < 5 * KiB:
            size = budget - written
        p = rng.random()
        index = 0 if p < 0.5 else 1 if p < 0.85 else 2
        profile = layout.profiles[min(index, len(layout.profiles) - 1)]
        subagents = 0
        if rng.random() < (0.3 if kind != "short" else 0.08):
            subagents = rng.randint(1, 3)
        session_files, nbytes = write_session(
            layout, text, rng, profile=profile, size=size,
            start_ms=now_ms - rng.randint(DAY_MS // 24, 60 * DAY_MS),
            huge=_huge_outputs(rng, size) if kind == "large" else [], subagents=subagents,
            dense=dense,
        )
        files += session_files
        written += nbytes
        sessions += 1
    files += layout.finish()
    return _summary(files, sessions, started)


def sessions(
    dest_home: Path, sizes: list[int], *, seed: int = 1, profile: str = "default",
    now: datetime = DEFAULT_NOW,
) -> list[Path]:
    """One main transcript per entry of ``sizes`` (bytes), no subagents: for append tests."""
    rng = Random(seed)
    text = text_pools(seed, 8, 4)
    layout = _Layout(Path(dest_home), rng, text, [profile], 4, now)
    now_ms = int(now.timestamp() * 1000)
    paths = []
    for size in sizes:
        huge = _huge_outputs(rng, size) if size >= 10 * MiB else []
        files, _ = write_session(layout, text, rng, profile=profile, size=size,
                                 start_ms=now_ms - rng.randint(DAY_MS, 60 * DAY_MS), huge=huge)
        paths.append(files[0])
    layout.finish(history=False)  # only the sessions: what the append test measures
    return paths


def many_small(dest_home: Path, n_files: int, seed: int = 1, *, profiles=PROFILES,
               now: datetime = DEFAULT_NOW) -> dict:
    """``n_files`` small sessions (one short turn, ~5–20 KB) over ~200 projects: for the no-op
    ingest test, where the number of files matters, not their size."""
    started = time.monotonic()
    rng = Random(seed)
    text = text_pools(seed, 4, 2)
    layout = _Layout(Path(dest_home), rng, text, profiles, 200, now)
    now_ms = int(now.timestamp() * 1000)
    files = []
    for i in range(n_files):
        profile = layout.profiles[i % len(layout.profiles)]
        f, _ = write_session(layout, text, rng, profile=profile,
                             size=rng.randint(2 * KiB, 10 * KiB),
                             start_ms=now_ms - rng.randint(DAY_MS // 24, 60 * DAY_MS))
        files += f
    files += layout.finish()
    return _summary(files, n_files, started)


def single_session(dest_home: Path, total_mb: float, seed: int = 1, *,
                   now: datetime = DEFAULT_NOW) -> tuple[Path, int]:
    """One main transcript of ``total_mb`` MiB, mostly 1–5 MB tool outputs, written streaming."""
    rng = Random(seed)
    text = text_pools(seed, 24, 12)
    layout = _Layout(Path(dest_home), rng, text, ["default"], 1, now)
    size = int(total_mb * MiB)
    huge, total = [], 0
    while total < size * 0.75:  # three quarters in big outputs, the rest in ordinary turns
        huge.append(rng.randint(1 * MiB, 5 * MiB))
        total += huge[-1] * 2  # a Bash output is in the line twice (content and stdout)
    files, nbytes = write_session(
        layout, text, rng, profile="default", size=size, huge=huge,
        start_ms=int(now.timestamp() * 1000) - 30 * DAY_MS,
    )
    layout.finish()
    return files[0], nbytes


def _tail_line(path: Path) -> dict:
    """The last line of a transcript that carries uuid, sessionId and timestamp."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        block = 256 * KiB
        while True:
            start = max(0, size - block)
            fh.seek(start)
            lines = fh.read(size - start).split(b"\n")
            if start > 0:
                lines = lines[1:]  # may be the cut end of a longer line
            for raw in reversed(lines):
                if not raw.strip():
                    continue
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if obj.get("uuid") and obj.get("sessionId") and obj.get("timestamp"):
                    return obj
            if start == 0:
                raise ValueError(f"{path}: no transcript line to continue from")
            block *= 4


def append_day(session_path: Path, rng: Random, n_turns: int = 1, *,
               text: Text | None = None) -> int:
    """Append ``n_turns`` turns to a transcript, as the next day's work. Returns bytes added.

    The new lines continue the uuid chain and clock of the file's last line, as Claude Code does
    when a session is resumed."""
    text = text or text_pools(0, 8, 4)
    last = _tail_line(session_path)
    with open(session_path, "ab", buffering=MiB) as fh:
        w = SessionWriter(
            fh, text, rng, session_id=last["sessionId"], cwd=last.get("cwd", "/"),
            branch=last.get("gitBranch", ""), version=last.get("version", VERSIONS[-1]),
            model=rng.choice(MODELS), slug=last.get("slug"), parent=last["uuid"],
            agent_id=last.get("agentId"),
            start_ms=parse_iso_ms(last["timestamp"]) + rng.randint(DAY_MS * 2 // 3, DAY_MS),
        )
        for _ in range(n_turns):
            w.turn(sys.maxsize)  # no size target: each turn runs its natural course
    return w.bytes  # the mtime is now, as for a real append


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dest", type=Path, help="the home folder to fill (.claude, .ccs inside)")
    ap.add_argument("--mb", type=float, default=200, help="corpus size in MiB (default 200)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shape", choices=SHAPES, default="envelope",
                    help="envelope (default: mostly JSON envelope and capped tool output) or "
                         "dense (mostly prompt, answer, thinking and tool text)")
    ap.add_argument("--many-small", type=int, metavar="N", help="N small sessions instead")
    ap.add_argument("--single-mb", type=float, metavar="N", help="one N MiB session instead")
    ap.add_argument("--now", help="anchor date (ISO); timestamps span the 60 days before it")
    args = ap.parse_args(argv)
    now = datetime.fromisoformat(args.now) if args.now else DEFAULT_NOW
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if args.many_small:
        summary = many_small(args.dest, args.many_small, args.seed, now=now)
    elif args.single_mb:
        started = time.monotonic()
        path, nbytes = single_session(args.dest, args.single_mb, args.seed, now=now)
        summary = {"files": 1, "bytes": nbytes, "sessions": 1, "path": str(path),
                   "seconds": round(time.monotonic() - started, 2)}
    else:
        summary = generate(args.dest, total_mb=args.mb, seed=args.seed, now=now,
                           shape=args.shape)
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
