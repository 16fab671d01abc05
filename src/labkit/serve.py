"""`labkit serve`: the offline simulated Claude API as an HTTP server on localhost.

Point any client at it with `ANTHROPIC_BASE_URL`; it answers every route the in-process simulator
answers (Messages, streaming, batches, ...), with the same seed and rate-limit tier. The time scale
paces the simulated clock in real time: a client in another process cannot be seen waiting, so a
pause of `time_scale` x each modelled wait is what lets its concurrent requests overlap (0: answer
at once, for a client that sends one request at a time). `--script FILE` plays a session script
(`labkit.sim.script`): its turns answer the requests they match, the simulator the rest.
"""

from __future__ import annotations

import argparse
import os
import secrets

from . import config
from .clock import SimClock
from .errors import ConfigError
from .sim import SimAPI
from .sim.script import Script
from .sim.server import SimHTTPServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on, 0 for any free one (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=None,
                        help="simulator seed (default: LABKIT_SEED, else 0); with either, ids are reproducible, "
                             "without, each server makes its own")
    parser.add_argument("--time-scale", type=float, default=None,
                        help="real seconds per simulated second of waiting (default: LABKIT_TIME_SCALE, else "
                             "0.01; 1 = real pace; 0 = at once)")
    parser.add_argument("--tier", default=None,
                        help="rate-limit tier from data/models.yaml, e.g. tier1 (default: the file's default tier)")
    parser.add_argument("--script", default=None, metavar="FILE",
                        help="a session script (YAML) whose turns answer the requests they match "
                             "(docs/simulator.md, \"Scripted sessions\")")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")


def main(args: argparse.Namespace) -> int:
    cfg = config.configure(backend="sim", seed=args.seed, time_scale=args.time_scale)
    script = Script.load(args.script) if args.script else None  # a bad script fails before listening
    clock = SimClock(cfg.time_scale, include_creator=False)  # handler threads do the waiting
    # Two servers started the same way must not hand out the same message ids (a client's log or
    # cache keyed by id would mix them up), unless the user pins the seed to reproduce a session.
    pinned = args.seed is not None or bool(os.environ.get(config.ENV_SEED))
    api = SimAPI(seed=cfg.seed, data_dir=cfg.data_dir, clock=clock, tier=args.tier, script=script,
                 id_salt="" if pinned else secrets.token_hex(8))
    try:
        server = SimHTTPServer(api, args.host, args.port, verbose=args.verbose)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.host}:{args.port} ({exc.strerror}); choose another "
                          "--port, or 0 for any free one") from None
    scripted = (f"; scripted by {script.source}: {len(script.turns)} turns, unmatched requests get the "
                f"{script.fallback}" if script else "")
    print(f"labkit serve: simulated Claude API on {server.url} (seed {cfg.seed}, time scale "
          f"{cfg.time_scale:g}, rate-limit tier {api.limits.tier.name}{scripted}).\n"
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
