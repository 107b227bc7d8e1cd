"""A local stand-in for an OpenAI-compatible Chat Completions API, for the chatbot's optional
hosted model (`python -m devtools.llm_sim`, or started by `zest dev` and the tests).

`POST /v1/chat/completions` as the public API documents it: `Authorization: Bearer <key>`
(else 401 `invalid_api_key`), a JSON body with `model` and `messages` (else 400
`invalid_request_error`), answered with a `chat.completion` object. The assistant's content
is the JSON object `{"answer": "..."}` the chatbot asks for, grounded in the facts of its
system message: the offline answer, marked "(AI)" so a developer sees which path answered.

Test hooks: `POST /__sim/hooks` with any of `{"delay": seconds}` (each answer waits that
long), `{"server_error": N}` (the next N answers are HTTP 500), `{"garbage": N}` (the next N
answers are not JSON), `{"bad_content": N}` (the next N carry content that is not the JSON
object); `{}` resets. `GET /__sim/requests` lists the bodies received (oldest first);
`DELETE /__sim/requests` forgets them.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from devtools.sim_runner import (
    SimulatorServer,
    assignments,
    command_line,
    serve_until_interrupted,
)
from devtools.wsgi_server import Environ, StartResponse, json_response, status_line

API_KEY = "llm-sim-api-key"
MODEL = "zest-sim-1"
FACTS_MARKER = "FACTS (JSON):"
COMPLETIONS = "/v1/chat/completions"


@dataclass
class Hooks:
    delay: float = 0.0
    server_error: int = 0
    garbage: int = 0
    bad_content: int = 0


@dataclass
class State:
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def error(start_response: StartResponse, status: int, message: str, kind: str, code: str):
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return json_response(start_response, status, body)


def grounded_answer(messages: list[dict[str, Any]]) -> str:
    """The offline answer found in the system message's facts, marked as the model's."""
    system = next((m.get("content", "") for m in messages if m.get("role") == "system"), "")
    _, _, raw = str(system).partition(FACTS_MARKER)
    try:
        facts = json.loads(raw.strip() or "{}")
    except ValueError:
        facts = {}
    offline = facts.get("offline_answer") if isinstance(facts, dict) else None
    return f"(AI) {offline}" if offline else "(AI) How can I help you today?"


class LlmSim:
    """The WSGI app."""

    def __init__(self) -> None:
        self.hooks = Hooks()
        self.state = State()
        self.url = ""

    def __call__(self, environ: Environ, start_response: StartResponse):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        if path.startswith("/__sim/"):
            return self.control(start_response, method, path, raw)
        if path != COMPLETIONS:
            return error(start_response, 404, "Unknown URL", "invalid_request_error", "unknown")
        if method != "POST":
            return error(start_response, 405, "Use POST", "invalid_request_error", "method")
        if environ.get("HTTP_AUTHORIZATION", "") != f"Bearer {API_KEY}":
            return error(
                start_response,
                401,
                "Incorrect API key provided.",
                "invalid_request_error",
                "invalid_api_key",
            )
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("model") or not body.get("messages"):
            return error(
                start_response,
                400,
                "model and messages are required.",
                "invalid_request_error",
                "missing_required_parameter",
            )
        with self.state.lock:
            self.state.requests.append(body)
        if self.hooks.delay:
            time.sleep(self.hooks.delay)
        if self.take("server_error"):
            return error(start_response, 500, "The server had an error.", "server_error", "500")
        if self.take("garbage"):
            start_response(status_line(200), [("Content-Type", "application/json")])
            return [b"<html>not json"]
        content = json.dumps({"answer": grounded_answer(body["messages"])}, ensure_ascii=False)
        if self.take("bad_content"):
            content = "Sure! Here is your answer, not in JSON."
        return json_response(start_response, 200, completion(body["model"], content))

    def take(self, hook: str) -> bool:
        with self.state.lock:
            left = getattr(self.hooks, hook)
            if left > 0:
                setattr(self.hooks, hook, left - 1)
                return True
        return False

    def control(self, start_response: StartResponse, method: str, path: str, raw: bytes):
        if path == "/__sim/hooks" and method == "POST":
            try:
                data = json.loads(raw or b"{}")
            except ValueError:
                data = {}
            self.hooks = Hooks(
                delay=float(data.get("delay", 0)),
                server_error=int(data.get("server_error", 0)),
                garbage=int(data.get("garbage", 0)),
                bad_content=int(data.get("bad_content", 0)),
            )
            return json_response(start_response, 200, {"ok": True})
        if path == "/__sim/requests":
            with self.state.lock:
                if method == "DELETE":
                    self.state.requests.clear()
                return json_response(start_response, 200, list(self.state.requests))
        return json_response(start_response, 404, {"message": "Not found"})


def completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


class LlmSimulator(SimulatorServer[LlmSim]):
    def requests(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.requests)

    def reset(self) -> None:
        self.sim.hooks = Hooks()
        with self.state.lock:
            self.state.requests.clear()


def start_llm_simulator(host: str = "127.0.0.1", port: int = 0) -> LlmSimulator:
    """Serve the simulator on a daemon thread (`port=0` picks a free one); `.url`, `.hooks`,
    `.requests()`, `.reset()`, `.stop()`."""
    return LlmSimulator(LlmSim(), host, port, name="llm-sim")


def env(url: str) -> dict[str, str]:
    """The variables that point the chatbot at the simulator at `url`."""
    return {
        "CHATBOT_LLM_URL": f"{url}/v1",
        "CHATBOT_LLM_API_KEY": API_KEY,
        "CHATBOT_LLM_MODEL": MODEL,
    }


def llm_simulator_start() -> tuple[dict[str, str], LlmSimulator | None]:
    """For `zest dev`: start the simulator unless CHATBOT_LLM_URL is set already."""
    import os

    if os.environ.get("CHATBOT_LLM_URL"):
        return {}, None
    simulator = start_llm_simulator()
    return env(simulator.url), simulator


def main() -> None:
    options = command_line(__doc__ or "", port=8799).parse_args()
    running = start_llm_simulator(options.host, options.port)
    serve_until_interrupted(
        running,
        f"OpenAI-compatible Chat Completions simulator at {running.url}{COMPLETIONS}",
        "Point the chatbot at it:",
        *assignments(env(running.url), indent="  "),
    )


if __name__ == "__main__":
    main()
