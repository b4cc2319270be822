"""`python -m aiospaces`: the same as the `aiospaces` console script."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
