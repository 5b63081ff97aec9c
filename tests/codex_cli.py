"""Codex CLI itself, for end-to-end tests: the pinned client and a stand-in Responses API.

The stand-in stands for the network only (api.openai.com): an HTTP server on 127.0.0.1 that
answers ``POST /v1/responses`` with streamed events and keeps every request body, which is what
Codex sent (a tool output, the whole conversation on resume). Codex is pointed at it by a
``model_providers`` entry in ``$CODEX_HOME/config.toml`` (``wire_api = "responses"``). The
client is installed by scripts/install-codex.sh into a cache folder outside the repository.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import npm_client
import orjson

VERSION = "0.171.0"
MODEL = "gpt-standin"


def cache_dir() -> Path:
    return npm_client.cache_dir("codex", VERSION)


def codex_or_reason() -> tuple[Path | None, str]:
    """The pinned ``codex`` (installed now if absent, npm and its registry permitting), or
    why there is none."""
    return npm_client.client_or_reason(
        version=VERSION,
        name="codex",
        package="@openai/codex",
        binary="codex",
        installer="install-codex.sh",
        version_env="CODEX_VERSION",
        label="Codex CLI",
    )


def write_config(codex_home: Path, url: str) -> None:
    """A Codex home whose model provider is the stand-in."""
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(
        f'model = "{MODEL}"\nmodel_provider = "standin"\n\n[model_providers.standin]\n'
        f'name = "standin"\nbase_url = "{url}/v1"\nwire_api = "responses"\n'
        'env_key = "STANDIN_API_KEY"\n'
    )


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: ".encode() + orjson.dumps(data | {"type": event}) + b"\n\n"


class StandIn:
    """The Responses API on 127.0.0.1. The first request of a conversation that has no tool
    output yet is answered with reasoning and a call of ``exec_command`` (``echo`` of
    ``tool_word``); every other request with a text answer naming the request's number."""

    def __init__(self, tool_word: str = "hello-from-tool"):
        self.tool_word = tool_word
        self.requests: list[dict] = []
        self._message_numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._called = False
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _reply(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # model lists and the like
                self._reply(200, b'{"data": [], "models": []}')

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = orjson.loads(raw) if raw else {}
                if not self.path.split("?")[0].endswith("/responses"):
                    self._reply(404, b"{}")
                    return
                with stand_in._lock:
                    stand_in.requests.append(body)
                    answer = stand_in._answer()
                self._reply(200, answer, "text/event-stream")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _answer(self) -> bytes:
        n = next(self._message_numbers)
        if not self._called:
            self._called = True
            items = [
                {"type": "reasoning", "id": f"rs_{n}",
                 "summary": [{"type": "summary_text", "text": "stand-in reasoning"}]},
                {"type": "function_call", "id": f"fc_{n}", "call_id": f"call_{n}",
                 "name": "exec_command",
                 "arguments": orjson.dumps({"cmd": f"echo {self.tool_word}"}).decode()},
            ]
        else:
            items = [{"type": "message", "id": f"msg_{n}", "role": "assistant",
                      "status": "completed",
                      "content": [{"type": "output_text", "text": f"stand-in answer {n}",
                                   "annotations": []}]}]
        usage = {"input_tokens": 1000 + n, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": 1020 + n}
        return b"".join([
            _sse("response.created", {"response": {"id": f"resp_{n}"}}),
            *[_sse("response.output_item.done", {"item": item}) for item in items],
            _sse("response.completed", {"response": {"id": f"resp_{n}", "usage": usage}}),
        ])

    def __enter__(self) -> StandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_codex(codex: Path, home: Path, codex_home: Path, cwd: Path, *args: str):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "CODEX_HOME": str(codex_home), "STANDIN_API_KEY": "sk-stand-in"}
    return subprocess.run([str(codex), "exec", "--skip-git-repo-check", *args], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=300)
