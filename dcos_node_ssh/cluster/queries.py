"""The cluster requests each target and proxy needs, made only when a command needs them.

The answers go through the pure functions of `answers` and `nodes`; only the
requests are made here. Nothing is printed: an address comes back as `Found`, with
where it came from and what the user should be told about it (a fallback taken), and
the command says it.
"""

import _thread  # not threading: a millisecond and a half less before every ssh session
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional, TextIO, Tuple

from ..errors import (ClusterAuthError, ClusterDataError, ClusterError, ClusterUnreachable, ConfigError, NodeSshError,
                      shown)
from ..settings import Settings

if TYPE_CHECKING:
    from ..tasks import Task
    from .answers import ListedMaster

DCOS_URL = "core.dcos_url"
# Mesos answers 100 tasks unless asked for more.
TASKS_PATH = "/master/tasks?limit=1000000"
MESOS_MASTER_URL = "core.mesos_master_url"


class Api:
    """One URL setting's HTTP client, and the JSON it answers."""

    def __init__(self, client):
        self.client = client
        self.base_url = client.base_url  # for display: never with credentials

    def url(self, path: str) -> str:
        return self.client.url(path)

    def get_json(self, path: str) -> Any:
        return self._json(path, self.client.request("GET", path))

    def post_json(self, path: str, body: Any) -> Any:
        import json

        return self._json(path, self.client.request("POST", path, json.dumps(body).encode("utf-8")))

    def get_agents(self, path: str, top: Optional[dict] = None, timeout: Optional[float] = None) -> Iterator[dict]:
        """The agents of a `{"slaves": [...]}` answer, decoded one at a time.

        A master that ignores `?slave_id=`, or state-summary, sends every agent: tens
        of MB on a large cluster. Decoding each agent alone keeps memory to the text
        itself, and the caller can stop at the one it wants.
        """
        from .answers import agents_in

        answer = self.client.request("GET", path, timeout=timeout)
        try:
            text = answer.body.decode("utf-8")
        except UnicodeDecodeError:
            raise self._not_json(path, answer.content_type, len(answer.body)) from None
        kind, size = answer.content_type, len(answer.body)
        del answer
        return agents_in(text, self.url(path), lambda: self._not_json(path, kind, size), top)

    def _json(self, path: str, answer) -> Any:
        from .answers import parse_json

        return parse_json(answer.body, lambda: self._not_json(path, answer.content_type, len(answer.body)))

    def _not_json(self, path: str, kind: str, size: int) -> ClusterError:
        return ClusterError(
            f"The cluster's answer to {self.url(path)} is not the JSON expected (it sent {shown(kind, 80)}, "
            f"{size} bytes). "
            f"Check that {self.client.setting} points at a DC/OS cluster."
        )


class Found(NamedTuple):
    """An address the cluster gave, where it came from, and what the user should be told
    about it (the command writes the notices on stderr)."""

    address: str
    source: str  # as --check shows it: "PUBLIC_IPV4 in the cluster's /metadata"
    notices: Tuple[str, ...] = ()


