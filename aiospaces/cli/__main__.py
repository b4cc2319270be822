"""`python -m aiospaces.cli`: the same as the `aiospaces` console script."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())
