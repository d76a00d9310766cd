"""A progress bar for long commands, written to standard error so that it never mixes
with a command's output."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str = "", stream=None, width: int = 30):
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.done = 0
        self.started = time.monotonic()
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self, what: str = "", n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        filled = int(self.width * self.done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"{self.label} [{bar}] {self.done}/{self.total} {what}"
        if self.interactive:
            self.stream.write("\r\033[K" + line)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> float:
        if self.interactive and self.done < self.total:
            self.stream.write("\n")
        return time.monotonic() - self.started
