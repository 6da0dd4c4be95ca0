"""The cashier's Textual UI. Talks only to the till's services; nothing imports it.

Textual paints at most 60 frames a second by default, so a scanned line could wait up to ~17 ms for
its frame on top of the work itself (benchmarks/bench_scan.py). Textual paints only when something
changed, so a higher cap costs nothing while the till is idle. It is read when Textual is first
imported: this package sets it before, unless the environment already does.
"""

import os

os.environ.setdefault("TEXTUAL_FPS", "240")