class Lookups:
    """The cluster's API, as the commands need it: the proxy, the leader, the masters, an
    agent, all agents. `debug` receives a line for each request (DCOS_DEBUG), or is None."""

    def __init__(self, settings: Settings, env: Mapping[str, str], debug: Optional[TextIO]):
        self.settings = settings
        self.env = env
        self.debug = debug
        self._apis: Dict[str, Api] = {}  # one client per URL setting, shared by lookups that run at once
        self._apis_lock = _thread.allocate_lock()
        self._metadata: Optional[Tuple[Any]] = None
        self._metadata_lock = _thread.allocate_lock()

    def api(self, setting: str) -> Api:
        from .transport import HttpClient

        with self._apis_lock:
            if setting not in self._apis:
                url = self.settings.mesos_master_url if setting == MESOS_MASTER_URL else self.settings.dcos_url
                if not url:
                    raise ConfigError(no_cluster_message(self.settings))
                token = self.settings.acs_token if setting == DCOS_URL else None
                self._apis[setting] = Api(HttpClient(url, token=token, ssl_verify=self.settings.ssl_verify,
                                                     timeout=self.settings.timeout, setting=setting, env=self.env,
                                                     debug=self.debug, unauthenticated=withheld(self.settings)))
            return self._apis[setting]

    def mesos(self) -> Tuple[Api, str]:
        """Mesos itself: core.mesos_master_url, or the master's Admin Router under /mesos."""
        if self.settings.mesos_master_url:
            return self.api(MESOS_MASTER_URL), ""
        return self.api(DCOS_URL), "/mesos"

    def metadata(self) -> Any:
        """The cluster's /metadata, asked once: the proxy and the cluster's identity share it."""
        with self._metadata_lock:
            if self._metadata is None:
                self._metadata = (self.api(DCOS_URL).get_json("/metadata"),)
            return self._metadata[0]

    def cluster_key(self) -> Optional[str]:
        """The cluster's identity for host key aliases: its CLUSTER_ID, else the host of
        core.dcos_url (see openssh.hops.cluster_key)."""
        from ..hosts import host_of_url
        from ..openssh.hops import cluster_key

        try:
            answer = self.metadata()
        except (ClusterUnreachable, ClusterAuthError):
            raise
        except ClusterError:  # a cluster without /metadata: its URL names it
            answer = None
        return cluster_key(answer.get("CLUSTER_ID") if isinstance(answer, dict) else None,
                           host_of_url(self.settings.dcos_url or ""))

    def master_public_address(self) -> Found:
        """The master's public address, for --master-proxy: PUBLIC_IPV4, else the host of
        core.dcos_url (with a notice saying so)."""
        from ..hosts import host_of_url
        from .answers import public_ip_from_metadata

        api = self.api(DCOS_URL)
        address = public_ip_from_metadata(self.metadata(), api.url("/metadata"))
        if address is not None:
            return Found(address, "PUBLIC_IPV4 in the cluster's /metadata")
        address = host_of_url(self.settings.dcos_url or "")
        if address is None:
            raise ClusterDataError(
                "The cluster's /metadata has no PUBLIC_IPV4 and core.dcos_url has no host "
                "to use instead. Name the proxy with --proxy-ip=<host>."
            )
        return Found(address, "the host of core.dcos_url, since /metadata has no PUBLIC_IPV4", (
            f"The cluster reports no public master address (PUBLIC_IPV4 in /metadata); "
            f"hopping through {address}, the host of core.dcos_url.",))

    def leader_address(self) -> Found:
        """The leading master's address: from Mesos DNS, else (with a notice) from Mesos."""
        from .answers import leader_from_master_info, leader_from_mesos_dns

        dns_failure: Optional[ClusterError] = None
        if self.settings.dcos_url:
            api = self.api(DCOS_URL)
            path = "/mesos_dns/v1/hosts/leader.mesos"
            try:
                return Found(leader_from_mesos_dns(api.get_json(path), api.url(path)), "Mesos DNS (leader.mesos)")
            except (ClusterUnreachable, ClusterAuthError, ClusterDataError):
                raise
            except ClusterError as error:
                dns_failure = error
        api, prefix = self.mesos()
        path = prefix + "/api/v1"
        try:
            address = leader_from_master_info(api.post_json(path, {"type": "GET_MASTER"}), api.url(path))
        except NodeSshError as error:
            if dns_failure is None:
                raise
            # One paragraph for both: what Mesos said, and why it was asked.
            raise type(error)(f"{error} (Mesos was asked since Mesos DNS could not name the leader: "
                              f"{dns_failure})") from None
        if dns_failure is None:
            return Found(address, "the Mesos master (GET_MASTER)")
        return Found(address, "the Mesos master (GET_MASTER), since Mesos DNS could not name it",
                     (f"Mesos DNS could not name the leader ({dns_failure}); asking Mesos.",))

    def master_info(self) -> dict:
        """The leading master's master_info (GET_MASTER): its ID, version and fault domain."""
        from .answers import master_info_in

        api, prefix = self.mesos()
        path = prefix + "/api/v1"
        return master_info_in(api.post_json(path, {"type": "GET_MASTER"}), api.url(path))

    def public_ips(self) -> Any:
        """The networking API's nodes (/net/v1/nodes): each node's public addresses, by its private one."""
        return self.api(DCOS_URL).get_json("/net/v1/nodes")

    def masters(self) -> List["ListedMaster"]:
        """Every master, as Mesos DNS lists them (`master.mesos`); an unusable address is
        kept with the reason."""
        from .answers import masters_from_mesos_dns

        api = self.api(DCOS_URL)
        path = "/mesos_dns/v1/hosts/master.mesos"
        return masters_from_mesos_dns(api.get_json(path), api.url(path))

    def agent_records(self) -> List[dict]:
        """Every agent's essentials (ID, host name, pid, what makes it public, its state),
        from state-summary, each decoded alone; checked by whoever uses them."""
        api, prefix = self.mesos()
        records = (_essentials(agent) for agent in api.get_agents(prefix + "/master/state-summary"))
        return [record for record in records if record is not None]

    def agent_address(self, value: str) -> Found:
        """An agent's address by ID, or by a unique part of its ID, its host name or address.

        A full ID costs one small request when the master filters by it; anything
        else needs the list of agents, which is asked for only then.
        """
        from ..nodes import agent_node, find_agent, looks_like_full_id, match_agent
        from .answers import agent_query

        api, prefix = self.mesos()
        seen: Optional[List[Optional[dict]]] = None
        if looks_like_full_id(value):
            seen = []

            def remembered(agents):
                for agent in agents:
                    seen.append(_essentials(agent))
                    yield agent

            agent = find_agent(remembered(api.get_agents(prefix + agent_query(value))), value)
            if agent is not None:
                return _agent_found(agent)
            if len(seen) <= 1:
                seen = None  # the master filtered by the ID: ask for every agent
        if seen is None:
            seen = [_essentials(agent) for agent in api.get_agents(prefix + "/master/slaves")]
        by_id = {agent["id"]: agent for agent in seen if agent is not None}
        nodes = [node for node in map(agent_node, by_id.values()) if node is not None]
        return _agent_found(by_id[match_agent(nodes, value, api.base_url).id])

    def tasks(self) -> List["Task"]:
        """Every task the leading master knows of, running or recently ended, as tasks.Task
        records (ID, name, state, its agent's ID, its ports and container addresses), from
        its task state (/master/tasks); tasks.find_task picks one by ID or name."""
        from .answers import tasks_in

        api, prefix = self.mesos()
        path = prefix + TASKS_PATH
        return tasks_in(api.get_json(path), api.url(path))

    def agent_entries(self, top: Optional[dict] = None, timeout: Optional[float] = None) -> Iterator[dict]:
        """Every agent as state-summary reports it, decoded one at a time; with `top`, the
        other top-level members it names are filled in once the walk ends."""
        api, prefix = self.mesos()
        return api.get_agents(prefix + "/master/state-summary", top, timeout=timeout)

    def all_agents(self, timeout: Optional[float] = None):
        """(every agent as a Node, the leading master's host name) from state-summary."""
        from ..nodes import agent_node

        top: Dict[str, Any] = {"hostname": None}
        nodes = [node for node in map(agent_node, self.agent_entries(top, timeout)) if node]
        return nodes, top["hostname"]


