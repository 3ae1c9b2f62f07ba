"""An SDK program for the local-mode soak test:
`soak_writer.py NAME CONN KEY ACKS STOP ROUNDS`.

For ROUNDS rounds, or until the file STOP exists, it logs, and every fifth round adds a
bulk of ten elements to the queue `soak` (which the Scheduler's robots drain); then it
closes its connection and exits (the test starts the next one). Each write goes to the
file ACKS only after the call returned (what the program was told is saved). It prints
its slowest write in seconds (a busy database waits instead of failing).
"""

import sys
import time
from pathlib import Path

from openorch import OrchestratorConnection


def main() -> int:
    name, conn, key, acks_path, stop, rounds = sys.argv[1:7]
    oc = OrchestratorConnection(name, conn, key, "")
    round_number = 0
    slowest = 0.0
    with Path(acks_path).open("a", encoding="utf-8") as acks:

        def ack(kind: str, value: str) -> None:
            acks.write(f"{kind}\t{value}\n")
            acks.flush()

        while round_number < int(rounds) and not Path(stop).exists():
            started = time.monotonic()
            message = f"{name} round {round_number}"
            oc.log_info(message)
            ack("log", message)
            if round_number % 5 == 0:
                references = [f"{name}-{round_number}-{n}" for n in range(10)]
                oc.bulk_create_queue_elements("soak", references, ["{}"] * 10, created_by=name)
                for reference in references:
                    ack("element", reference)
            slowest = max(slowest, time.monotonic() - started)
            round_number += 1
            time.sleep(0.05)
    oc.close()
    print(f"{slowest:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
