"""Helpers the suite's blocking tests share (lists, sorted sets)."""
from __future__ import annotations

import re
import time

import pytest


def wait_until_blocked(observer, count: int, timeout: float = 30.0) -> None:
    """Poll CLIENT LIST until `count` clients are blocked (flag b)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listing = observer.call("CLIENT", "LIST")
        text = listing.decode() if isinstance(listing, bytes) else str(listing)
        if len(re.findall(r"\bflags=\S*b", text)) >= count:
            return
        time.sleep(0.01)
    pytest.fail(f"{count} clients never got blocked")
