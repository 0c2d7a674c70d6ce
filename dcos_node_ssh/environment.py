"""What a command may touch of the world outside its arguments: the environment variables,
the home folder, the three standard streams, and the noun it was reached by. Tests
replace it, to run the whole CLI in-process (`app.main(argv, environment)`).
"""

import os
import sys
from typing import Mapping, NamedTuple, Optional, TextIO


class OutputClosed(Exception):
    """Standard output cannot be written (closed, or a full disk)."""


class Output:
    """A standard stream as the commands see it. Text a terminal cannot encode is
    escaped rather than fatal; a closed stdout is an error the user can act on, a
    closed stderr loses diagnostics only (ssh still runs, as plain ssh does)."""

    def __init__(self, stream: Optional[TextIO], required: bool):
        if stream is not None:
            try:
                stream.reconfigure(errors="backslashreplace")  # type: ignore[attr-defined]
            except (AttributeError, ValueError):
                pass
        self._stream = stream
        self._required = required

    def write(self, text: str) -> None:
        if self._stream is None and self._required:
            raise OutputClosed("standard output is closed")
        self._guarded(lambda stream: stream.write(text))

    def flush(self) -> None:
        self._guarded(lambda stream: stream.flush())

    def _guarded(self, operation) -> None:
        """A broken pipe goes up as it is (the reader left); any other failure is an
        OutputClosed for stdout, and nothing for stderr."""
        if self._stream is None:
            return
        try:
            operation(self._stream)
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as error:
            if self._required:
                raise OutputClosed(getattr(error, "strerror", None) or str(error)) from None

    def write_bytes(self, data: bytes) -> None:
        """Bytes exactly as given (a remote command's output), after any text written before."""
        if self._stream is None or not hasattr(self._stream, "buffer"):
            self.write(data.decode("utf-8", "backslashreplace"))
            return

        def flush_then_write(stream) -> None:
            stream.flush()
            stream.buffer.write(data)

        self._guarded(flush_then_write)

    def isatty(self) -> bool:
        try:
            return self._stream is not None and self._stream.isatty()
        except (AttributeError, ValueError):
            return False

    def fileno(self) -> int:
        if self._stream is None:
            raise OSError("closed")
        return self._stream.fileno()


class Environment(NamedTuple):
    """What a command may touch of the world outside its arguments."""

    env: Mapping[str, str]
    home: str
    stdin: Optional[TextIO]
    stdout: Output
    stderr: Output
    noun: str = "node"  # `dcos nodes …` or `dcos node …`, for messages that name commands

    @classmethod
    def of_this_process(cls) -> "Environment":
        return cls(os.environ, os.path.expanduser("~"), sys.stdin, Output(sys.stdout, required=True),
                   Output(sys.stderr, required=False))

    def debug_on(self) -> bool:
        return self.env.get("DCOS_DEBUG", "").lower() not in ("", "0", "false", "no")

    def stdin_is_terminal(self) -> bool:
        try:
            return self.stdin is not None and self.stdin.isatty()
        except (AttributeError, ValueError):
            return False
