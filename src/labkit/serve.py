"""`labkit serve`: the offline simulated Claude API as an HTTP server on localhost.

Point any client at it with `ANTHROPIC_BASE_URL`; it answers every route the in-process simulator
answers (Messages, streaming, batches, ...), with the same seed and rate-limit tier. The time scale
paces the simulated clock in real time: a client in another process cannot be seen waiting, so a
pause of `time_scale` x each modelled wait is what lets its concurrent requests overlap (0: answer
at once, for a client that sends one request at a time).
"""

from __future__ import annotations

import argparse

from . import config
from .clock import SimClock
from .errors import ConfigError
from .sim import SimAPI
from .sim.server import SimHTTPServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on, 0 for any free one (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="simulator seed (default: LABKIT_SEED, else 0)")
    parser.add_argument("--time-scale", type=float, default=None,
                        help="real seconds per simulated second of waiting (default: LABKIT_TIME_SCALE, else "
                             "0.01; 1 = real pace; 0 = at once)")
    parser.add_argument("--tier", default=None,
                        help="rate-limit tier from data/models.yaml, e.g. tier1 (default: the file's default tier)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")


def main(args: argparse.Namespace) -> int:
    cfg = config.configure(backend="sim", seed=args.seed, time_scale=args.time_scale)
    clock = SimClock(cfg.time_scale, include_creator=False)  # handler threads do the waiting
    api = SimAPI(seed=cfg.seed, data_dir=cfg.data_dir, clock=clock, tier=args.tier)
    try:
        server = SimHTTPServer(api, args.host, args.port, verbose=args.verbose)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.host}:{args.port} ({exc.strerror}); choose another "
                          "--port, or 0 for any free one") from None
    print(f"labkit serve: simulated Claude API on {server.url} (seed {cfg.seed}, time scale "
          f"{cfg.time_scale:g}, rate-limit tier {api.limits.tier.name}).\n"
          f"Point a client at it: ANTHROPIC_BASE_URL={server.url} (with any non-empty API key: the "
          "simulator checks that one is sent, never which)\n"
          "Press Ctrl-C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("labkit serve: stopped", flush=True)
    finally:
        server.server_close()
    return 0
