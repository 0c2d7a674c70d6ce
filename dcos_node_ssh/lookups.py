"""The cluster requests each target and proxy needs, made only when a flag needs them.

The answers go through the pure functions of `target` and `nodes`; only the
requests are made here.
"""

import _thread
from typing import Optional, TextIO

from .errors import ClusterAuthError, ClusterDataError, ClusterError, ClusterUnreachable, ConfigError


class Lookups:
    """The cluster's API, as the flags need it: the proxy, the leader, an agent, all agents."""

    def __init__(self, settings, stderr: TextIO, debug: Optional[TextIO]):
        self.settings = settings
        self.stderr = stderr
        self.debug = debug
        self.proxy_source = None  # where master_public_address() found the proxy
        self._apis = {}  # one client per URL setting, shared by lookups that run at once
        self._apis_lock = _thread.allocate_lock()

    def _api(self, setting: str):
        from .cluster import ClusterApi

        with self._apis_lock:
            if setting not in self._apis:
                url = self.settings.mesos_master_url if setting == "core.mesos_master_url" else self.settings.dcos_url
                if not url:
                    raise ConfigError(no_cluster_message(self.settings))
                token = self.settings.acs_token if setting == "core.dcos_url" else None
                self._apis[setting] = ClusterApi(url, token, self.settings.ssl_verify, self.settings.timeout,
                                                 setting, self.debug)
            return self._apis[setting]

    def mesos(self):
        """Mesos itself: core.mesos_master_url, or the master's Admin Router under /mesos."""
        if self.settings.mesos_master_url:
            return self._api("core.mesos_master_url"), ""
        return self._api("core.dcos_url"), "/mesos"

    def master_public_address(self) -> str:
        from .target import host_of_url, public_ip_from_metadata

        api = self._api("core.dcos_url")
        address = public_ip_from_metadata(api.get_json("/metadata"), api.url("/metadata"))
        self.proxy_source = "PUBLIC_IPV4 in the cluster's /metadata"
        if address is None:
            address = host_of_url(api.base_url)
            if address is None:
                raise ClusterDataError(
                    "The cluster's /metadata has no PUBLIC_IPV4 and core.dcos_url has no host "
                    "to use instead. Name the proxy with --proxy-ip=<host>."
                )
            self.proxy_source = "the host of core.dcos_url, since /metadata has no PUBLIC_IPV4"
            self.stderr.write(
                f"The cluster reports no public master address (PUBLIC_IPV4 in /metadata); "
                f"hopping through {address}, the host of core.dcos_url.\n"
            )
        return address

    def leader_address(self) -> str:
        from .target import leader_from_master_info, leader_from_mesos_dns

        if self.settings.dcos_url:
            api = self._api("core.dcos_url")
            path = "/mesos_dns/v1/hosts/leader.mesos"
            try:
                return leader_from_mesos_dns(api.get_json(path), api.url(path))
            except (ClusterUnreachable, ClusterAuthError, ClusterDataError):
                raise
            except ClusterError as error:
                self.stderr.write(f"Mesos DNS could not name the leader ({error}); asking Mesos.\n")
        api, prefix = self.mesos()
        path = prefix + "/api/v1"
        return leader_from_master_info(api.post_json(path, {"type": "GET_MASTER"}), api.url(path))

    def agent_address(self, value: str) -> str:
        """An agent's address by ID, or by a unique part of its ID, its host name or address.

        A full ID costs one small request when the master filters by it; anything
        else needs the list of agents, which is asked for only then.
        """
        from .cluster import agent_query
        from .target import agent_address, find_agent, looks_like_full_id

        api, prefix = self.mesos()
        seen = None
        if looks_like_full_id(value):
            seen = []

            def remembered(agents):
                for agent in agents:
                    seen.append(_essentials(agent))
                    yield agent

            agent = find_agent(remembered(api.get_agents(prefix + agent_query(value))), value)
            if agent is not None:
                return agent_address(agent)
            if len(seen) <= 1:
                seen = None  # the master filtered by the ID: ask for every agent
        from .nodes import agent_node, match_agent

        if seen is None:
            seen = [_essentials(agent) for agent in api.get_agents(prefix + "/master/slaves")]
        by_id = {agent["id"]: agent for agent in seen if agent is not None}
        nodes = [node for node in map(agent_node, by_id.values()) if node is not None]
        return agent_address(by_id[match_agent(nodes, value, api.base_url).id])

    def all_agents(self):
        """(every agent as a Node, the leading master's host name) from state-summary."""
        from .nodes import agent_node

        api, prefix = self.mesos()
        top = {"hostname": None}
        nodes = [node for node in map(agent_node, api.get_agents(prefix + "/master/state-summary", top)) if node]
        return nodes, top["hostname"]


def _essentials(agent) -> Optional[dict]:
    """What matching and connecting need of an agent entry: a few fields, not the whole entry."""
    if not isinstance(agent, dict) or not isinstance(agent.get("id"), str):
        return None
    return {key: agent[key] for key in ("id", "hostname", "pid", "attributes", "reserved_resources",
                                        "drain_info", "deactivated", "active") if key in agent}


def no_cluster_message(settings) -> str:
    if settings.config_path:
        where = f"The DC/OS config file {settings.config_path} has no core.dcos_url"
    else:
        where = "No DC/OS cluster is configured (no config file was found and DCOS_URL is not set)"
    return (
        f"{where}, so the cluster cannot be asked where the node is. Set a cluster up with "
        "`dcos cluster setup <url>` (or `dcos config set core.dcos_url <url>`, or set DCOS_URL), "
        "or name the node with --private-ip=<ip> and a proxy with --proxy-ip=<host>."
    )


def concurrently(first, second):
    """(first(), second()), the first run in a thread; its error wins when both fail."""
    import threading

    outcome = {}

    def run_first():
        try:
            outcome["value"] = first()
        except BaseException as error:  # handed to the main thread below
            outcome["error"] = error

    thread = threading.Thread(target=run_first, daemon=True)
    thread.start()
    try:
        second_value = second()
    finally:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
    return outcome["value"], second_value
