"""Sum py-spy collapsed stacks (``--format raw``) per function: where a server spends its time.

    .venv/bin/python bench/profile.py bench/.profiles/*.txt [--top 30] [--match tenantry/]

Prints each function's share of all samples inclusive (anywhere on the stack) and self (on top).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--match", default="", help="only frames whose file contains this")
    args = ap.parse_args()
    inclusive: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    total = 0
    idle = 0
    for path in args.files:
        for line in open(path):
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            n = int(count)
            total += n
            frames = []
            for raw in stack.split(";"):
                m = FRAME.match(raw)
                name = f"{m['fn']} ({m['file'].split('site-packages/')[-1]})" if m else raw
                frames.append(name)
            top = frames[-1] if frames else ""
            if "select (selectors.py" in top or "_worker (concurrent/futures/thread.py" in top:
                idle += n
            self_[frames[-1]] += n
            for name in set(frames):
                if args.match in name:
                    inclusive[name] += n
    print(f"{total} samples ({idle} idle in the event loop's select or an idle pool thread)")
    print(f"{'inclusive':>9} {'self':>6}  function")
    for name, n in inclusive.most_common(args.top):
        print(f"{100 * n / total:8.1f}% {100 * self_[name] / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
