"""A stand-in for a DC/OS cluster's HTTP API, for tests, the demo and the benchmark.

It answers the endpoints `dcos node ssh` uses, shaped as ../shared/fixtures
shows, from a scenario file that it reads again whenever the file changes, so
a test can change the cluster's behaviour without restarting it. Every request
is appended to a log as one JSON line.

Run: python tests/clusterapi.py --listen HOST:PORT --scenario FILE --log FILE
     [--cert PEM --key PEM]

Scenario keys (all optional):
  metadata        body of GET /metadata (null: 404)
  leader_dns      body of GET /mesos_dns/v1/hosts/leader.mesos (null: 404)
  master_info     master_info of the operator API's GET_MASTER (null: 404)
  masters_dns     body of GET /mesos_dns/v1/hosts/master.mesos (default: leader_dns)
  net_nodes       body of GET /net/v1/nodes, the networking API (default: 404)
  slaves          agent entries for /mesos/master/slaves, state and state-summary
  tasks           task entries for /mesos/master/tasks, the master's task state
                  (clusterdata.task_entry makes one); default: none
  frameworks      the "frameworks" of state and state-summary
                  (clusterdata.framework_entry makes one); default: none
  filter_slave_id false to ignore ?slave_id= as Mesos before 1.1 does
  token           when set, requests must carry `Authorization: token=<token>`
  delays          {path: seconds}: wait before answering that path
  overrides       {path: {"status", "body", "content_type", "headers", "hang",
                  "raw", "raw_latin1"}}: a canned answer for that path (without query);
                  "hang": seconds to hold the connection without answering;
                  "raw": bytes (text) written as-is before closing;
                  "raw_latin1": the same, each character one byte.
  version         body of GET /dcos-metadata/dcos-version.json (null: 404)
  packages        {name: package definition}: the Cosmos package service
                  (POST /package/describe, /package/list-versions, /package/search,
                  GET /capabilities), as a DC/OS CLI installs a package's CLI from it;
                  a definition is package.json with "resource", "config" and "command"
                  (package_definition() makes one from cli/build.py's output)
  files           {path: local file}: served as-is (the packages' artifacts)

Besides, `/` answers 200 (the web UI) and HEAD /pkgpanda/active.buildinfo.full.json
answers as a cluster without authentication (or with the token) does, so that the
real DC/OS CLIs' `dcos cluster setup` works against it.
"""

import argparse
import hashlib
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Scenario:
    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()
        self._stamp = None
        self._data = {}

    def get(self):
        with self._lock:
            info = os.stat(self.path)
            stamp = (info.st_mtime_ns, info.st_ino, info.st_size)
            if stamp != self._stamp:
                with open(self.path, encoding="utf-8") as stream:
                    self._data = json.load(stream)
                self._stamp = stamp
            return self._data

    @property
    def stamp(self):
        return self._stamp


