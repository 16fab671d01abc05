"""The simulated Claude API: its state, and routing each request to an endpoint.

One `SimAPI` plays the role of the whole service for a process: the prompt cache, batches and rate
limits are shared by every client, as on the real service. It is thread-safe: the parallel lessons
call it from many threads and event loops at once.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import models, tokens
from ..clock import SimClock
from ..errors import ConfigError
from . import batches, content, endpoints, messages, validation
from .batches import BatchStore
from .caching import PromptCache
from .diagnosis import Fingerprints
from .faults import Faults
from .limits import OrganisationLimits
from .script import Script, Session
from .wire import APIError, SimRequest, SimResponse, error_response, make_id

Handler = Callable[["SimAPI", SimRequest, re.Match[str], str], SimResponse]

# (method, path pattern, handler). Each endpoint module adds its own rows.
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("POST", re.compile(r"/v1/messages"), messages.handle),
    ("POST", re.compile(r"/v1/messages/count_tokens"), endpoints.count_tokens),
    ("GET", re.compile(r"/v1/models"), endpoints.list_models),
    ("GET", re.compile(r"/v1/models/(?P<model_id>[^/]+)"), endpoints.get_model),
    *batches.ROUTES,
]


class SimAPI:
    def __init__(self, seed: int, data_dir: Path, *, clock: SimClock | None = None, tier: str | None = None,
                 min_cacheable_tokens: int | None = None, require_key: bool = True,
                 script: Script | None = None, id_salt: str = "") -> None:
        """`clock`: the simulated clock its callers wait on (default: a new one, unpaced); `tier`:
        the rate-limit tier from data/models.yaml (None: its default, generous enough that lessons
        never meet a 429); `min_cacheable_tokens`: one minimum cacheable prefix for every model
        instead of each model's figure; `require_key`: answer 401 to a request without an
        `x-api-key` or `Authorization: Bearer` key, as the real API does; `script`: a session script
        (`labkit serve --script`) whose matching turns answer Messages requests, played from its
        first turn by this simulator; `id_salt`: mixed into every id, so that two servers with the
        same seed do not hand out the same ids (`labkit serve` passes a random one unless `--seed`
        is given); empty, ids depend only on the seed and the requests."""
        self.seed = seed
        self.id_salt = id_salt
        self.data_dir = data_dir
        self.require_key = require_key
        self.clock = clock if clock is not None else SimClock()
        self.catalog = models.catalog(data_dir / "models.yaml")
        self.corpus = content.load_corpus(data_dir / "corpus" / "topics.yaml")
        tokens.bpe_count("load the tokenizer now, not inside the first (timed) request")
        self.prompt_cache = PromptCache(min_cacheable_tokens)
        self.limits = OrganisationLimits(self.catalog, tier)
        self.faults = Faults(seed, self.catalog.timeout_after_s)
        self.batches = BatchStore(self.catalog.batches)
        self.fingerprints = Fingerprints()
        self.script = Session(script) if script is not None else None
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        self._requests = 0

    def profile(self, model: str) -> models.ModelProfile:
        try:
            return self.catalog.get(model)
        except ConfigError:
            raise APIError(404, f"model: {model}") from None

    def new_id(self, prefix: str, *parts: Any) -> str:
        """An id shaped like the API's (`wire.make_id`) from the seed, the salt and `parts`."""
        salt = (self.id_salt,) if self.id_salt else ()
        return make_id(prefix, *salt, self.seed, *parts)

    def occurrence(self, key: Any) -> int:
        """How many times an identical request has been seen (for distinct, deterministic ids)."""
        digest = repr(key)
        with self._lock:
            self._seen[digest] += 1
            return self._seen[digest]

    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one request, turning any API error into the API's error response."""
        with self._lock:
            self._requests += 1
            request_id = self.new_id("req", self._requests)
        try:
            validation.check_request(request, self.require_key)
            fault = self.faults.before(request)
            return self.faults.after(fault, self._route(request, request_id))
        except APIError as error:
            response = error_response(error, request_id)
            response.latency = getattr(error, "latency", 0.0)  # a timeout fault arrives late
            return response

    def _route(self, request: SimRequest, request_id: str) -> SimResponse:
        path = request.path.rstrip("/") or "/"
        for method, pattern, handler in ROUTES:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                return handler(self, request, match, request_id)
        raise APIError(404, f"{request.method} {request.path} is not an endpoint of this simulator")
