"""Claude Code itself, for end-to-end tests: the pinned client and a stand-in Messages API.

The stand-in stands for the network only (api.anthropic.com): an HTTP server on 127.0.0.1
that answers ``POST /v1/messages`` with a fixed script of streamed answers and keeps every
request body, which is what Claude Code sent (a tool result, the conversation). The client is
installed by scripts/install-claude-code.sh into a cache folder outside the repository.
"""

from __future__ import annotations

import itertools
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import npm_client
import orjson

VERSION = "2.1.328"


def cache_dir() -> Path:
    return npm_client.cache_dir("claude-code", VERSION)


def claude_or_reason() -> tuple[Path | None, str]:
    """The pinned ``claude`` (installed now if absent, npm and its registry permitting), or
    why there is none."""
    return npm_client.client_or_reason(
        version=VERSION,
        name="claude-code",
        package="@anthropic-ai/claude-code",
        binary="claude",
        installer="install-claude-code.sh",
        version_env="CLAUDE_CODE_VERSION",
        label="Claude Code",
    )


# -- the stand-in Messages API ------------------------------------------------------------------


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: ".encode() + orjson.dumps(data | {"type": event}) + b"\n\n"


def streamed(message_id: str, model: str, block: dict, stop_reason: str,
             input_tokens: int = 100) -> bytes:
    """One answer as the event stream of the Messages API: a text or a tool_use block."""
    if block["type"] == "text":
        start, delta = dict(block, text=""), {"type": "text_delta", "text": block["text"]}
    else:
        start = dict(block, input={})
        delta = {"type": "input_json_delta", "partial_json": orjson.dumps(block["input"]).decode()}
    return b"".join([
        _sse("message_start", {"message": {
            "id": message_id, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
        _sse("content_block_start", {"index": 0, "content_block": start}),
        _sse("content_block_delta", {"index": 0, "delta": delta}),
        _sse("content_block_stop", {"index": 0}),
        _sse("message_delta", {"delta": {"stop_reason": stop_reason, "stop_sequence": None},
                               "usage": {"output_tokens": 10}}),
        _sse("message_stop", {}),
    ])


def tool_results(body: dict) -> dict[str, str]:
    """tool_use id -> the text of its tool_result, from the request's last user message."""
    out = {}
    messages = body.get("messages") or []
    content = messages[-1].get("content") if messages else None
    for block in content if isinstance(content, list) else []:
        if block.get("type") == "tool_result":
            inner = block.get("content")
            if isinstance(inner, list):
                inner = "".join(b.get("text", "") for b in inner if isinstance(b, dict))
            out[block.get("tool_use_id")] = inner or ""
    return out


class StandIn:
    """The Messages API on 127.0.0.1 for one scripted conversation with tool calls.

    ``script`` is the list of tool calls to make, in order (name, input); after the last tool
    result comes ``final_text``. Each step is taken when the request carries the result of the
    previous call, so requests Claude Code makes on the side (none are expected with
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1) get a plain text answer and change nothing."""

    def __init__(self, script: list[tuple[str, dict]], final_text: str = "Done."):
        self.script = script
        self.final_text = final_text
        self.requests: list[dict] = []
        self.results: dict[str, str] = {}  # tool name -> the tool_result text sent back
        self._message_numbers = itertools.count(1)
        self._run = os.urandom(4).hex()  # message ids unique across stand-ins, as real ones are
        self._lock = threading.Lock()
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

            def do_GET(self) -> None:
                self._reply(200, b"{}")

            def do_HEAD(self) -> None:
                self._reply(200, b"")

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = orjson.loads(raw) if raw else {}
                path = self.path.split("?")[0]
                if path.endswith("/count_tokens"):
                    self._reply(200, b'{"input_tokens": 100}')
                    return
                if not path.endswith("/v1/messages"):
                    self._reply(404, b'{"type": "error"}')
                    return
                with stand_in._lock:
                    stand_in.requests.append(body)
                    answer = stand_in._answer(body)
                if body.get("stream"):
                    self._reply(200, answer, "text/event-stream")
                else:  # not expected from Claude Code; answered in kind all the same
                    self._reply(200, b'{"type": "error"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._calls: dict[str, str] = {}  # tool_use id -> tool name
        self._step = 0

    def _answer(self, body: dict) -> bytes:
        model = body.get("model") or "claude-stand-in"
        message_id = f"msg_standin_{self._run}_{next(self._message_numbers)}"
        # A context that grows with the conversation (1000 tokens a message), so a parser's
        # context sizes can be checked against what the "model" reported.
        tokens = 1000 * len(body.get("messages") or [])
        results = tool_results(body)
        for use_id, text in results.items():
            if use_id in self._calls:
                self.results[self._calls[use_id]] = text
        names = {t.get("name") for t in body.get("tools") or []}
        waiting = self._step and not any(self._calls.get(i) for i in results)
        if "ToolSearch" not in names or waiting or self._step > len(self.script):
            return streamed(message_id, model, {"type": "text", "text": "ok"}, "end_turn",
                            tokens)
        if self._step == len(self.script):
            self._step += 1
            return streamed(message_id, model, {"type": "text", "text": self.final_text},
                            "end_turn", tokens)
        name, tool_input = self.script[self._step]
        use_id = f"toolu_standin_{self._step + 1:02d}"
        self._calls[use_id] = name
        self._step += 1
        block = {"type": "tool_use", "id": use_id, "name": name, "input": tool_input}
        return streamed(message_id, model, block, "tool_use", tokens)

    def __enter__(self) -> StandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
