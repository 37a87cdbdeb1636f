"""A database of recorded runs shared by the history tests of one module (read-only there)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
