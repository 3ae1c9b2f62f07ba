"""One of several processes adding the same references at the same moment.

argv: URL START_FILE QUEUE MODE REFERENCE... (MODE "single": one create per reference;
"bulk": one bulk call with them all). Waits for START_FILE, then prints one line per
reference created ("created REF"), or "refused" lines for refusals; exit code 0.
"""

import sys
import time
from pathlib import Path

from openorch.store import DuplicateReferenceError, Store


def main() -> int:
    url, start, queue, mode, *references = sys.argv[1:]
    store = Store(url)
    store.ping()
    deadline = time.monotonic() + 60
    while not Path(start).exists():
        if time.monotonic() > deadline:
            return 3
        time.sleep(0.002)
    lines = []
    if mode == "single":
        for reference in references:
            try:
                store.create_queue_element(queue, reference, str(time.time()))
                lines.append(f"created {reference}")
            except DuplicateReferenceError:
                lines.append(f"refused {reference}")
    else:
        result = store.bulk_create_queue_elements(
            queue, references, [None] * len(references), skip_duplicates=True
        )
        lines.append(f"bulk {result.created} {len(result.skipped)}")
    print("\n".join(lines), flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
