"""`python -m OpenOrchestrator ...` behaves as `python -m openorch ...`."""

import sys

from openorch.cli import main

if __name__ == "__main__":
    sys.exit(main())
