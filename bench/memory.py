#!/usr/bin/env python3
"""Peak memory (and, for measured lengths, throughput) of one transformer
block against the sequence length for vanilla, attention-only and BPT:
`bpt bench` (python/bpt/bench.py) run from the source tree.

    bench/memory.py [--models gpt2,llama] [--budget-gib 8]
                    [--seqs 1024,4096,16384,65536] [--measure 1024,2048]
                    [--plot docs/memory.png] [--json f.json]
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

from bpt import bench  # noqa: E402

if __name__ == "__main__":
    sys.exit(bench.main(sys.argv[1:]))
