"""How the Python process that runs aims-graph (the `aims` command, the service) is set up."""

from __future__ import annotations

import gc

# Python's cycle collector looks at new objects after every 700 made, and at all of them every
# 100 such looks. A query's rows are millions of objects, none in a cycle: at 1,000 systems the
# workbook export spent a third of its time in the collector (3.2 s, 2.1 s with these numbers).
YOUNG_OBJECTS, YOUNG_LOOKS, MIDDLE_LOOKS = 50_000, 20, 10


def collect_cycles_less_often() -> None:
    gc.set_threshold(YOUNG_OBJECTS, YOUNG_LOOKS, MIDDLE_LOOKS)
