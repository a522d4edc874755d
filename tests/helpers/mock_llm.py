#!/usr/bin/env python3
"""mock_llm.py anthropic|openai --port-file FILE [--log FILE] [--script FILE] [--dump DIR]

A fake model API on 127.0.0.1 that the real Claude Code and Codex CLIs accept (Python 3 standard library
only). It binds port 0 and writes the port to --port-file once it listens (write to a temporary name, then
rename, so a reader never sees half a number). Threaded: several agents may share one mock.

Each conversation goes the same way, whatever the prompt:
  * a request whose last turn carries no tool result, and which offers a shell tool, gets ONE tool call
    running the shell command read from --script FILE (re-read on every request; else env MOCK_SHELL,
    else the default below);
  * a request that carries the tool's result (Anthropic tool_result, OpenAI function_call_output /
    custom_tool_call_output / local_shell_call output) gets a final text message "done";
  * a request offering no shell tool (titles, summaries, quota probes) gets the text "ok".
The turn is read from the request itself, never from a counter.

anthropic: POST /v1/messages (SSE when "stream": true, else JSON; the shell tool is "Bash"),
           POST /v1/messages/count_tokens, GET /v1/models[/ID]; anything else 404 (JSON error).
openai:    POST /v1/responses (SSE when "stream": true, else JSON), the shell tool being whichever the
           request offers of shell_command {command: str}, exec_command {cmd: str}, shell {command: [argv]}
           or local_shell (a local_shell_call item); GET /v1/models; anything else 404.
Paths are matched on their tail, so a base URL with or without a /v1 prefix (or any other prefix) works.

--log FILE: one JSON line per request: time, method, path, x-api-key, authorization (verbatim),
user-agent, the model asked for, what the mock answered ("reply": tool_call, final, text, models,
count_tokens, 404) and, with a final reply, the start of the tool's output ("tool_output"). --dump DIR: the full request
(headers and body) of each request as DIR/NNNN.json, for finding out what a client sends.
"""
import argparse
import itertools
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_SHELL = 'echo hi > agent.txt && git add agent.txt && git commit -qm "agent commit"'

ARGS = None
LOG_LOCK = threading.Lock()
SEQ = itertools.count(1)


def shell_command():
    if ARGS.script:
        with open(ARGS.script, encoding="utf-8") as f:
            return f.read().strip()
    return os.environ.get("MOCK_SHELL") or DEFAULT_SHELL


def log(entry):
    if not ARGS.log:
        return
    line = json.dumps(entry, sort_keys=True) + "\n"
    with LOG_LOCK:
        with open(ARGS.log, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()


def sse(events):
    """events: (name, dict) pairs; name None for OpenAI-style data-only lines is not needed: both APIs
    name their events, and Codex reads the type from the data anyway."""
    out = []
    for name, data in events:
        out.append("event: %s\ndata: %s\n\n" % (name, json.dumps(data, separators=(",", ":"))))
    return "".join(out).encode()


def newid(prefix):
    return prefix + uuid.uuid4().hex[:24]


# ---------------------------------------------------------------- Anthropic


def anthropic_has_tool_result(body):
    msgs = body.get("messages") or []
    if not msgs:
        return False
    last = msgs[-1]
    if last.get("role") != "user" or not isinstance(last.get("content"), list):
        return False
    return any(isinstance(b, dict) and b.get("type") == "tool_result" for b in last["content"])


def anthropic_blocks(body):
    """The content blocks of the reply and its stop reason, and a word for the log."""
    tools = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
    if anthropic_has_tool_result(body):
        return [{"type": "text", "text": "done"}], "end_turn", "final"
    if "Bash" in tools:
        cmd = shell_command()
        block = {"type": "tool_use", "id": newid("toolu_"), "name": "Bash",
                 "input": {"command": cmd, "description": "Run the scripted command"}}
        return [block], "tool_use", "tool_call"
    return [{"type": "text", "text": "ok"}], "end_turn", "text"


def anthropic_message(body):
    blocks, stop, kind = anthropic_blocks(body)
    msg = {"id": newid("msg_"), "type": "message", "role": "assistant",
           "model": body.get("model") or "claude-mock", "content": blocks,
           "stop_reason": stop, "stop_sequence": None,
           "usage": {"input_tokens": 10, "output_tokens": 5,
                     "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}
    return msg, kind


def anthropic_stream(msg):
    start = dict(msg, content=[], stop_reason=None,
                 usage=dict(msg["usage"], output_tokens=1))
    ev = [("message_start", {"type": "message_start", "message": start}),
          ("ping", {"type": "ping"})]
    for i, b in enumerate(msg["content"]):
        if b["type"] == "text":
            ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "text", "text": ""}}))
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "text_delta", "text": b["text"]}}))
        else:
            ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": dict(b, input={})}))
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "input_json_delta",
                                                         "partial_json": json.dumps(b["input"])}}))
        ev.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    ev.append(("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
                                 "usage": {"output_tokens": msg["usage"]["output_tokens"]}}))
    ev.append(("message_stop", {"type": "message_stop"}))
    return sse(ev)


