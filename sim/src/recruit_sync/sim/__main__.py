"""Zoho Recruit API simulator: `python -m recruit_sync.sim --data FILE --port P --generate N`."""

from __future__ import annotations

import argparse
import sys

from recruit_sync.sim.data import DataFileError
from recruit_sync.sim.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recruit_sync.sim", description=__doc__)
    parser.add_argument("--data", metavar="FILE", help="simulator data file (JSON)")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--generate", type=int, default=0, metavar="N", help="add N synthetic candidates")
    args = parser.parse_args(argv)
    if args.generate < 0:
        parser.error("--generate must be >= 0")
    try:
        serve(args.data, port=args.port, generate=args.generate, host=args.host)
    except DataFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