def make_handler(scenario, log_path):
    log_lock = threading.Lock()
    # Serialized answers, so that a 10,000-agent list costs the benchmark's client,
    # not this server, its time.
    encoded = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # the request log below replaces stderr chatter
            pass

        def _log(self, status, sent):
            entry = {
                "received": self._received,
                "method": self.command,
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "status": status,
                "bytes": sent,
                "time": time.time(),
            }
            if self.headers.get("Accept", "").startswith("application/vnd.dcos."):
                entry["accept"] = self.headers["Accept"]
            if self._body:
                entry["body"] = self._body.decode("utf-8", "replace")[:4096]
            with log_lock, open(log_path, "a", encoding="utf-8") as stream:
                stream.write(json.dumps(entry) + "\n")

        def _send(self, status, body, content_type="application/json", headers=None):
            data = body if isinstance(body, bytes) else body.encode("utf-8")
            # Logged before answering: a client that has its answer finds the request in the log.
            self._log(status, len(data))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _json(self, value, cache=False):
            if value is None:
                self._send(404, "Not Found\n", "text/plain")
                return
            key = (self.path, scenario.stamp)
            body = encoded.get(key) if cache else None
            if body is None:
                body = json.dumps(value).encode("utf-8")
                if cache:
                    encoded.clear()
                    encoded[key] = body
            self._send(200, body)

        def do_GET(self):
            self._answer(None)

        do_HEAD = do_GET

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            self._answer(self.rfile.read(length))

        def _answer(self, body):
            self._received = time.time()
            self._body = body
            state = scenario.get()
            url = urlsplit(self.path)
            path = url.path
            if path in state.get("delays", {}):
                time.sleep(float(state["delays"][path]))
            override = state.get("overrides", {}).get(path)
            if override is not None:
                self._override(override)
                return
            if path == "/":
                self._send(200, "<html><body>DC/OS</body></html>\n", "text/html")
                return
            token = state.get("token")
            if token and self.headers.get("Authorization") != "token=" + token:
                self._send(
                    401,
                    json.dumps({"title": "Unauthorized", "description": "Authentication required"}),
                    headers={"WWW-Authenticate": "acsjwt"},
                )
                return
            mesos = path[len("/mesos"):] if path.startswith("/mesos/") else path
            if path in state.get("files", {}):
                with open(state["files"][path], "rb") as stream:
                    self._send(200, stream.read(), "application/octet-stream")
            elif path == "/capabilities" or path.startswith("/package/"):
                self._cosmos(state.get("packages", {}), path.lstrip("/"), body)
            elif path == "/pkgpanda/active.buildinfo.full.json":
                self._json({})
            elif path == "/dcos-metadata/dcos-version.json":
                self._json(state.get("version"))
            elif path == "/metadata":
                self._json(state.get("metadata"))
            elif path == "/mesos_dns/v1/hosts/leader.mesos":
                self._json(state.get("leader_dns"))
            elif path == "/mesos_dns/v1/hosts/master.mesos":
                self._json(state.get("masters_dns", state.get("leader_dns")))
            elif path == "/net/v1/nodes":
                self._json(state.get("net_nodes"))
            elif mesos == "/api/v1" and self.command == "POST":
                call = json.loads(body or b"{}").get("type")
                info = state.get("master_info")
                if call != "GET_MASTER" or info is None:
                    self._send(400, "unsupported call\n", "text/plain")
                else:
                    self._json({"type": "GET_MASTER", "get_master": {"master_info": info}})
            elif mesos in ("/master/slaves", "/slaves"):
                slaves = state.get("slaves", [])
                wanted = parse_qs(url.query).get("slave_id")
                if wanted and state.get("filter_slave_id", True):
                    slaves = [agent for agent in slaves if agent.get("id") in wanted]
                self._json({"slaves": slaves, "recovered_slaves": []}, cache=True)
            elif mesos in ("/master/tasks", "/master/tasks.json", "/tasks", "/tasks.json"):
                self._json({"tasks": state.get("tasks", [])}, cache=True)
            elif mesos in ("/master/state", "/master/state.json", "/state", "/state.json"):
                leader = (state.get("master_info") or {}).get("pid", "master@127.0.0.1:5050")
                self._json(
                    {
                        "hostname": state.get("master_hostname", "master"),
                        "pid": leader,
                        "leader": leader,
                        "cluster": state.get("cluster", "simulated"),
                        "slaves": state.get("slaves", []),
                        "frameworks": state.get("frameworks", []),
                    },
                    cache=True,
                )
            elif mesos in ("/master/state-summary", "/state-summary"):
                self._json(
                    {
                        "hostname": state.get("master_hostname", "master"),
                        "cluster": state.get("cluster", "simulated"),
                        "slaves": state.get("slaves", []),
                        "frameworks": state.get("frameworks", []),
                    },
                    cache=True,
                )
            else:
                self._send(404, "Not Found\n", "text/plain")

        def _cosmos(self, packages, endpoint, body):
            """The package service: each answer in the media type and version the client
            accepts, or 400 (a client then tries the next version it knows)."""
            # The Go CLI accepts its answer's type and the error type, comma-separated.
            accept = self.headers.get("Accept", "").split(",")[0].strip()
            media, _, version = accept.partition(";charset=utf-8;version=")
            request = json.loads(body or b"{}")
            name = request.get("packageName")
            answers = {
                ("application/vnd.dcos.capabilities+json", "v1"):
                    lambda: {"capabilities": [{"name": "PACKAGE_MANAGEMENT"}, {"name": "SUPPORT_CLUSTER_REPORT"}]},
                ("application/vnd.dcos.package.describe-response+json", "v3"): lambda: {"package": packages[name]},
                ("application/vnd.dcos.package.describe-response+json", "v2"): lambda: packages[name],
                ("application/vnd.dcos.package.list-versions-response+json", "v1"):
                    lambda: {"results": {packages[name]["version"]: str(packages[name].get("releaseVersion", 0))}},
                ("application/vnd.dcos.package.search-response+json", "v1"):
                    lambda: {"packages": [{key: value for key, value in package.items()
                                           if key not in ("resource", "config", "command")}
                                          for package in packages.values()]},
            }
            answer = answers.get((media, version))
            if answer is None or not media.startswith("application/vnd.dcos." + endpoint.replace("/", ".")):
                self._cosmos_error(400, "NotImplemented", f"{endpoint} in {accept!r} is not implemented here")
            elif name is not None and name not in packages:
                self._cosmos_error(400, "PackageNotFound", f"Package [{name}] not found")
            else:
                self._send(200, json.dumps(answer()), accept)

        def _cosmos_error(self, status, kind, message):
            self._send(status, json.dumps({"type": kind, "message": message}),
                       "application/vnd.dcos.package.error+json;charset=utf-8;version=v1")

        def _override(self, override):
            if override.get("hang"):
                self._log("hang", 0)
                time.sleep(float(override["hang"]))
                self.close_connection = True
                return
            if "raw" in override or "raw_latin1" in override:
                # raw_latin1: one byte per character, for bytes that are not UTF-8 (a lone 0xb2, "²")
                if "raw" in override:
                    data = override["raw"].encode("utf-8")
                else:
                    data = override["raw_latin1"].encode("latin-1")
                self._log("raw", len(data))
                self.wfile.write(data)
                self.wfile.flush()
                self.close_connection = True
                return
            self._send(
                int(override.get("status", 200)),
                override.get("body", ""),
                override.get("content_type", "application/json"),
                override.get("headers"),
            )

    return Handler


