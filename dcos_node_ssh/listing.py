"""`dcos node list`'s core: every node as the DC/OS CLI's own listing shows it (core's
columns, types, statuses and JSON keys: dcos-core-cli pkg/cmd/node), with this plugin's
keys beside them, and the table. Pure functions of the cluster's answers.

Values from the cluster are untrusted: every cell is escaped before it is printed, and
a public address is kept only when it is a plain IP address or host name.
"""

import json
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from .errors import printable
from .hosts import normalize_host
from .nodes import Node, NodeKind, NodeState, unique_suffixes

HEADERS = ("HOSTNAME", "IP", "PUBLIC IP(S)", "ID", "TYPE", "STATUS", "REGION", "ZONE")
_OPTIONAL = ("PUBLIC IP(S)", "REGION", "ZONE")  # left out on a terminal when no node has one
NOT_AVAILABLE = "N/A"  # core's word for a master's missing ID, region or zone

# core's STATUS: the drain state, else DEACTIVATED or ACTIVE, else UNKNOWN; a master has none.
CORE_STATUS = {NodeState.ACTIVE: "ACTIVE", NodeState.DEACTIVATED: "DEACTIVATED", NodeState.DRAINING: "DRAINING",
               NodeState.DRAINED: "DRAINED", NodeState.INACTIVE: "UNKNOWN", NodeState.LEADER: "",
               NodeState.STANDBY: ""}
_COLOURS = {"ACTIVE": "32", "DRAINING": "33", "DRAINED": "33", "DEACTIVATED": "31", "UNKNOWN": "31"}


class Row(NamedTuple):
    """One listed node: what the table shows of it."""

    node: Node
    public_ips: Tuple[str, ...]
    region: str
    zone: str


def core_type(node: Node, table: bool) -> str:
    """TYPE as core shows it: `agent (public)` in the table only (its JSON says `agent`)."""
    if node.kind is NodeKind.MASTER:
        return "master (leader)" if node.state is NodeState.LEADER else "master (standby)"
    return "agent (public)" if table and node.kind is NodeKind.PUBLIC_AGENT else "agent"


def fault_domain(entry: Any) -> Tuple[str, str]:
    """(region, zone) of a Mesos `domain` ({"fault_domain": {"region": {"name"}, "zone": {"name"}}})."""
    domain = entry.get("domain") if isinstance(entry, dict) else None
    fault = domain.get("fault_domain") if isinstance(domain, dict) else None
    names = []
    for part in ("region", "zone"):
        value = fault.get(part) if isinstance(fault, dict) else None
        name = value.get("name") if isinstance(value, dict) else None
        names.append(name if isinstance(name, str) else "")
    return names[0], names[1]


def public_ips_by_address(answer: Any) -> Dict[str, Tuple[str, ...]]:
    """The networking API's /net/v1/nodes (`[{"private_ip", "public_ips": [...]}]`) as
    {private address: public addresses}; entries and addresses that are not plain are left out."""
    found: Dict[str, Tuple[str, ...]] = {}
    for entry in answer if isinstance(answer, list) else ():
        if not isinstance(entry, dict):
            continue
        private = normalize_host(entry.get("private_ip"))
        ips = entry.get("public_ips")
        if private is None or not isinstance(ips, list):
            continue
        found[private] = tuple(address for address in map(normalize_host, ips) if address)
    return found


def agent_row(node: Node, entry: dict, public_ips: Mapping[str, Tuple[str, ...]]) -> Row:
    region, zone = fault_domain(entry)
    return Row(node, public_ips.get(node.address, ()), region, zone)


def agent_object(row: Row, entry: dict) -> dict:
    """An agent for --json: as the cluster sent it, then core's keys, then this plugin's."""
    entry.update({"type": core_type(row.node, table=False), "region": row.region, "zone": row.zone,
                  "public_ips": list(row.public_ips), "status": CORE_STATUS[row.node.state]})
    entry.update(_ours(row.node))
    return entry


def master_row(node: Node, info: Optional[dict], public_ips: Mapping[str, Tuple[str, ...]]) -> Row:
    """A master; `info` is the leader's master_info (GET_MASTER), which names the region of
    every master (Mesos keeps them in one) and the leader's own zone."""
    region, zone = fault_domain(info)
    return Row(node, public_ips.get(node.address, ()), region, zone if node.state is NodeState.LEADER else "")


