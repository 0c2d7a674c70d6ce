"""Stop signals as a request, not an end: while a `Signals` is entered, SIGINT, SIGTERM
and SIGHUP are noted (the first one is kept) instead of ending this process, so that
whoever runs children can end every one of them, report and clean up, and then exit as
the signal asks (128 + its number). A second signal a moment after the first changes
nothing. Every signal caught, SIGCHLD included, also makes `fd` readable, so a selector
that watches it wakes at once.

Python runs signal handlers in the main thread only, and so does this.
"""

import os
import signal
from typing import Dict, Optional

from ..errors import ExitStatus

STOP = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_EXIT_STATUS: Dict[int, ExitStatus] = {signal.SIGINT: ExitStatus.INTERRUPTED, signal.SIGTERM: ExitStatus.TERMINATED,
                signal.SIGHUP: ExitStatus.HANGUP}


class Signals:
    def __init__(self) -> None:
        self.caught: Optional[int] = None  # the first stop signal
        self.fd = -1
        self._write = -1
        self._before: Dict[int, object] = {}
        self._wakeup_before = -1

    def __enter__(self) -> "Signals":
        self.fd, self._write = os.pipe()
        os.set_blocking(self.fd, False)
        os.set_blocking(self._write, False)
        self._wakeup_before = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        for number in STOP + (signal.SIGCHLD,):
            before = signal.getsignal(number)
            if before is signal.SIG_IGN:
                continue  # ignored by whoever started us (nohup, a background job): so it stays
            self._before[number] = signal.SIG_DFL if before is None else before  # None: set outside Python
            signal.signal(number, self._note)
        return self

    def _note(self, number: int, _frame) -> None:
        if number != signal.SIGCHLD and self.caught is None:
            self.caught = number

    @property
    def stopped(self) -> bool:
        return self.caught is not None

    def drain(self) -> None:
        """Empty `fd` after it woke a selector."""
        try:
            while os.read(self.fd, 4096):
                pass
        except BlockingIOError:
            pass

    def exit_status(self) -> Optional[ExitStatus]:
        """128 + the stop signal's number, as a shell reports it; None when none came."""
        return None if self.caught is None else _EXIT_STATUS[self.caught]

    def __exit__(self, *_) -> None:
        for number, before in self._before.items():
            signal.signal(number, before)  # type: ignore[arg-type]
        self._before.clear()
        signal.set_wakeup_fd(self._wakeup_before)
        os.close(self.fd)
        os.close(self._write)