def _agent_found(agent: dict) -> Found:
    from ..nodes import agent_address

    return Found(agent_address(agent), f"the pid of agent {shown(agent['id'])} in Mesos")


def _essentials(agent) -> Optional[dict]:
    """What matching and connecting need of an agent entry: a few fields, not the whole entry."""
    if not isinstance(agent, dict) or not isinstance(agent.get("id"), str):
        return None
    return {key: agent[key] for key in ("id", "hostname", "pid", "attributes", "reserved_resources",
                                        "drain_info", "deactivated", "active") if key in agent}


def withheld(settings: Settings) -> str:
    """Why no token was sent, when the configuration's token belongs to another cluster."""
    from .urls import hide_credentials

    if not settings.token_withheld_for or settings.acs_token:
        return ""
    where = f" in {settings.config_path}" if settings.config_path else ""
    return (f"DCOS_URL names this cluster, while the configuration{where} is for the cluster at "
            f"{hide_credentials(settings.token_withheld_for)}: its access token was not sent here, since a token "
            "belongs to the cluster that issued it. Set DCOS_ACS_TOKEN to a token of this cluster (`dcos cluster setup "
            "<url>` and `dcos auth login` get one), or unset DCOS_URL to use the attached cluster.")


def no_cluster_message(settings: Settings) -> str:
    if settings.config_path:
        where = f"The DC/OS config file {settings.config_path} has no core.dcos_url"
    else:
        where = "No DC/OS cluster is configured (no config file was found and DCOS_URL is not set)"
    return (
        f"{where}, so the cluster cannot be asked where the node is. Set a cluster up with "
        "`dcos cluster setup <url>` (or `dcos config set core.dcos_url <url>`, or set DCOS_URL), "
        "or name the node with --private-ip=<ip> and a proxy with --proxy-ip=<host>."
    )


def concurrently(*calls: Callable[[], Any]) -> Tuple[Any, ...]:
    """(call() for each call), all but the last each in a thread of its own and the last in
    this one; when several fail, the error of the first in the order given wins.

    Ctrl-C (or any BaseException) in the calling thread propagates at once: the other
    lookups are left to die with the process rather than waited for.
    """
    outcomes: List[Dict[str, Any]] = [{} for _ in calls[:-1]]
    finished = [_thread.allocate_lock() for _ in calls[:-1]]

    def run(index: int) -> None:
        try:
            outcomes[index]["value"] = calls[index]()
        except BaseException as error:  # handed to the calling thread below
            outcomes[index]["error"] = error
        finally:
            finished[index].release()

    for index, lock in enumerate(finished):
        lock.acquire()
        _thread.start_new_thread(run, (index,))
    try:
        last = calls[-1]()
        last_error: Optional[BaseException] = None
    except Exception as error:
        last_error = error
    for lock in finished:
        lock.acquire()  # interruptible by Ctrl-C, as a join is
    for outcome in outcomes:
        if "error" in outcome:
            raise outcome["error"] from None
    if last_error is not None:
        raise last_error
    return tuple(outcome["value"] for outcome in outcomes) + (last,)
