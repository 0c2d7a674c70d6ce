"""What the cluster's answers mean: pure functions from decoded (or streamed) JSON to
plain values, every value checked before use.
"""

import json
import re
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, NamedTuple, Optional, Tuple
from urllib.parse import quote

from ..errors import ClusterDataError, ClusterError, shown
from ..hosts import endpoint_host, normalize_host

if TYPE_CHECKING:
    from ..tasks import Task


def parse_json(data: bytes, not_json: Callable[[], ClusterError]) -> Any:
    """The JSON value of an answer; `not_json()` is raised for anything else, including
    nesting too deep to decode (a hostile answer, not a bug)."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise not_json() from None


def agent_query(agent_id: str) -> str:
    return "/master/slaves?slave_id=" + quote(agent_id, safe="")


_SPACE = re.compile(r"[ \t\n\r]*")


def agents_in(text: str, source: str, not_json, top: Optional[dict] = None) -> Iterator[dict]:
    """Yield each element of the top-level "slaves" array of a JSON text, lazily.

    Only one agent is a Python object at a time; the walk stops as soon as the
    caller stops asking. `not_json()` builds the error for text that is not JSON.
    With `top`, the other top-level members whose keys it holds are stored in it,
    and the walk goes on to the end of the text.
    """
    decoder = json.JSONDecoder()

    def after_space(index: int) -> int:
        return _SPACE.match(text, index).end()  # type: ignore[union-attr]  # `*` always matches

    def no_agent_list() -> ClusterError:
        try:
            json.loads(text)
        except (ValueError, RecursionError):
            return not_json()
        return ClusterDataError(
            f"The cluster's answer to {source} is not the expected agent list (no \"slaves\" array)."
        )

    found_agents = False
    try:
        index = after_space(0)
        if text[index:index + 1] != "{":
            raise no_agent_list()
        index = after_space(index + 1)
        while text[index] != "}":
            key, index = decoder.raw_decode(text, index)
            index = after_space(index)
            if not isinstance(key, str) or text[index] != ":":
                raise not_json()
            index = after_space(index + 1)
            if key == "slaves" and text[index] == "[":
                index = after_space(index + 1)
                while text[index] != "]":
                    agent, index = decoder.raw_decode(text, index)
                    yield agent
                    index = after_space(index)
                    if text[index] == ",":
                        index = after_space(index + 1)
                    elif text[index] != "]":
                        raise not_json()
                if top is None:
                    return
                found_agents = True
                index = after_space(index + 1)
            else:
                value, index = decoder.raw_decode(text, index)
                if top is not None and key in top:
                    top[key] = value
            index = after_space(index)
            if text[index] == ",":
                index = after_space(index + 1)
            elif text[index] != "}":
                raise not_json()
        if not found_agents:
            raise no_agent_list()
    except (ValueError, IndexError, RecursionError):
        raise not_json() from None


def leader_from_mesos_dns(answer: Any, source: str) -> str:
    """The leader's address from Mesos DNS: `[{"host": "leader.mesos.", "ip": "10.0.4.1"}]`."""
    if not (isinstance(answer, list) and answer and isinstance(answer[0], dict) and "ip" in answer[0]):
        raise ClusterDataError(f"Mesos DNS answered {source} without an \"ip\" for the leader.")
    return _checked_address(answer[0]["ip"], source, "leading master")


def master_info_in(answer: Any, source: str) -> dict:
    """The master_info of the operator API's GET_MASTER answer."""
    get_master = answer.get("get_master") if isinstance(answer, dict) else None
    info = get_master.get("master_info") if isinstance(get_master, dict) else None
    if not isinstance(info, dict):
        raise ClusterDataError(f"The Mesos master answered {source} without master_info.")
    return info


def leader_from_master_info(answer: Any, source: str) -> str:
    """The leader's address from the operator API's GET_MASTER answer."""
    info = master_info_in(answer, source)
    address = info.get("address")
    if isinstance(address, dict) and address.get("ip"):
        return _checked_address(address["ip"], source, "leading master")
    pid = info.get("pid")
    if isinstance(pid, str) and "@" in pid:
        return _checked_address(endpoint_host(pid.rpartition("@")[2]), source, "leading master")
    raise ClusterDataError(f"The Mesos master answered {source} without the leader's address.")


def public_ip_from_metadata(answer: Any, source: str) -> Optional[str]:
    """PUBLIC_IPV4 from /metadata, or None when the cluster leaves it empty."""
    if not isinstance(answer, dict):
        raise ClusterDataError(f"The cluster's answer to {source} is not a JSON object.")
    value = answer.get("PUBLIC_IPV4")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _checked_address(value, source, "master's public address (PUBLIC_IPV4)")


class ListedMaster(NamedTuple):
    """A master as Mesos DNS lists it: its address, or (when it gives an unusable one) the
    value as it came (to be escaped when printed) and why it is refused."""

    address: str  # "" when unusable
    given: str = ""
    problem: Optional[str] = None


