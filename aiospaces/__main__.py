"""`python -m aiospaces`: the same as the `aiospaces` console script."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":  # importing the module (e.g. walking the package) runs nothing
    sys.exit(main())
