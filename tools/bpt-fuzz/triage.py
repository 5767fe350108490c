"""Sorts the inputs libFuzzer saved (crash-*, timeout-*, oom-*) into findings
in bpt-mlir's own code and findings in the upstream MLIR libraries.

Each artifact is run again through bpt-fuzz; its report is ours when a stack
frame points into this repository's lib/ or include/, or when bpt-fuzz itself
reports a pass that succeeded leaving invalid IR. Reports are grouped by their
first frame. Exit status 1 when any finding is ours.

    python tools/bpt-fuzz/triage.py BUILD_DIR
"""

import collections
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (.+?)(?: (/\S+|\S+\.cpp\S*))?(?: \(.*)?$")


def classify(report):
    frames = [m for m in (FRAME.match(l) for l in report.splitlines()) if m]
    top = [m for m in frames
           if not re.search(r"__asan|__sanitizer|__ubsan|abort|raise|libc", m.group(1))]
    # The crash site: a bug of ours shows in the innermost frames (an
    # upstream accessor our code called at most a few frames deep); deeper
    # frames of ours are only callers (our ops parse regions with the
    # upstream parser).
    top = top[:4]
    ours = "bpt-fuzz finding: " in report or any(
        m.group(2) and str(ROOT) in m.group(2) and "/tools/bpt-fuzz/" not in m.group(2)
        for m in top)
    key = top[0].group(1) if top else report.strip().splitlines()[-1:] or "?"
    kind = re.search(r"(SEGV|heap-use-after-free|heap-buffer-overflow|"
                     r"stack-overflow|stack-buffer-overflow|ALARM|timeout|"
                     r"out-of-memory|does not verify|runtime error)", report)
    return ours, str(key)[:160], kind.group(1) if kind else "crash"


def main():
    build = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build-fuzz")
    artifacts = sorted((build / "artifacts").glob("*-*"))
    env = dict(os.environ,
               ASAN_OPTIONS="detect_leaks=0:allow_user_poisoning=0:symbolize=1",
               ASAN_SYMBOLIZER_PATH="/usr/lib/llvm-22/bin/llvm-symbolizer")
    groups = collections.OrderedDict()
    for art in artifacts:
        r = subprocess.run([str(build / "bin" / "bpt-fuzz"), "-timeout=60",
                            "-rss_limit_mb=6144", str(art)],
                           capture_output=True, text=True, env=env, timeout=600)
        if r.returncode == 0:
            groups.setdefault((False, "does not reproduce", "-"), []).append(art)
            continue
        groups.setdefault(classify(r.stdout + r.stderr), []).append(art)
    ours = 0
    print(f"[triage] {len(artifacts)} saved inputs, {len(groups)} distinct reports")
    for (mine, key, kind), arts in groups.items():
        ours += mine
        where = "bpt-mlir" if mine else "upstream"
        print(f"  {where:8} {kind:20} {len(arts):4}x  {key}")
        print(f"           e.g. {arts[0]}")
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main())
