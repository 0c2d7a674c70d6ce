"""`dcos node ssh --check`: every prerequisite of a connection, checked without opening a shell.

Each check gives ok, fail (with the fix) or skip (it depends on one that failed,
so that one fault shows as one failure). Every network step has a timeout.
"""

import glob
import json
import os
import select
import socket
import subprocess
import time
from typing import List, NamedTuple, Optional, Tuple

from .errors import ClusterAuthError, ClusterUnreachable, ConfigError, NodeSshError, shown

STEP_SECONDS = 5  # each connection attempt; a whole ssh probe gets a few of these


class Check(NamedTuple):
    name: str
    status: str  # "ok", "fail" or "skip"
    detail: str
    fix: str = ""

    def as_json(self):
        return self._asdict()


def _port(options, default: int = 22) -> int:
    """The port an OpenSSH option list asks for (the first Port wins, as in ssh)."""
    for option in options:
        key, _, value = option.partition("=")
        if key.lower() == "port" and value.isdigit():
            return int(value)
    return default


def _banner(host: str, port: int) -> Tuple[bool, str]:
    """Whether host:port answers as an SSH server; (False, why) otherwise."""
    try:
        with socket.create_connection((host, port), timeout=STEP_SECONDS) as connection:
            connection.settimeout(STEP_SECONDS)
            line = connection.recv(256).split(b"\n")[0].strip().decode("ascii", "replace")
    except socket.timeout:
        return False, "no answer within %d seconds" % STEP_SECONDS
    except OSError as error:
        return False, error.strerror or str(error)
    if not line.startswith("SSH-"):
        return False, f"something other than an SSH server answers ({shown(line, 60)})"
    return True, line


