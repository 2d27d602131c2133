#!/usr/bin/env python3
"""Fake Ollama/OpenAI server for the `corral probe` tests: known delays, errors and outputs.

Timing (ms): the first generation pays LOAD_MS (reported as load_duration); every generation pays
prefill = PREFILL_BASE_MS + PREFILL_MS_PER_CHAR * len(prompt) before its first token, then TOKEN_MS
per further token. One lock serialises generations (one "GPU"), so concurrent calls queue.
Outputs depend on the prompt (see reply_for). Injected faults: --fail-every K answers every K-th
generation with HTTP 500; --die-after N exits the process when generation N+1 arrives.
Prints the port it listens on as the first stdout line. Standard library only.
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOAD_MS = 300
PREFILL_BASE_MS = 20
PREFILL_MS_PER_CHAR = 0.1
TOKEN_MS = 10
MODELS = {"fake", "judge"}

STRUCT_FREE = [
    '{"name": "Ada", "age": 36}',                                          # valid
    'Sure! Here is the JSON:\n{"name": "Ada", "age": 36}\nHope this helps.',  # prose around
    '{"name": "Ada", "age": 36, "city": "Paris"}',                         # extra field
    'name: Ada, age: 36',                                                  # unparseable
]
VARIATION = [
    "The cat sat on the mat.",
    "A cat naps in the sun.",
    "Cats chase red dots forever.",
    "My cat ignores me.",
    "The grey cat watched the rain.",
]
VAGUE = {
    "Judge whether this plan is reasonable.": "Could you share the plan? I need more details to judge it.",
    "Is this approach good enough for production?": "Assuming a typical web service, it is generally fine.",
    "Fix the bug in my function.": "The bug is the off-by-one in the loop over users; change <= to <.",
}

state = {"gen": 0, "loaded": False, "struct": 0, "var": 0}
state_lock = threading.Lock()
gpu = threading.Lock()
args = None


def reply_for(model, prompt, fmt, seed):
    if model == "judge":
        return json.dumps({"verdict": "states_assumptions", "reason": "fake judge"})
    if "JSON object with name and age" in prompt:
        if fmt is not None:
            return '{"name": "Ada", "age": 36}'
        with state_lock:
            i = state["struct"]
            state["struct"] += 1
        return STRUCT_FREE[i % len(STRUCT_FREE)]
    if "about a cat" in prompt:
        if seed is not None:
            return VARIATION[seed % len(VARIATION)]
        with state_lock:
            i = state["var"]
            state["var"] += 1
        return VARIATION[i % len(VARIATION)]
    if prompt in VAGUE:
        return VAGUE[prompt]
    return None  # latency prompts: num_predict tokens of "tok"


def pieces_of(text, num_predict):
    if text is None:
        return ["tok "] * num_predict
    # Two characters per chunk: several chunks, reassembled exactly.
    return [text[i:i + 2] for i in range(0, len(text), 2)] or [""]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return json.loads(self.rfile.read(n) or b"{}")

    def do_GET(self):
        if self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in sorted(MODELS)]})
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self):
        req = self.body()
        if self.path == "/api/show":
            if req.get("model") in MODELS:
                self.send_json(200, {"details": {"family": "fake"}})
            else:
                self.send_json(404, {"error": f"model '{req.get('model')}' not found"})
            return
        if self.path not in ("/api/chat", "/v1/chat/completions"):
            self.send_json(404, {"error": "not found"})
            return
        openai = self.path.startswith("/v1")
        model = req.get("model")
        if model not in MODELS:
            self.send_json(404, {"error": f"model '{model}' not found"})
            return
        with state_lock:
            state["gen"] += 1
            n = state["gen"]
        if args.die_after and n > args.die_after:
            os._exit(0)
        if args.fail_every and n % args.fail_every == 0:
            self.send_json(500, {"error": "injected failure"})
            return
        prompt = req["messages"][-1]["content"]
        if openai:
            num_predict = req.get("max_tokens", 8)
            seed = req.get("seed")
            fmt = req.get("response_format")
        else:
            opts = req.get("options", {})
            num_predict = opts.get("num_predict", 8)
            seed = opts.get("seed")
            fmt = req.get("format")
        text = reply_for(model, prompt, fmt, seed)
        chunks = pieces_of(text, num_predict)
        t_arrive = time.monotonic()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if openai else "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def emit(obj):
            line = ("data: " + json.dumps(obj) + "\n\n") if openai else (json.dumps(obj) + "\n")
            data = line.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        with gpu:
            load_ms = 0
            with state_lock:
                if not state["loaded"]:
                    state["loaded"] = True
                    load_ms = LOAD_MS
            time.sleep(load_ms / 1000)
            prefill_ms = PREFILL_BASE_MS + PREFILL_MS_PER_CHAR * len(prompt)
            time.sleep(prefill_ms / 1000)
            t_eval = time.monotonic()
            for i, piece in enumerate(chunks):
                if i > 0:
                    time.sleep(TOKEN_MS / 1000)
                if openai:
                    emit({"object": "chat.completion.chunk", "model": model,
                          "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
                else:
                    emit({"model": model, "message": {"role": "assistant", "content": piece}, "done": False})
            eval_ms = (time.monotonic() - t_eval) * 1000
        total_ns = int((time.monotonic() - t_arrive) * 1e9)
        if openai:
            emit({"object": "chat.completion.chunk", "model": model,
                  "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": len(chunks)}})
            data = b"data: [DONE]\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            emit({"model": model, "message": {"role": "assistant", "content": ""}, "done": True,
                  "total_duration": total_ns, "load_duration": int(load_ms * 1e6),
                  "prompt_eval_count": len(prompt.split()), "prompt_eval_duration": int(prefill_ms * 1e6),
                  "eval_count": len(chunks), "eval_duration": int(eval_ms * 1e6)})
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--fail-every", type=int, default=0)
    p.add_argument("--die-after", type=int, default=0)
    args = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
