"""`dcos node run`'s rolling runs, pure: the batches (--batch, as Ansible's `serial`), the
failure budget (--max-fail, as AWS SSM's MaxErrors: counted over the whole run), and what
the Running line and the summary say of them.

A percentage is of the nodes, rounded down: a batch holds at least one node (as Ansible's
`serial`); a budget of n% allows floor(n% of the nodes selected) failures, so that "more than
n%" stops the run exactly when Ansible's max_fail_percentage would compare it so. A node
fails when it did not run the command and exit 0: an exit status other than 0, unreachable,
timed out, killed, not started, or refused by the cluster's description (which counts from
the start).
"""

from typing import Iterable, List, Optional, Sequence

from .fanout import NodeResult, Result, fold
from .flags import Count
from .selection import Target


def batch_sizes(sizes: Sequence[Count], total: int) -> List[int]:
    """How many nodes each batch holds: each size given in turn, the last one repeated, until
    every one of `total` nodes has a batch (the last batch holds what is left). Without
    --batch, one batch of all."""
    if total <= 0:
        return []
    if not sizes:
        return [total]
    result: List[int] = []
    left = total
    while left > 0:
        size = min(sizes[min(len(result), len(sizes) - 1)].of(total, 1), left)
        result.append(size)
        left -= size
    return result


def allowance(max_fail: Optional[Count], total: int) -> Optional[int]:
    """How many nodes may fail before no further one starts; None: no limit."""
    return None if max_fail is None else max_fail.of(total, 0)


def failed(result: NodeResult) -> bool:
    return not (result.result is Result.EXITED and result.status == 0)


def _times(sizes: Sequence[int]) -> str:
    """Batch sizes, repeats counted: `1, 5, 25 (9 times), 21`."""
    parts: List[List[int]] = []
    for size in sizes:
        if parts and parts[-1][0] == size:
            parts[-1][1] += 1
        else:
            parts.append([size, 1])
    return ", ".join(f"{size}" if times == 1 else f"{size} ({times} times)" for size, times in parts)


def plan(sizes: Sequence[int], batched: bool, allowed: Optional[int], max_fail: Optional[Count]) -> str:
    """What the Running line adds: the batches, and the failure budget."""
    words = ""
    if batched:
        words += f", in {len(sizes)} batch{'es' if len(sizes) != 1 else ''} of {_times(sizes)}"
    if allowed is not None:
        words += (f"; no further node starts once more than {allowed} {'fails' if allowed == 1 else 'fail'} "
                  f"(--max-fail={max_fail})")
    return words


def batch_line(number: int, count: int, targets: Sequence[Target]) -> str:
    noun = "node" if len(targets) == 1 else "nodes"
    return f"Batch {number} of {count} ({len(targets)} {noun}): {fold([target.name for target in targets])}\n"


def _numbers(numbers: Iterable[int]) -> str:
    """1, 2, 3, 5 as `1-3, 5`."""
    runs: List[List[int]] = []
    for number in numbers:
        if runs and runs[-1][1] == number - 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ", ".join(f"{low}" if low == high else f"{low}-{high}" for low, high in runs)


def summary(batches: Sequence[Sequence[Target]], results: Sequence[NodeResult], batched: bool,
            budget_stopped: bool, allowed: Optional[int], max_fail: Optional[Count]) -> str:
    """The summary's words on the batches that ran (wholly, or in part) and those that did not,
    and on the failure budget when it stopped the run; the nodes left out are the "not
    started" line above them."""
    by_target = {result.target: result for result in results}
    lines = []
    if batched and batches:
        started = [sum(1 for target in batch if by_target[target].result is not Result.NOT_STARTED)
                   for batch in batches]
        ran = [number for number, count in enumerate(started, 1) if count]
        partly = [number for number, count in enumerate(started, 1) if 0 < count < len(batches[number - 1])]
        idle = [number for number, count in enumerate(started, 1) if not count]
        line = f"Batches run: {_numbers(ran) or 'none'} of {len(batches)}"
        if partly:
            line += f" ({_numbers(partly)} in part)"
        if idle:
            line += f"; not run: {_numbers(idle)}"
        lines.append(line + ".")
    failures = sum(1 for result in results if failed(result) and result.result is not Result.NOT_STARTED)
    if budget_stopped:
        lines.append(f"The failure budget was spent: {failures} node{'s' if failures != 1 else ''} failed, more "
                     f"than --max-fail={max_fail} "
                     f"allows ({allowed}), so no further node was started.")
    return "".join(line + "\n" for line in lines)
