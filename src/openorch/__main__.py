"""`python -m openorch ...` runs the openorch command."""

import sys

from openorch.cli import main

if __name__ == "__main__":
    sys.exit(main())