def _run(argv: List[str], env, seconds: float, shell: Optional[str] = None,
         first_line_only: bool = False) -> Tuple[Optional[int], str, str]:
    """(exit status, or None when it did not end in time; its first line of output; its
    stderr) of a probe with no input. With `first_line_only`, the probe is ended as soon
    as it has written a line (a tunnel that would otherwise stay open)."""
    if shell:
        env = dict(env, SHELL=shell)
    try:
        process = subprocess.Popen(argv, env=dict(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
    except OSError as error:
        return 127, "", error.strerror or str(error)
    deadline = time.monotonic() + seconds
    output = b""
    while time.monotonic() < deadline and not (first_line_only and b"\n" in output):
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                break
            output += chunk
    got_line = first_line_only and b"\n" in output
    try:
        # A probe that wrote its line is a tunnel left open: end it now. Otherwise it may
        # have closed its output a moment before exiting: give it the rest of its time.
        status = process.wait(timeout=0 if got_line else max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        status = None
        process.kill()
    _, stderr = process.communicate()
    return status, output.split(b"\n")[0].decode("utf-8", "replace").strip(), stderr.decode("utf-8", "replace")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return shown(lines[-1], 200) if lines else "no message"


def _login_fix(stderr: str, who: str, where: str) -> str:
    if "Host key verification failed" in stderr:
        return (f"{where} does not know {who}'s host key, or it changed. Connect once by hand and "
                "check the fingerprint it shows, or pass --option StrictHostKeyChecking=accept-new.")
    if "Permission denied" in stderr:
        return (f"{who} does not accept any key you offer. Add the cluster's key to your agent with "
                "`ssh-add ~/.ssh/<key>.pem`, and check the user (--user, or node.ssh_user).")
    return f"ssh said: {_last_line(stderr)}"


def run_checks(choices, settings, lookups, finders, env, stdout, as_json: bool) -> int:
    from . import runner
    from .sshcmd import build_argv, display

    checks: List[Check] = []
    add = checks.append
    def not_ok(name):
        return any(check.name == name and check.status != "ok" for check in checks)

    def failed(name):
        return any(check.name == name and check.status == "fail" for check in checks)

    # -- configuration, the cluster, the target and the proxy --------------------
    where = settings.config_path or "no config file (the environment only)"
    find_proxy, find_target = finders
    needs_cluster = bool(find_proxy or find_target)
    cluster_url = settings.dcos_url or settings.mesos_master_url
    if needs_cluster and not (settings.dcos_url or settings.mesos_master_url):
        from .lookups import no_cluster_message

        add(Check("configuration", "fail", where, no_cluster_message(settings)))
    else:
        add(Check("configuration", "ok", f"{where}; core.dcos_url = {settings.dcos_url or '(none)'}"))

    proxy = choices.proxy_host
    target = choices.target_value if choices.target_kind == "address" else None
    proxy_error = target_error = None
    if not needs_cluster:
        add(Check("cluster API", "skip", "not needed: the node and the proxy are named by address"))
    elif not_ok("configuration"):
        add(Check("cluster API", "skip", "no cluster configured"))
    else:
        if find_target:
            try:
                target = find_target()
            except NodeSshError as error:
                target_error = error
        if find_proxy:
            try:
                proxy = find_proxy()
            except NodeSshError as error:
                proxy_error = error
        unreachable = next((error for error in (target_error, proxy_error)
                            if isinstance(error, (ClusterUnreachable, ClusterAuthError, ConfigError))), None)
        if unreachable:
            add(Check("cluster API", "fail", f"{cluster_url}", str(unreachable)))
        else:
            add(Check("cluster API", "ok", f"{cluster_url} answered"
                      + (" (with your token)" if settings.acs_token else "")))
    api_ok = not not_ok("cluster API") and not not_ok("configuration")

    if target_error and api_ok:
        add(Check("target", "fail", f"{choices.target_kind} {choices.target_value or ''}".strip(), str(target_error)))
    elif target is None:
        add(Check("target", "skip", "not looked up: the cluster API failed"))
    else:
        named = {"leader": "the leading master", "agent": f"agent {choices.target_value}",
                 "address": "--private-ip"}[choices.target_kind]
        add(Check("target", "ok", f"{named} at {target}"))

    if choices.proxy_kind is None:
        add(Check("proxy", "ok", "none: a direct connection"))
    elif proxy_error and api_ok:
        add(Check("proxy", "fail", "--master-proxy", str(proxy_error)))
    elif proxy is None:
        add(Check("proxy", "skip", "not looked up: the cluster API failed"))
    else:
        source = {"master": lookups.proxy_source, "flag": "--proxy-ip",
                  "config": "ssh_proxy_ip in the configuration"}[choices.proxy_kind]
        mode = "jump mode (ssh -W)" if choices.jump else "agent forwarding"
        add(Check("proxy", "ok", f"{proxy} ({source}); {mode}"))

    # -- this machine -------------------------------------------------------------
    client_path = None
    try:
        client_path = runner.find_client(choices.client, choices.plink)
        status, first, errors = _run([client_path, "-V"], env, STEP_SECONDS)
        version = first or _last_line(errors)
        add(Check("ssh client", "ok", f"{client_path} ({version})"))
    except NodeSshError as error:
        add(Check("ssh client", "fail", choices.client, str(error)))

    forwarding = choices.proxy_kind is not None and not choices.jump
    if client_path is None:
        add(Check("ssh-agent", "skip", "no ssh client to ask the agent with"))
    else:
        try:
            runner.check_agent(env, client_path, choices.plink)
            add(Check("ssh-agent", "ok", _agent_keys(env, client_path)))
        except NodeSshError as error:
            if forwarding:
                add(Check("ssh-agent", "fail", "needed: the proxy hop forwards it", str(error)))
            else:
                add(Check("ssh-agent", "ok", "not needed here (no agent forwarding); keys come from your ssh "
                                             "config or --option IdentityFile"))

    add(_key_files())

    # -- the network, as the real run will cross it ------------------------------
    first_hop = proxy if choices.proxy_kind is not None else target
    first_port = _port(choices.proxy_options + choices.options) if choices.proxy_kind else _port(choices.options)
    if first_hop is None:
        add(Check("first hop port", "skip", "no address to try"))
    else:
        reachable, detail = _banner(first_hop, first_port)
        if reachable:
            add(Check("first hop port", "ok", f"{first_hop}:{first_port} answers as an SSH server ({detail})"))
        else:
            add(Check("first hop port", "fail", f"{first_hop}:{first_port}: {detail}",
                      _port_fix(choices, lookups.proxy_source, first_hop)))

    prerequisites = ["ssh client", "first hop port", "target"] + (["ssh-agent"] if forwarding else [])
    blocked = next((name for name in prerequisites if not_ok(name)), None)
    probe_options = ("BatchMode=yes", f"ConnectTimeout={STEP_SECONDS}")
    if choices.proxy_kind is not None:
        if blocked:
            add(Check("proxy login", "skip", f"not tried: {blocked} failed"))
            add(Check("node port", "skip", f"not tried: {blocked} failed"))
        else:
            checks.extend(_through_proxy(choices, client_path, proxy, target, probe_options, env))
        # A node port that could not be tested (no TCP forwarding on the proxy) blocks nothing.
        blocked = blocked or next((name for name in ("proxy login", "node port") if failed(name)), None)

    plan = choices.plan(proxy, target or "", tty=False)._replace(options=probe_options + choices.options,
                                                                 command=("true",))
    if blocked or target is None:
        add(Check("node login", "skip", f"not tried: {blocked or 'target'} failed"))
    else:
        argv = build_argv(plan)
        status, _, errors = _run(argv, env, 4 * STEP_SECONDS,
                                 shell="/bin/sh" if choices.jump and proxy else None)
        who = f"{choices.user}@{target}"
        if status == 0:
            add(Check("node login", "ok", f"{who} accepts your key (`{display(argv)}`)"))
        elif status is None:
            add(Check("node login", "fail", f"{who}: no answer in time", "The node or the proxy is slow or "
                      "drops the connection; try again, or check the node's sshd."))
        else:
            where = "The master" if forwarding else "This machine"
            add(Check("node login", "fail", f"{who}: {_last_line(errors)}", _login_fix(errors, "the node", where)))

    return _report(checks, stdout, as_json)


def _through_proxy(choices, client_path, proxy, target, probe_options, env) -> List[Check]:
    """Log in to the proxy with the key only (BatchMode), and ask it for a tunnel to the
    node's port (ssh -W) without running anything there: two verdicts from one probe."""
    who = f"{choices.user}@{proxy}"
    if choices.plink:
        argv = [client_path, "-batch", "-T", "-l", choices.user, proxy, "true"]
        status, _, errors = _run(argv, env, 3 * STEP_SECONDS)
        login = Check("proxy login", "ok", f"{who} accepts your key") if status == 0 else Check(
            "proxy login", "fail", f"{who}: {_last_line(errors)}", _login_fix(errors, "the proxy", "This machine"))
        return [login, Check("node port", "skip", "not tested with plink; the node login below tries the path")]
    node_port = _port(choices.options)
    argv = [client_path, "-T", "-o", "LogLevel=VERBOSE"]
    if choices.config_file:
        argv += ["-F", choices.config_file]
    for option in probe_options + choices.proxy_options + choices.options:
        argv += ["-o", option]
    argv += ["-W", f"[{target}]:{node_port}", f"{choices.user}@{proxy}"]
    status, banner, errors = _run(argv, env, 3 * STEP_SECONDS, first_line_only=True)
    authenticated = "Authenticated to" in errors
    if not authenticated:
        if status is None:
            return [Check("proxy login", "fail", f"{who}: no answer in time", "Check that the proxy's sshd is "
                          "healthy; a firewall may drop the connection after the handshake."),
                    Check("node port", "skip", "not tried: proxy login failed")]
        return [Check("proxy login", "fail", f"{who}: {_last_line(errors)}",
                      _login_fix(errors, "the proxy", "This machine")),
                Check("node port", "skip", "not tried: proxy login failed")]
    checks = [Check("proxy login", "ok", f"{who} accepts your key")]
    where = f"{target}:{node_port}"
    if banner.startswith("SSH-"):
        checks.append(Check("node port", "ok", f"{where} answers through the proxy ({banner})"))
    elif "administratively prohibited" in errors:
        checks.append(Check("node port", "skip", f"{where}: the proxy allows no TCP forwarding, so this cannot "
                            "be tested without a shell there; the node login below tries the path"))
    else:
        reason = _last_line(errors) if errors.strip() else "no answer in time"
        checks.append(Check("node port", "fail", f"{where} through the proxy: {reason}",
                            f"Nothing answers on port {node_port} of {target} from the proxy: sshd on the node "
                            "may be stopped, or a firewall (security group) closes the port to the masters."))
    return checks


def _port_fix(choices, proxy_source, host) -> str:
    if choices.proxy_kind == "master":
        return (f"Nothing answers as an SSH server at {host}, which the plugin took from {proxy_source}. If "
                "that is not the master's public address (it may be a private one, or a stopped host), name "
                "the right one with --proxy-ip=<address>, or set node.ssh_proxy_ip; else check that sshd "
                "runs on the master and that port 22 is open to you.")
    if choices.proxy_kind is not None:
        return (f"Nothing answers as an SSH server at {host}: check the proxy's address, that its sshd runs "
                "and that its port 22 is open to you.")
    return (f"Nothing answers as an SSH server at {host} from here: the node may be reachable only "
            "through a master; add --master-proxy (or --proxy-ip=<bastion>).")


def _agent_keys(env, client_path) -> str:
    from . import runner

    ssh_add = runner.which("ssh-add", path=os.path.dirname(client_path)) or runner.which("ssh-add")
    if not ssh_add or not env.get("SSH_AUTH_SOCK"):
        return "available"
    listing = subprocess.run([ssh_add, "-l"], env=dict(env), capture_output=True, text=True, timeout=STEP_SECONDS)
    keys = [line for line in listing.stdout.splitlines() if line.strip()]
    return f"{len(keys)} key{'s' if len(keys) != 1 else ''} at {env['SSH_AUTH_SOCK']}"


def _key_files() -> Check:
    if os.name != "posix":
        return Check("key files", "ok", "not checked on Windows (file permissions are ACLs there)")
    folder = os.path.join(os.path.expanduser("~"), ".ssh")
    pems = sorted(glob.glob(os.path.join(folder, "*.pem")))
    if not pems:
        return Check("key files", "ok", f"no .pem files in {folder}")
    open_to_others = [path for path in pems if os.stat(path).st_mode & 0o077]
    if open_to_others:
        return Check("key files", "fail", "readable by others: " + ", ".join(open_to_others),
                     "ssh refuses private keys others can read. Run `chmod 600 "
                     + " ".join(open_to_others) + "`.")
    return Check("key files", "ok", f"{len(pems)} .pem file{'s' if len(pems) != 1 else ''} in {folder}, "
                                    "readable only by you")


def _report(checks: List[Check], stdout, as_json: bool) -> int:
    failures = [check for check in checks if check.status == "fail"]
    if as_json:
        stdout.write(json.dumps({"ok": not failures, "checks": [check.as_json() for check in checks]}, indent=2)
                     + "\n")
        return 1 if failures else 0
    width = max(len(check.name) for check in checks)
    for check in checks:
        stdout.write(f"{check.status.upper() if check.status == 'fail' else check.status:<5} "
                     f"{check.name:<{width}}  {check.detail}\n")
        if check.fix:
            stdout.write(f"{'':<5} {'':<{width}}  fix: {check.fix}\n")
    if failures:
        stdout.write(f"\n{len(failures)} of {len(checks)} checks failed.\n")
        return 1
    stdout.write(f"\nAll {len(checks)} checks passed (or were not needed): the connection should work.\n")
    return 0
