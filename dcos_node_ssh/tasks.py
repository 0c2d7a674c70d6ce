"""Mesos tasks as plain records, pure: which task a user means (`--task=<ID or name>`), and
which of its ports.

The records come from the master's task state (cluster.answers.tasks_in, asked by
cluster.queries.Lookups.tasks). Everything in them is untrusted: IDs and names are only
compared and escaped for printing; a port is a number from 1 to 65535 and an address a
checked IP address before anything uses it.
"""

from typing import NamedTuple, Optional, Sequence, Tuple

from .errors import ClusterDataError, ClusterError, shown

RUNNING = "TASK_RUNNING"


class TaskPort(NamedTuple):
    number: int
    name: str = ""  # from the task's discovery info; "" when unnamed


class Task(NamedTuple):
    """What finding a task and reaching its ports needs."""

    id: str
    name: str
    state: str  # TASK_RUNNING, TASK_FINISHED, ...
    agent_id: str  # the agent it runs on ("slave_id")
    framework_id: str = ""
    host_ports: Tuple[TaskPort, ...] = ()  # the agent's ports it holds (its port resources), in order
    discovery_ports: Tuple[TaskPort, ...] = ()  # as its discovery info lists them (container ports, for
    #                                               a task on a container network)
    addresses: Tuple[str, ...] = ()  # its own addresses on a container network, from its latest status

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    def describe(self) -> str:
        name = f" ({shown(self.name, 60)})" if self.name and self.name != self.id else ""
        return f"{shown(self.id, 100)}{name}"


def find_task(tasks: Sequence[Task], value: str, source: str) -> Task:
    """The one running task `value` names: its exact ID; else the running task of that name;
    else the running task whose ID holds it (as `dcos task` matches). A value that fits
    several lists them; a task that has ended says so; one that fits none says how many
    there are."""
    exact = [task for task in tasks if task.id == value] or [
        task for task in tasks if task.name == value and not any(other.running and other.name == value
                                                                for other in tasks)][-1:]
    if exact:
        task = exact[0]
        if not task.running:
            raise ClusterError(f"Task {task.describe()} is {shown(task.state, 40)}, not running, so nothing of it "
                               "listens. See the running ones with `dcos task`.")
        return task
    running = [task for task in tasks if task.running]
    named = [task for task in running if task.name == value]
    candidates = named or [task for task in running if value and value in task.id]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        listed = "; ".join(task.describe() for task in sorted(candidates, key=lambda task: task.id)[:10])
        more = f"; and {len(candidates) - 10} more" if len(candidates) > 10 else ""
        raise ClusterError(f"'{shown(value)}' matches {len(candidates)} running tasks: {listed}{more}. Give the "
                           "whole ID of the one you mean.")
    raise ClusterError(f"No running task matches '{shown(value)}' (by ID, name or a part of its ID) among the "
                       f"{len(running)} running tasks at {source}. See them with `dcos task`.")


class TaskEndpoint(NamedTuple):
    """Where a task's port is reached from the proxy, and how to say it."""

    host: str
    port: int
    what: str  # "port 31000 (http) of task web.1234 on agent ... at 10.0.1.20"


def _port_words(port: TaskPort) -> str:
    return f"port {port.number}" + (f" ({shown(port.name, 40)})" if port.name else "")


def task_endpoint(task: Task, agent: str, agent_address: str, index: Optional[int] = None,
                  name: Optional[str] = None) -> TaskEndpoint:
    """The task's port by name (`--port-name`), by position (`--port-index`, from 0), or its
    first: one of the agent's ports it holds, at the agent's address; or, for a task on a
    container network that holds none, a port of its discovery info at its own address."""
    on_agent = f"task {task.describe()} on agent {agent} at {agent_address}"
    own = task.addresses[0] if task.addresses else ""
    on_network = f"task {task.describe()} at its own address {own} (a container network)"
    if name is not None:
        for port in task.host_ports:
            if port.name == name:
                return TaskEndpoint(agent_address, port.number, f"{_port_words(port)} of {on_agent}")
        for port in task.discovery_ports if own else ():  # a container port, at its own address
            if port.name == name:
                return TaskEndpoint(own, port.number, f"{_port_words(port)} of {on_network}")
        names = sorted({port.name for port in task.host_ports + task.discovery_ports if port.name})
        raise ClusterDataError(
            f"Task {task.describe()} has no port named '{shown(name)}'"
            + (f"; its ports are named {', '.join(shown(each, 40) for each in names)}." if names else
               ": none of its ports has a name. Choose one with --port-index=<n>.")
        )
    chosen = 0 if index is None else index
    if task.host_ports:
        ports, host, where = task.host_ports, agent_address, on_agent
    elif own and task.discovery_ports:
        ports, host, where = task.discovery_ports, own, on_network
    else:
        raise ClusterDataError(
            f"Task {task.describe()} holds no ports (none among its resources, and no discovery info naming "
            f"any), so the cluster does not say where it listens. If you know the port, forward to the agent: "
            f"{agent_address}:<port>."
        )
    if chosen >= len(ports):
        listed = ", ".join(f"{position}: {_port_words(port)}" for position, port in enumerate(ports))
        raise ClusterDataError(f"Task {task.describe()} has {len(ports)} port{'s' if len(ports) != 1 else ''} "
                               f"({listed}); --port-index={chosen} is not one of them.")
    port = ports[chosen]
    return TaskEndpoint(host, port.number, f"{_port_words(port)} of {where}")