def write_scenario(path, scenario):
    """Replace the scenario file in one step, so the server never reads half of it."""
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as stream:
        json.dump(scenario, stream)
    os.replace(temporary, path)
    # The server notices changes by mtime, inode and size; make two quick writes differ.
    stamp = time.time_ns()
    os.utime(path, ns=(stamp, stamp))


def package_definition(package_dir):
    """A package as the package service describes it, from a DC/OS package's files
    (package.json with resource.json, config.json and command.json beside it)."""
    with open(os.path.join(package_dir, "package.json"), encoding="utf-8") as stream:
        definition = json.load(stream)
    for key in ("resource", "config", "command"):
        path = os.path.join(package_dir, key + ".json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as stream:
                definition[key] = json.load(stream)
    definition.setdefault("releaseVersion", 0)
    return definition


def plugin_package(name, version, archive, url):
    """A package whose only part is a CLI plugin archive for Linux (served at url), as the
    package service describes the core plugin's package to the Go CLI."""
    with open(archive, "rb") as stream:
        digest = hashlib.sha256(stream.read()).hexdigest()
    return {"packagingVersion": "4.0", "name": name, "version": version, "releaseVersion": 0,
            "maintainer": "tests", "description": f"{name} (tests)", "tags": [], "selected": True,
            "framework": False,
            "resource": {"cli": {"binaries": {"linux": {"x86-64": {
                "kind": "zip", "url": url, "contentHash": [{"algo": "sha256", "value": digest}]}}}}}}


def served_files(folder, url_path):
    """{url_path/<name>: file} for each file directly in folder, for the scenario's `files`."""
    return {f"{url_path.rstrip('/')}/{name}": os.path.join(folder, name) for name in sorted(os.listdir(folder))
            if os.path.isfile(os.path.join(folder, name))}


def read_log(path):
    """The requests the server has answered, oldest first."""
    try:
        with open(path, encoding="utf-8") as stream:
            return [json.loads(line) for line in stream if line.strip()]
    except FileNotFoundError:
        return []


class LoopbackStandIn:
    """This server in a child process on 127.0.0.1 (a free port), optionally with TLS.

    With `scenario` None, the scenario file must already be in `workdir`.
    """

    def __init__(self, workdir, scenario=None, cert=None, key=None):
        self.scenario_path = os.path.join(workdir, "scenario.json")
        self.log = os.path.join(workdir, "requests.jsonl")
        if scenario is not None:
            write_scenario(self.scenario_path, scenario)
        port_file = os.path.join(workdir, "port")
        argv = [sys.executable, os.path.abspath(__file__), "--listen", "127.0.0.1:0",
                "--scenario", self.scenario_path, "--log", self.log, "--port-file", port_file]
        if cert:
            argv += ["--cert", cert, "--key", key]
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60  # a loaded machine (mutation testing on every core) starts Python slowly
        while not os.path.exists(port_file):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("the cluster API stand-in did not start")
            time.sleep(0.02)
        with open(port_file, encoding="utf-8") as stream:
            self.port = int(stream.read())
        self.url = f"{'https' if cert else 'http'}://127.0.0.1:{self.port}"

    def write_scenario(self, scenario):
        write_scenario(self.scenario_path, scenario)

    def requests(self):
        return read_log(self.log)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=10)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Stand-in DC/OS cluster API.")
    parser.add_argument("--listen", required=True, help="HOST:PORT (port 0 picks one)")
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--port-file", help="write the bound port here once listening")
    options = parser.parse_args(argv)
    host, _, port = options.listen.rpartition(":")
    server = ThreadingHTTPServer((host.strip("[]"), int(port)), make_handler(Scenario(options.scenario), options.log))
    server.daemon_threads = True
    if options.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(options.cert, options.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    if options.port_file:
        with open(options.port_file + ".tmp", "w", encoding="utf-8") as stream:
            stream.write(str(server.server_address[1]))
        os.replace(options.port_file + ".tmp", options.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