ANTHROPIC_MODELS = ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"]


def anthropic_model(mid):
    return {"type": "model", "id": mid, "display_name": mid, "created_at": "2025-01-01T00:00:00Z"}


# ---------------------------------------------------------------- OpenAI Responses

OUTPUT_TYPES = ("function_call_output", "custom_tool_call_output", "local_shell_call_output")


def openai_has_tool_result(body):
    items = body.get("input")
    if not isinstance(items, list):
        return False
    # The result of our call is the newest thing in the input once the client has run it; a later user
    # message would mean a new turn, which again starts with a tool call.
    for it in reversed(items):
        if not isinstance(it, dict):
            continue
        t = it.get("type")
        if t in OUTPUT_TYPES:
            return True
        if t == "message" and it.get("role") == "user":
            return False
    return False


def openai_tools(body):
    """The names of the tools a request offers: in "tools", and (Codex 0.171's default models) in
    "additional_tools" input items, both possibly grouped in namespaces."""
    names = set()

    def walk(tools):
        for t in tools or []:
            if isinstance(t, dict):
                names.add(t.get("name") or t.get("type"))
                walk(t.get("tools"))
    walk(body.get("tools"))
    for it in body.get("input") if isinstance(body.get("input"), list) else []:
        if isinstance(it, dict) and it.get("type") == "additional_tools":
            walk(it.get("tools"))
    return names


def openai_item(body):
    """The one output item of the reply, and a word for the log."""
    tools = openai_tools(body)
    if openai_has_tool_result(body):
        return {"type": "message", "id": newid("msg_"), "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": "done", "annotations": []}]}, "final"
    cmd = shell_command()
    call = {"id": newid("fc_"), "call_id": newid("call_"), "status": "completed"}
    if "shell_command" in tools:
        return dict(call, type="function_call", name="shell_command",
                    arguments=json.dumps({"command": cmd})), "tool_call"
    if "exec_command" in tools:
        return dict(call, type="function_call", name="exec_command",
                    arguments=json.dumps({"cmd": cmd})), "tool_call"
    if "shell" in tools:
        return dict(call, type="function_call", name="shell",
                    arguments=json.dumps({"command": ["bash", "-lc", cmd]})), "tool_call"
    if "local_shell" in tools:
        return dict(call, type="local_shell_call",
                    action={"type": "exec", "command": ["bash", "-lc", cmd]}), "tool_call"
    if "exec" in tools:  # code mode: JavaScript in Codex's V8 host, which reaches exec_command
        src = "const r = await tools.exec_command({cmd: %s});\ntext(r);\n" % json.dumps(cmd)
        return dict(call, type="custom_tool_call", name="exec", input=src), "tool_call"
    return {"type": "message", "id": newid("msg_"), "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": "ok", "annotations": []}]}, "text"


