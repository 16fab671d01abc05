"""labkit.cache: a multi-layer response cache, and the arithmetic of the API's own prompt cache.

    from labkit import cache as lcache
    store = lcache.Cache("cache.db", "data/cache_config.yml")   # namespaces from YAML
    cached = lcache.wrap(labkit.client(), store)               # drop-in messages.create
    @store.memoize("research_content")                         # or cache any function
    def research(topic): ...

Modules: `config` (the YAML format), `keys` (stable keys), `memory` and `disk` (the two layers),
`layered` (namespaces over both), `sdk` (the client wrapper), `prompt` (prompt caching in `usage`).
"""

from .clock import ManualClock
from .config import CacheConfig, NamespaceConfig, load_config, load_yaml, parse_config, parse_size, parse_ttl
from .errors import CacheConfigError, CacheConfigWarning, CacheError
from .keys import canonical, key
from .layered import Cache, Namespace
from .memory import MISSING
from .sdk import CachedClient, Traced, uncacheable, wrap
from .stats import LayerStats

__all__ = ["MISSING", "Cache", "CacheConfig", "CacheConfigError", "CacheConfigWarning", "CacheError",
           "CachedClient", "LayerStats", "ManualClock", "Namespace", "NamespaceConfig", "Traced",
           "canonical", "key", "load_config", "load_yaml", "parse_config", "parse_size", "parse_ttl",
           "uncacheable", "wrap"]