def masters_from_mesos_dns(answer: Any, source: str) -> List[ListedMaster]:
    """Every master from Mesos DNS (`master.mesos`), in the order given, once each. A master
    whose address is unusable is kept with the reason, as an agent is (nodes.agent_address),
    so that `run` reports it and goes on with the others."""
    if not (isinstance(answer, list) and answer and all(isinstance(entry, dict) and "ip" in entry
                                                        for entry in answer)):
        raise ClusterDataError(f"Mesos DNS answered {source} without an \"ip\" for each master.")
    masters: List[ListedMaster] = []
    for entry in answer:
        try:
            master = ListedMaster(_checked_address(entry["ip"], source, "master"))
        except ClusterDataError as error:
            given = entry["ip"]
            master = ListedMaster("", given if isinstance(given, str) else repr(given), str(error))
        if master not in masters:
            masters.append(master)
    return masters


def _checked_address(value: Any, source: str, what: str) -> str:
    address = normalize_host(value.strip() if isinstance(value, str) else value)
    if address is None:
        raise ClusterDataError(
            f"The cluster's answer to {source} gives the {what} as {shown(value)}, which is not "
            "an IP address or host name. Refusing to connect to it."
        )
    return address


# A task holds a few ports; a hostile answer may claim every port there is.
MAX_TASK_PORTS = 1000
_RANGE = re.compile(r"\s*([0-9]{1,5})\s*-\s*([0-9]{1,5})\s*")


def _port_ranges(value: Any) -> List[int]:
    """The ports of a Mesos ranges text (`[31000-31000, 31005-31006]`), in order; none for
    anything else."""
    if not isinstance(value, str) or not (value.startswith("[") and value.endswith("]")):
        return []
    ports: List[int] = []
    for part in value[1:-1].split(","):
        match = _RANGE.fullmatch(part)
        if not match:
            continue
        low, high = int(match.group(1)), int(match.group(2))
        if 1 <= low <= high <= 65535:
            ports.extend(range(low, min(high, low + MAX_TASK_PORTS - len(ports) - 1) + 1))
        if len(ports) >= MAX_TASK_PORTS:
            break
    return ports


def _discovery_ports(task: dict) -> List[Tuple[int, str]]:
    discovery = task.get("discovery")
    listed = discovery.get("ports") if isinstance(discovery, dict) else None
    entries = listed.get("ports") if isinstance(listed, dict) else None
    ports = []
    for entry in entries if isinstance(entries, list) else []:
        number = entry.get("number") if isinstance(entry, dict) else None
        if isinstance(number, int) and not isinstance(number, bool) and 1 <= number <= 65535:
            name = entry.get("name")
            ports.append((number, name if isinstance(name, str) else ""))
    return ports[:MAX_TASK_PORTS]


def _ip_address(value: Any) -> Optional[str]:
    """An IP address (not a name), normalised; None for anything else."""
    import ipaddress

    address = normalize_host(value)
    try:
        return str(ipaddress.ip_address(address)) if address is not None else None
    except ValueError:
        return None


def _container_addresses(task: dict) -> List[str]:
    """The task's own addresses on a container network, from its latest status that has any."""
    statuses = task.get("statuses")
    for status in reversed(statuses if isinstance(statuses, list) else []):
        container = status.get("container_status") if isinstance(status, dict) else None
        infos = container.get("network_infos") if isinstance(container, dict) else None
        found = []
        for info in infos if isinstance(infos, list) else []:
            entries = info.get("ip_addresses") if isinstance(info, dict) else None
            for entry in entries if isinstance(entries, list) else []:
                address = _ip_address(entry.get("ip_address")) if isinstance(entry, dict) else None
                if address is not None:
                    found.append(address)
        if found:
            return found
    return []


def tasks_in(answer: Any, source: str) -> List["Task"]:
    """The tasks of the master's task state (`{"tasks": [...]}`, /master/tasks), as
    tasks.Task records; entries without a text ID are left out."""
    from ..tasks import Task, TaskPort

    listed = answer.get("tasks") if isinstance(answer, dict) else None
    if not isinstance(listed, list):
        raise ClusterDataError(f"The cluster's answer to {source} is not the expected task list (no \"tasks\" array).")

    def text(entry: dict, key: str) -> str:
        value = entry.get(key)
        return value if isinstance(value, str) else ""

    tasks = []
    for entry in listed:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        resources = entry.get("resources")
        discovered = _discovery_ports(entry)
        names = {number: name for number, name in reversed(discovered)}
        host_ports = tuple(TaskPort(number, names.get(number, ""))
                           for number in _port_ranges(resources.get("ports") if isinstance(resources, dict) else None))
        tasks.append(Task(entry["id"], text(entry, "name"), text(entry, "state"), text(entry, "slave_id"),
                          text(entry, "framework_id"), host_ports,
                          tuple(TaskPort(number, name) for number, name in discovered),
                          tuple(_container_addresses(entry))))
    return tasks
