"""Run one piece of code on a Jupyter kernel and wait, with a deadline, an output cap and a liveness check.

Used by the grader for both kernels (the student's sandboxed one and its own trusted one) and by the
trusted kernel to call the student's functions. The status of a run is the kernel's ``execute_reply``,
never what the code printed; outputs are counted (a flood stops the run) and only the display data of
one MIME type is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import zmq

MAX_MESSAGE = 48 << 20   # bytes of one message accepted from a kernel (zmq drops the peer beyond it)


def context() -> zmq.Context:
    """A zmq context whose sockets refuse oversized messages (a kernel cannot exhaust our memory)."""
    ctx = zmq.Context()
    ctx.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
    return ctx


@dataclass
class Outcome:
    status: str                  # "ok", "error", "timeout", "dead", "flood", "abort"
    ename: str = ""
    evalue: str = ""
    traceback: list = field(default_factory=list)
    data: list = field(default_factory=list)    # kept display data (of the ``keep`` MIME type)
    user_expressions: dict = field(default_factory=dict)
    output_bytes: int = 0


def _size(content: dict) -> int:
    n = 0
    for key in ("text", "data", "traceback", "evalue"):
        v = content.get(key)
        if isinstance(v, str):
            n += len(v)
        elif isinstance(v, dict):
            n += sum(len(x) if isinstance(x, str) else 64 for x in v.values())
        elif isinstance(v, list):
            n += sum(len(x) if isinstance(x, str) else 64 for x in v)
    return n + 64


def run(client, code: str, timeout: float, *, allow_stdin: bool = False, on_stdin=None, alive=None,
        max_output: int = 8 << 20, keep: str | None = None, user_expressions=None,
        store_history: bool = True) -> Outcome:
    """Execute ``code`` on ``client``'s kernel and wait for its reply (and its outputs)."""
    msg_id = client.execute(code, store_history=store_history, allow_stdin=allow_stdin, stop_on_error=False,
                            user_expressions=user_expressions or {})
    deadline = time.monotonic() + timeout
    poller = zmq.Poller()
    sockets = {client.shell_channel.socket: "shell", client.iopub_channel.socket: "iopub"}
    if allow_stdin:
        sockets[client.stdin_channel.socket] = "stdin"
    for s in sockets:
        poller.register(s, zmq.POLLIN)
    out = Outcome("abort")
    reply, idle, grace = None, False, None
    while not (reply is not None and (idle or time.monotonic() > grace)):
        left = deadline - time.monotonic()
        if left <= 0:
            out.status = "timeout"
            return out
        ready = dict(poller.poll(int(1000 * min(left, 0.25))))
        if not ready:
            if alive is not None and not alive():
                out.status = "dead"
                return out
            continue
        for sock in ready:
            kind = sockets[sock]
            channel = {"shell": client.shell_channel, "iopub": client.iopub_channel,
                       "stdin": client.stdin_channel}[kind]
            while channel.msg_ready():
                try:
                    msg = channel.get_msg(timeout=0)
                except Exception:  # a malformed or badly signed message: dropped
                    continue
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                content, mtype = msg.get("content", {}), msg.get("msg_type")
                if kind == "shell" and mtype == "execute_reply":
                    reply, grace = content, time.monotonic() + 2.0
                elif kind == "stdin" and mtype == "input_request":
                    client.input(on_stdin(str(content.get("prompt", ""))) if on_stdin else "")
                elif kind == "iopub":
                    if mtype == "status" and content.get("execution_state") == "idle":
                        idle = True
                        continue
                    out.output_bytes += _size(content)
                    if out.output_bytes > max_output:
                        out.status = "flood"
                        return out
                    if keep and mtype in ("display_data", "execute_result"):
                        data = content.get("data", {})
                        if keep in data:
                            out.data = [data[keep]]  # the last one counts
    out.status = reply.get("status", "error")
    if out.status == "error":
        out.ename, out.evalue = str(reply.get("ename", "")), str(reply.get("evalue", ""))
        out.traceback = [str(t) for t in reply.get("traceback", [])][:50]
    out.user_expressions = reply.get("user_expressions", {}) or {}
    return out
