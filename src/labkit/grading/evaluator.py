"""The evaluator process: re-runs the public `labkit.checks` on answers a student's kernel exported.

    python -I -m labkit.grading.evaluator      (started by the grader through the sandbox launcher)

Why a process of its own: the answer, and the context when the instructor gives no trusted one,
come from the student's kernel. A check fed a forged context could be made to read files the
student names (then quote them in a hint) or to run for ever. Here it runs sandboxed like a kernel
(no network, no instructor/ or solutions/, limits), but on code the student never touched: a fresh
interpreter started with `-I`, not the kernel that ran the notebook.

Protocol on stdin/stdout: each request is a 4-byte big-endian length and a pickle of
`(question, answer, context)` written by the grader; each reply is one JSON line
`{"passed": bool, "message": str, "seconds": float}`. Anything a check prints goes to stderr, so it
cannot corrupt a reply. EOF on stdin ends the process.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import sys
import time
from typing import Any, BinaryIO


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    from labkit import checks

    while True:
        header = requests.read(4)
        if len(header) < 4:
            return
        (size,) = struct.unpack(">I", header)
        question, answer, context = pickle.loads(requests.read(size))
        start = time.perf_counter()
        try:
            if not isinstance(context, dict):
                context = {}
            result = checks.evaluate(question, answer, **context)
            reply: dict[str, Any] = {"passed": bool(result.passed), "message": str(result.message)}
        except Exception as exc:  # unknown question, a check that cannot take this context...
            reply = {"passed": False, "message": f"could not check this answer ({type(exc).__name__})"}
        reply["seconds"] = round(time.perf_counter() - start, 4)
        replies.write((json.dumps(reply) + "\n").encode())
        replies.flush()


def main() -> int:
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints from checks go to stderr, never into the replies
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
