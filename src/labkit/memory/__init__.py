"""Memory management for agent sessions: track the context window, compact it, load memory by tier.

- `ContextTracker` (tracker.py): tokens per request against the model's window (from
  `data/models.yaml`), or a smaller budget inside it, and the compaction trigger (default 75%).
- `compact` (compaction.py): a real summarising call that replaces the conversation, as `/compact` does.
- `MemoryStore` (tiers.py): hierarchical memory — always loaded, task, and background on demand.
- `efficiency` (efficiency.py): **context efficiency**, defined precisely: for each request, the
  tokens of the distinct sentences in its context that the session still needs (the brief, the
  instruction, and whatever this or a later step reads), divided by all the sentence tokens in its
  context; token-weighted over a workload. It is always reported with **kept**, the share of each
  step's own inputs still in its context, because throwing context away raises efficiency too.
  The guide never defines "context efficiency": its 0.85 is unmeasured, and its hooks measure `wc -c`
  bytes of memory files, which are not tokens in the window.
- `podcast()` (workload.py): three scripted, deterministic work sessions of the podcast team.
- `run()` (sessions.py): play a workload under a `Policy` and measure every request.
"""

from .compaction import Compaction, compact
from .efficiency import Measure, measure, total
from .sessions import AUTOMATED, HIERARCHY_ONLY, NO_AUTOMATION, Policy, Run, Step, run
from .tiers import ALWAYS, BACKGROUND, TASK, MemoryItem, MemoryStore
from .tracker import DEFAULT_THRESHOLD, ContextError, ContextTracker, usage_tokens
from .workload import Session, Turn, Workload, podcast

__all__ = ["ALWAYS", "AUTOMATED", "BACKGROUND", "Compaction", "ContextError", "ContextTracker",
           "DEFAULT_THRESHOLD", "HIERARCHY_ONLY", "Measure", "MemoryItem", "MemoryStore", "NO_AUTOMATION",
           "Policy", "Run", "Session", "Step", "TASK", "Turn", "Workload", "compact", "measure", "podcast",
           "run", "total", "usage_tokens"]