def openai_response(body, item, status):
    return {"id": body.get("_rid"), "object": "response", "created_at": int(time.time()),
            "status": status, "model": body.get("model") or "gpt-mock",
            "output": [item] if status == "completed" else [],
            "usage": {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": 15}}


def openai_stream(body, item):
    seq = itertools.count()
    ev = []

    def add(name, data):
        data = dict(type=name, sequence_number=next(seq), **data)
        ev.append((name, data))

    add("response.created", {"response": openai_response(body, item, "in_progress")})
    add("response.in_progress", {"response": openai_response(body, item, "in_progress")})
    if item["type"] == "message":
        text = item["content"][0]["text"]
        add("response.output_item.added",
            {"output_index": 0, "item": dict(item, status="in_progress", content=[])})
        add("response.content_part.added",
            {"item_id": item["id"], "output_index": 0, "content_index": 0,
             "part": {"type": "output_text", "text": "", "annotations": []}})
        add("response.output_text.delta",
            {"item_id": item["id"], "output_index": 0, "content_index": 0, "delta": text})
        add("response.output_text.done",
            {"item_id": item["id"], "output_index": 0, "content_index": 0, "text": text})
        add("response.content_part.done",
            {"item_id": item["id"], "output_index": 0, "content_index": 0,
             "part": item["content"][0]})
    elif item["type"] == "function_call":
        add("response.output_item.added",
            {"output_index": 0, "item": dict(item, status="in_progress", arguments="")})
        add("response.function_call_arguments.delta",
            {"item_id": item["id"], "output_index": 0, "delta": item["arguments"]})
        add("response.function_call_arguments.done",
            {"item_id": item["id"], "output_index": 0, "arguments": item["arguments"]})
    else:
        add("response.output_item.added", {"output_index": 0, "item": item})
    add("response.output_item.done", {"output_index": 0, "item": item})
    add("response.completed", {"response": openai_response(body, item, "completed")})
    return sse(ev)


def tool_output(body):
    """The text of the newest tool result in a request (for the log), or None."""
    def text(c):
        if isinstance(c, str):
            return c
        if isinstance(c, list):
            return "".join(text(x.get("text") or x.get("content") or "") if isinstance(x, dict)
                           else str(x) for x in c)
        return "" if c is None else json.dumps(c)
    if ARGS.api == "anthropic":
        msgs = body.get("messages") or []
        if anthropic_has_tool_result(body):
            for b in msgs[-1]["content"]:
                if isinstance(b, dict) and b.get("type") == "tool_result":
                    return text(b.get("content"))
        return None
    if openai_has_tool_result(body):
        for it in reversed(body["input"]):
            if isinstance(it, dict) and it.get("type") in OUTPUT_TYPES:
                return text(it.get("output"))
    return None


# ---------------------------------------------------------------- HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock_llm/1"

    def log_message(self, fmt, *a):  # quiet: --log is the record
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw and "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            raw = b"".join(chunks)
        return raw

    def send(self, code, data, ctype="application/json"):
        if not isinstance(data, bytes):
            data = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if ctype == "text/event-stream":
            self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        raw = self.body()
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        n = next(SEQ)
        if ARGS.dump:
            with open(os.path.join(ARGS.dump, "%04d.json" % n), "w", encoding="utf-8") as f:
                json.dump({"method": self.command, "path": self.path,
                           "headers": dict(self.headers.items()),
                           "body": body if raw and body else raw.decode("utf-8", "replace")},
                          f, indent=1)
        try:
            code, data, ctype, reply = route(self.command, path, body)
        except Exception as e:  # a bug here must show, not hang the client
            code, data, ctype, reply = 500, {"error": {"type": "mock_error", "message": repr(e)}}, \
                "application/json", "error"
        log({"n": n, "time": round(time.time(), 3), "api": ARGS.api, "method": self.command,
             "path": self.path, "x-api-key": self.headers.get("x-api-key"),
             "authorization": self.headers.get("authorization"),
             "user-agent": self.headers.get("user-agent"), "model": body.get("model"),
             "stream": body.get("stream"), "status": code, "reply": reply,
             "tool_output": (tool_output(body) or "")[:500] if reply == "final" else None})
        self.send(code, data, ctype)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


def not_found(path):
    if ARGS.api == "anthropic":
        return 404, {"type": "error", "error": {"type": "not_found_error",
                                                "message": "mock_llm: no %s" % path}}, \
            "application/json", "404"
    return 404, {"error": {"type": "invalid_request_error", "code": "not_found",
                           "message": "mock_llm: no %s" % path, "param": None}}, \
        "application/json", "404"


def route(method, path, body):
    if ARGS.api == "anthropic":
        if method == "POST" and path.endswith("/messages/count_tokens"):
            return 200, {"input_tokens": 100}, "application/json", "count_tokens"
        if method == "POST" and path.endswith("/messages"):
            msg, kind = anthropic_message(body)
            if body.get("stream"):
                return 200, anthropic_stream(msg), "text/event-stream", kind
            return 200, msg, "application/json", kind
        if method == "GET" and path.endswith("/models"):
            data = [anthropic_model(m) for m in ANTHROPIC_MODELS]
            return 200, {"data": data, "has_more": False, "first_id": data[0]["id"],
                         "last_id": data[-1]["id"]}, "application/json", "models"
        if method == "GET" and "/models/" in path:
            return 200, anthropic_model(path.rsplit("/", 1)[1]), "application/json", "model"
        return not_found(path)
    if method == "POST" and path.endswith("/responses"):
        body["_rid"] = newid("resp_")
        item, kind = openai_item(body)
        if body.get("stream"):
            return 200, openai_stream(body, item), "text/event-stream", kind
        return 200, openai_response(body, item, "completed"), "application/json", kind
    if method == "GET" and path.endswith("/models"):
        return 200, {"object": "list", "data": [
            {"id": "gpt-5", "object": "model", "created": 0, "owned_by": "mock"}]}, \
            "application/json", "models"
    return not_found(path)


def main():
    global ARGS
    p = argparse.ArgumentParser(description="a fake Anthropic / OpenAI Responses API for tests")
    p.add_argument("api", choices=["anthropic", "openai"])
    p.add_argument("--port-file", required=True)
    p.add_argument("--log")
    p.add_argument("--script")
    p.add_argument("--dump")
    ARGS = p.parse_args()
    if ARGS.dump:
        os.makedirs(ARGS.dump, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, ARGS.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
