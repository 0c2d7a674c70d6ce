"""Local processes, the one edge where this package meets them:

- `programs`: finding a program (which, the ssh client to use);
- `spawn`: starting one child, ending it, waiting for it (each written once), and the
  short-lived probes and the detached ssh built on them;
- `window`: many children at once, for `dcos node run`;
- `signals`: stop signals turned into a request that the window answers;
- `handover`: handing this process over to a program (exec).

On POSIX nothing here imports subprocess or shutil (a few milliseconds before every
ssh session): children start with posix_spawn. Windows uses subprocess.
"""

import os

POSIX = os.name == "posix"
