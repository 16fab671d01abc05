"""Grading a class's labs headlessly, fairly and safely (`labkit grade`, `labkit bundle`).

Two phases, in two kinds of process:

1. **Execute** (`execute`, in a sandbox from `isolation`/`sandbox`): each submission runs with
   papermill in a fresh kernel — offline simulator, fixed seed, the released lab's parameters,
   secrets removed, resource limits, per-cell time limits, output caps; as root also no network, a
   read-only view of only the student's course files and a uid of its own. A failing, hanging or
   kernel-killing cell costs only its own question.
2. **Evaluate** (`evaluate`, outside the kernel): the grader reads only the answers the notebook's
   check outputs carry, re-runs the public checks in a sandboxed evaluator process against contexts
   it recomputed itself (`hidden`, `reference`), and runs the instructor's hidden checks, which are
   never on a disk a kernel can read.

Then `results` (one JSON record per submission, the gradebook CSV), `feedback` (Markdown and HTML
that respect each hidden check's visibility), `classroom` (a class on any executor, resumable) and
`bundle` (what students receive). The design and the threat model: docs/grading.md.
"""

import sys

# nbformat validates with jsonschema, which, when rfc3987_syntax is installed (Jupyter's format
# extras pull it in), builds about forty lark parsers at import: 0.9 s in every grader process and
# evaluator, for IRI formats that notebook validation never uses. Marking the module absent makes
# jsonschema skip those two formats; a process that already imported it keeps it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