def master_object(row: Row, info: Optional[dict]) -> dict:
    """A master for --json: core's keys (host, ip, public_ips, type, region, zone, id, pid,
    version), then this plugin's."""
    leader = row.node.state is NodeState.LEADER and isinstance(info, dict)

    def leader_text(key: str) -> str:
        value = info.get(key) if leader and info else None
        return value if isinstance(value, str) else ""

    result: Dict[str, Any] = {"host": row.node.hostname, "ip": row.node.address, "public_ips": list(row.public_ips),
                              "type": core_type(row.node, table=False), "region": row.region, "zone": row.zone,
                              "id": leader_text("id"), "pid": leader_text("pid"), "version": leader_text("version")}
    result.update(_ours(row.node))
    result["id"] = result["id"] or row.node.id
    return result


def _ours(node: Node) -> Dict[str, str]:
    return {"hostname": node.hostname, "address": node.address, "state": node.state.value, "kind": node.kind.value}


def field_value(value: Any, path: str) -> str:
    """The value at a dotted path of a listed node's JSON object (`used_resources.disk`,
    `TASK_RUNNING`), as text: strings as they are, anything else as compact JSON; "" where
    there is none."""
    for key in path.split("."):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isascii() and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return ""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _cell(value: str) -> str:
    """A value from the cluster as one whitespace-free word: a host name cannot pass for two columns."""
    return printable(value).replace(" ", "\\x20")


def table(rows: Sequence[Row], width: int = 80, colour: bool = False, fit: bool = True,
          fields: Sequence[str] = (), values: Optional[Sequence[Sequence[str]]] = None) -> str:
    """The listing as a table, with a column per field (`values`: each row's cells).

    With `fit` (the output is a terminal) it fits `width` columns as far as it can: the
    optional columns (public addresses, region, zone) that say nothing for any node are
    left out, host names are cut, and when full IDs still do not fit, each is shown as its
    shortest unique ending, which --mesos-id accepts as it is. Without it nothing is left
    out or shortened, so that a script reading the table gets whole values."""
    headers = list(HEADERS) + [field.upper() for field in fields]
    agent_ids = [row.node.id for row in rows if row.node.kind is not NodeKind.MASTER and row.node.id]
    cells = values or [()] * len(rows)
    lines: List[List[str]] = []
    for row, extra in zip(rows, cells):
        missing = NOT_AVAILABLE if row.node.kind is NodeKind.MASTER else ""
        lines.append([_cell(row.node.hostname) or row.node.address or "-", row.node.address or "-",
                      ", ".join(row.public_ips), _cell(row.node.id) or missing, core_type(row.node, table=True),
                      CORE_STATUS[row.node.state], _cell(row.region) or missing, _cell(row.zone) or missing]
                     + [_cell(cell) for cell in extra])
    if fit:
        empty = [index for index, header in enumerate(headers) if header in _OPTIONAL
                 and all(line[index] in ("", NOT_AVAILABLE) for line in lines)]
        headers = [header for index, header in enumerate(headers) if index not in empty]
        lines = [[cell for index, cell in enumerate(line) if index not in empty] for line in lines]
    id_column, status_column = headers.index("ID"), headers.index("STATUS")

    def widths():
        return [max([len(header)] + [len(line[i]) for line in lines]) for i, header in enumerate(headers)]

    note = ""
    column_widths = widths()
    if fit:
        fixed = sum(column_widths[1:]) + 2 * (len(headers) - 1)
        if fixed + 12 > width and agent_ids:
            short = unique_suffixes(agent_ids)
            for line, row in zip(lines, rows):
                if row.node.id in short and row.node.kind is not NodeKind.MASTER:
                    line[id_column] = _cell(short[row.node.id])
            note = ("IDs are shown by their unique ending, which --mesos-id accepts; `dcos node list --json` has "
                    "them whole.")
            fixed = sum(widths()[1:]) + 2 * (len(headers) - 1)
        name_width = max(8, min(widths()[0], width - fixed))
        for line in lines:
            if len(line[0]) > name_width:
                line[0] = line[0][: name_width - 1] + "~"
        column_widths = [name_width] + widths()[1:]

    def text(cells: Sequence[str], heading: bool = False) -> str:
        padded = [cell.ljust(size) for cell, size in zip(cells, column_widths)]
        code = None if heading or not colour else _COLOURS.get(cells[status_column])
        if code:
            padded[status_column] = f"\x1b[{code}m{padded[status_column]}\x1b[0m"
        return "  ".join(padded).rstrip()

    header = text(headers, heading=True)
    if colour:
        header = f"\x1b[1m{header}\x1b[0m"
    output = [header] + [text(line) for line in lines]
    if note:
        import textwrap

        output += [""] + textwrap.wrap(note, width)
    return "\n".join(output) + "\n"
