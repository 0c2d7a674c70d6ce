"""The HTTP client of the cluster API (dcos_node_ssh/cluster/transport.py), in process.

Against: tables for proxy_for; hostile servers written here as small raw-socket
servers on 127.0.0.1 (each in a thread, every loop bounded in time); the cluster
API stand-in of tests/clusterapi.py, plain and with TLS; and a real tinyproxy in
front of it (skipped, with the reason, when tinyproxy is not installed).
"""

import base64
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from dcos_node_ssh.cluster.transport import MAX_BODY, Answer, HttpClient, Proxy, proxy_for
from dcos_node_ssh.errors import ClusterAuthError, ClusterError, ClusterUnreachable, ConfigError

TOKEN = "eyJhbGciOiJSUzI1NiJ9.transport-test-token.c2lnbmF0dXJl"
SECRET = "hunter2-secret"  # a password that must never be printed


def basic(pair):
    return "Basic " + base64.b64encode(pair).decode("ascii")


def marker():
    """A path no other request uses, to find this request in a log."""
    return f"/metadata?marker={time.monotonic_ns()}"


def logged(server, path, seconds=3.0, requests=None):
    """The stand-in's log entry for path (it logs just after answering: wait for it);
    `requests` lists the log, the server's own by default."""
    deadline = time.monotonic() + seconds
    while True:
        entries = [entry for entry in (requests or server.requests)() if entry["path"] == path]
        if entries or time.monotonic() > deadline:
            assert entries, f"{path} is not in the stand-in's request log"
            return entries[-1]
        time.sleep(0.02)


# -- proxy_for: which proxy, from which variable -------------------------------------------------------

HTTPS = ("https", "cluster.example", 443)
HTTP = ("http", "cluster.example", 80)


@pytest.mark.parametrize("target, env, expected", [
    (HTTPS, {}, None),
    (HTTPS, {"https_proxy": "http://proxy.corp:3128"},
     Proxy("proxy.corp", 3128, None, "http://proxy.corp:3128", "https_proxy")),
    (HTTPS, {"HTTPS_PROXY": "http://proxy.corp:3128"},
     Proxy("proxy.corp", 3128, None, "http://proxy.corp:3128", "HTTPS_PROXY")),
    # lower case wins when both are set, even empty (curl's rule)
    (HTTPS, {"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2"},
     Proxy("lower", 1, None, "http://lower:1", "https_proxy")),
    (HTTPS, {"https_proxy": "", "HTTPS_PROXY": "http://upper:2"}, None),
    (HTTPS, {"https_proxy": "   "}, None),
    # each scheme has its variable
    (HTTPS, {"http_proxy": "http://proxy:3128", "HTTP_PROXY": "http://proxy:3128"}, None),
    (HTTP, {"https_proxy": "http://proxy:3128"}, None),
    (HTTP, {"http_proxy": "proxy:3128"}, Proxy("proxy", 3128, None, "http://proxy:3128", "http_proxy")),
    (HTTP, {"HTTP_PROXY": "http://proxy:3128/"}, Proxy("proxy", 3128, None, "http://proxy:3128", "HTTP_PROXY")),
    # no scheme: http://; no port: 80, as requests does
    (HTTPS, {"https_proxy": "proxy.corp"}, Proxy("proxy.corp", 80, None, "http://proxy.corp:80", "https_proxy")),
    (HTTPS, {"https_proxy": "HTTP://Proxy.Corp:8080"},
     Proxy("proxy.corp", 8080, None, "http://proxy.corp:8080", "https_proxy")),
    (HTTPS, {"https_proxy": "http://[2001:db8::3]:3128"},
     Proxy("2001:db8::3", 3128, None, "http://[2001:db8::3]:3128", "https_proxy")),
    (HTTPS, {"https_proxy": " http://proxy:3128 "}, Proxy("proxy", 3128, None, "http://proxy:3128", "https_proxy")),
    # credentials: percent-decoded into the Basic value, never in the display
    (HTTPS, {"https_proxy": f"http://alice:{SECRET}@proxy:3128"},
     Proxy("proxy", 3128, basic(f"alice:{SECRET}".encode()), "http://proxy:3128", "https_proxy")),
    (HTTPS, {"https_proxy": "http://d%40main%5Cuser:p%3As%40ss%2Fw%C3%B6rd@proxy:3128"},
     Proxy("proxy", 3128, basic("d@main\\user:p:s@ss/wörd".encode()), "http://proxy:3128", "https_proxy")),
    (HTTPS, {"https_proxy": "http://alice@proxy:3128"},
     Proxy("proxy", 3128, basic(b"alice:"), "http://proxy:3128", "https_proxy")),
])
def test_proxy_for(target, env, expected):
    assert proxy_for(*target, env) == expected


@pytest.mark.parametrize("host, port, no_proxy, bypassed", [
    ("cluster.example", 443, "*", True),
    ("cluster.example", 443, "cluster.example", True),
    ("api.cluster.example", 443, "cluster.example", True),
    ("api.cluster.example", 443, ".cluster.example", True),
    ("cluster.example", 443, ".cluster.example", True),
    ("api.cluster.example", 443, "*.cluster.example", True),
    ("badcluster.example", 443, "cluster.example", False),
    ("badcluster.example", 443, ".cluster.example", False),
    ("cluster.example", 443, "api.cluster.example", False),
    ("cluster.example", 443, "CLUSTER.Example", True),
    ("cluster.example", 443, "other.example , cluster.example", True),
    ("cluster.example", 443, "other.example,,  ", False),
    ("cluster.example", 443, "cluster.example:443", True),
    ("cluster.example", 443, "cluster.example:8443", False),
    ("cluster.example", 443, "", False),
    ("10.0.4.1", 443, "10.0.4.1", True),
    ("10.0.4.1", 443, "10.0.4.2", False),
    ("10.0.4.1", 443, "10.0.0.0/8", True),
    ("11.0.4.1", 443, "10.0.0.0/8", False),
    ("10.0.4.1", 443, "10.0.4.0/24:443", True),
    ("10.0.4.1", 443, "10.0.4.0/24:80", False),
    ("10.0.4.1", 443, "10.0.4.0/33, 10.0.4.1/40", False),  # not networks: ignored
    ("10.0.4.1", 443, "10.0", False),  # names do not match addresses by prefix
    ("cluster.example", 443, "10.0.0.0/8", False),  # names are not resolved
    ("2001:db8::5", 443, "2001:db8::/32", True),
    ("2001:db8::5", 443, "2001:DB8::5", True),
    ("2001:db8::5", 443, "[2001:db8::5]:443", True),
    ("2001:db8::5", 443, "[2001:db8::5]:80", False),
    ("2001:db8::5", 443, "2001:db9::/32", False),
    ("2001:db8::5", 443, "10.0.0.0/8", False),
    ("10.0.4.1", 443, "::/0", False),
])
def test_no_proxy(host, port, no_proxy, bypassed):
    env = {"https_proxy": "http://proxy:3128", "no_proxy": no_proxy}
    assert (proxy_for("https", host, port, env) is None) == bypassed
    upper = {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": no_proxy}
    assert (proxy_for("https", host, port, upper) is None) == bypassed


def test_lower_case_no_proxy_wins():
    env = {"https_proxy": "http://proxy:3128", "no_proxy": "other.example", "NO_PROXY": "cluster.example"}
    assert proxy_for("https", "cluster.example", 443, env) is not None


@pytest.mark.parametrize("value, says", [
    ("https://proxy.corp:443", "https:// proxy"),
    ("socks5://proxy.corp:1080", "socks5:// proxy"),
    ("socks5h://proxy.corp:1080", "socks5h:// proxy"),
    ("ftp://proxy.corp", "not an http:// proxy URL"),
    ("http://proxy.corp:notaport", "not a proxy URL"),
    ("http://proxy.corp:99999", "not a proxy URL"),
    ("http://[2001:db8::3:3128", "not a proxy URL"),
    ("http://", "no host"),
    ("http://:3128", "no host"),
    ("http://proxy.corp:0", "port 0"),
    ("http://pröxy.corp:3128", "xn--"),
    ("http://proxy corp:3128", "spaces"),
    ("http://proxy.corp:3128\r\nX-Evil: 1", "control characters"),
    (f"socks5://alice:{SECRET}@proxy.corp:1080", "socks5:// proxy"),
    (f"http://alice:{SECRET}@proxy.corp:nope", "not a proxy URL"),
    (f"http://alice:{SECRET}/with/slash@proxy.corp:3128x", "not a proxy URL"),
])
def test_unusable_proxy_is_a_config_error_naming_the_variable(value, says):
    with pytest.raises(ConfigError) as caught:
        proxy_for("https", "cluster.example", 443, {"HTTPS_PROXY": value})
    message = str(caught.value)
    assert message.startswith("HTTPS_PROXY is ") and says in message, message
    assert "http://proxy:port" in message and SECRET not in message


def test_unusable_proxy_is_not_read_for_a_host_in_no_proxy():
    assert proxy_for("https", "cluster.example", 443, {"HTTPS_PROXY": "socks5://x", "NO_PROXY": "*"}) is None


def test_client_refuses_an_unusable_proxy_before_connecting():
    with pytest.raises(ConfigError, match="https_proxy"):
        HttpClient("https://cluster.example", env={"https_proxy": "socks5://proxy:1080"})


# -- values that cannot be sent, and what is shown -----------------------------------------------------


@pytest.mark.parametrize("token", [
    TOKEN + "\r\nX-Injected: 1", TOKEN + "\n", "\r" + TOKEN, TOKEN + "\x00", TOKEN + "\x7f", TOKEN + "\x1b[31m",
    TOKEN + " more", TOKEN + "é", "tök",
])
def test_unsendable_token_is_refused_before_connecting(raw_server, token):
    server = raw_server(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
    with pytest.raises(ConfigError) as caught:
        HttpClient(server.url, token=token).request("GET", "/metadata")
    message = str(caught.value)
    assert "dcos auth login" in message and token.strip() not in message and "transport-test-token" not in message
    time.sleep(0.1)
    assert server.connections == 0


def test_url_outside_ascii_names_the_xn_form():
    with pytest.raises(ConfigError) as caught:
        HttpClient(f"https://admin:{SECRET}@bücher.example/", setting="core.dcos_url")
    message = str(caught.value)
    assert "core.dcos_url" in message and "xn--" in message and SECRET not in message


@pytest.mark.parametrize("url", [
    "ftp://203.0.113.5", "not a url", "http://", "https://[::1", "203.0.113.5", "http://203.0.113.5:0",
    "http://203.0.113.5:http", "http://203.0.113.5/a path", "http://203.0.113.5/\r\nX: 1",
    f"http://admin:{SECRET}@203.0.113.5:notaport", f"http://admin:{SECRET}/x@203.0.113.5:notaport",
])
def test_url_that_is_not_http_is_refused_without_credentials(url):
    with pytest.raises(ConfigError) as caught:
        HttpClient(url, setting="core.dcos_url")
    message = str(caught.value)
    assert "not an http:// or https:// URL" in message and "dcos config set core.dcos_url" in message
    assert SECRET not in message


def test_url_is_shown_without_credentials_or_trailing_slash():
    client = HttpClient(f"http://admin:{SECRET}@Cluster.Example:8080/prefix/")
    assert client.base_url == "http://Cluster.Example:8080/prefix"
    assert client.url("/metadata") == "http://Cluster.Example:8080/prefix/metadata"
    assert HttpClient("https://cluster.example").url("/x") == "https://cluster.example/x"


def test_transport_does_not_import_urllib_request():
    code = ("import sys, dcos_node_ssh.errors; before = set(sys.modules); "
            "import dcos_node_ssh.cluster.transport; "
            "print(sorted(m for m in set(sys.modules) - before if m.startswith(('urllib.request', 'ipaddress'))))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "urllib.request" not in result.stdout


# -- raw-socket servers ----------------------------------------------------------------------------


class RawServer:
    """A TCP server on 127.0.0.1 that reads each request's head (and a body of the
    Content-Length it announces, up to 64 KiB) and then runs `handle(connection, stop)`.
    Everything ends by itself: the server accepts for at most `lifetime` seconds, each
    connection has a 5 s socket timeout, and handlers watch `stop` and their own clock."""

    def __init__(self, handle, lifetime=30.0, read_request=True):
        self.handle = handle
        self.read_request = read_request
        self.requests = []
        self.connections = 0
        self.stop = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.deadline = time.monotonic() + lifetime
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._one, args=(connection,), daemon=True).start()

    def _one(self, connection):
        with connection:
            connection.settimeout(5)
            try:
                if self.read_request:
                    self.requests.append(read_request(connection))
                self.handle(connection, self.stop)
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.listener.close()


def read_request(connection):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        piece = connection.recv(4096)
        if not piece:
            break
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            wanted = min(int(value), 65536)
            while len(body) < wanted:
                piece = connection.recv(4096)
                if not piece:
                    break
                body += piece
    return head + b"\r\n\r\n" + body


def answer(data):
    def handle(connection, stop):
        connection.sendall(data)
    return handle


def trickle(head, data, interval=0.5, seconds=8.0):
    """Send head, then one byte of data every interval (data repeats), for `seconds` at most."""
    def handle(connection, stop):
        connection.sendall(head)
        end = time.monotonic() + seconds
        index = 0
        while not stop.is_set() and time.monotonic() < end:
            connection.sendall(data[index % len(data):index % len(data) + 1])
            index += 1
            stop.wait(interval)
    return handle


def repeat(head, data, interval=0.0, total=8 << 20, seconds=8.0):
    """Send head, then data again and again: `total` bytes or `seconds` at most."""
    def handle(connection, stop):
        connection.sendall(head)
        sent = 0
        end = time.monotonic() + seconds
        while sent < total and not stop.is_set() and time.monotonic() < end:
            connection.sendall(data)
            sent += len(data)
            if interval:
                stop.wait(interval)
    return handle


def silent(seconds=8.0):
    def handle(connection, stop):
        stop.wait(seconds)
    return handle


@pytest.fixture
def raw_server():
    servers = []

    def start(handle, **options):
        server = RawServer(handle, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def failure(client, path="/metadata", method="GET", body=None, timeout=None):
    """The ClusterError a request ends with, and how long it took."""
    start = time.monotonic()
    with pytest.raises(ClusterError) as caught:
        client.request(method, path, body, timeout=timeout)
    return caught.value, time.monotonic() - start


OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


# -- what goes on the wire -----------------------------------------------------------------------


def test_request_head_and_body_on_the_wire(raw_server):
    server = raw_server(answer(OK_HEAD + b"Content-Length: 2\r\n\r\n{}"))
    client = HttpClient(server.url + "/prefix/", token=TOKEN)
    assert client.request("GET", "/metadata?x=1") == Answer(b"{}", "application/json")
    assert client.request("POST", "/mesos/api/v1", b'{"type": "GET_MASTER"}').body == b"{}"
    get, post = (request.decode("latin-1") for request in server.requests)
    assert get.split("\r\n") == [
        "GET /prefix/metadata?x=1 HTTP/1.1", f"Host: 127.0.0.1:{server.port}", "Accept: application/json",
        "User-Agent: dcos-node-ssh", "Connection: close", f"Authorization: token={TOKEN}", "", ""]
    assert post.split("\r\n") == [
        "POST /prefix/mesos/api/v1 HTTP/1.1", f"Host: 127.0.0.1:{server.port}", "Accept: application/json",
        "User-Agent: dcos-node-ssh", "Connection: close", "Content-Type: application/json",
        "Content-Length: 22", f"Authorization: token={TOKEN}", "", '{"type": "GET_MASTER"}']


def test_no_token_no_authorization_header(raw_server):
    server = raw_server(answer(OK_HEAD + b"Content-Length: 2\r\n\r\n{}"))
    HttpClient(server.url).request("GET", "/metadata")
    assert b"authorization" not in server.requests[0].lower()


def test_http_through_a_proxy_asks_for_the_whole_url_with_proxy_credentials(raw_server):
    """The cluster's name is never looked up here: the proxy gets the absolute URL."""
    proxy = raw_server(answer(OK_HEAD + b"Content-Length: 2\r\n\r\n{}"))
    env = {"http_proxy": f"http://alice:{SECRET}@127.0.0.1:{proxy.port}"}
    debug = io.StringIO()
    client = HttpClient("http://cluster.example:8080/base", token=TOKEN, env=env, debug=debug)
    assert client.request("GET", "/metadata").body == b"{}"
    lines = proxy.requests[0].decode("latin-1").split("\r\n")
    assert lines[0] == "GET http://cluster.example:8080/base/metadata HTTP/1.1"
    assert "Host: cluster.example:8080" in lines
    assert f"Proxy-Authorization: {basic(f'alice:{SECRET}'.encode())}" in lines
    assert debug.getvalue() == ("debug: GET http://cluster.example:8080/base/metadata -> HTTP 200, 2 bytes "
                                f"via proxy http://127.0.0.1:{proxy.port}\n")


def test_https_through_a_proxy_is_connect_without_the_token(raw_server):
    proxy = raw_server(answer(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
    env = {"HTTPS_PROXY": f"http://alice:{SECRET}@127.0.0.1:{proxy.port}"}
    client = HttpClient("https://cluster.example", token=TOKEN, env=env)
    error, _ = failure(client)
    request = proxy.requests[0].decode("latin-1")
    assert request.startswith("CONNECT cluster.example:443 HTTP/1.")
    assert "Host: cluster.example:443\r\n" in request
    assert f"Proxy-Authorization: {basic(f'alice:{SECRET}'.encode())}\r\n" in request
    assert TOKEN not in request and "token=" not in request
    message = str(error)
    assert isinstance(error, ClusterUnreachable) and "HTTP 403" in message and SECRET not in message
    assert f"The proxy http://127.0.0.1:{proxy.port} (from HTTPS_PROXY)" in message
    assert "NO_PROXY" in message and "http://user:password@proxy:port" in message


def test_redirect_is_not_followed(raw_server):
    server = raw_server(answer(b"HTTP/1.1 302 Found\r\nLocation: /login\r\nContent-Length: 0\r\n\r\n"))
    error, _ = failure(HttpClient(server.url))
    assert "redirected" in str(error) and "/login" in str(error)
    time.sleep(0.1)
    assert server.connections == 1


# -- one deadline for the whole request -----------------------------------------------------------


def assert_about_one_second(error, elapsed, says="did not answer within 1 seconds"):
    assert isinstance(error, ClusterUnreachable), error
    assert says in str(error), str(error)
    assert 0.9 <= elapsed < 2.0, elapsed


@pytest.mark.parametrize("handle", [
    pytest.param(trickle(b"", b"HTTP/1.1 200 OK\r\n"), id="status-line-byte-by-byte"),
    pytest.param(trickle(OK_HEAD, b"X-Slow: yes\r\n"), id="headers-byte-by-byte"),
    pytest.param(trickle(OK_HEAD + b"Content-Length: 1000\r\n\r\n", b"x"), id="body-byte-by-byte"),
    pytest.param(trickle(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n"), id="chunks-byte-by-byte"),
    pytest.param(trickle(b"HTTP/1.1 100 Continue\r\n", b"X-More: yes\r\n", interval=0.05),
                 id="continue-with-headers-for-ever"),
    pytest.param(repeat(b"", b"HTTP/1.1 100 Continue\r\nX-Again: yes\r\n\r\n", interval=0.1),
                 id="continue-for-ever"),
    pytest.param(silent(), id="no-answer"),
])
def test_one_deadline_for_the_whole_answer(raw_server, handle):
    server = raw_server(handle)
    error, elapsed = failure(HttpClient(server.url, timeout=1))
    assert_about_one_second(error, elapsed)
    assert server.url + "/metadata" in str(error)


def test_sending_is_under_the_deadline(raw_server):
    """A server that never reads: the request body fills the socket buffers, then waits."""
    server = raw_server(silent(), read_request=False)
    error, elapsed = failure(HttpClient(server.url, timeout=1), method="POST", body=b"x" * (64 << 20))
    assert_about_one_second(error, elapsed)


def test_tls_handshake_is_under_the_deadline(raw_server):
    server = raw_server(trickle(b"", b"\x16\x03\x01", interval=0.3), read_request=False)
    error, elapsed = failure(HttpClient(f"https://127.0.0.1:{server.port}", timeout=1))
    assert_about_one_second(error, elapsed)


def test_timeout_overrides_the_clients_for_one_request(api):
    scenario = api.default_scenario()
    scenario["delays"] = {"/metadata": 3}
    api.write_scenario(scenario)
    client = HttpClient(api.url, timeout=30)
    error, elapsed = failure(client, timeout=0.5)
    assert "did not answer within 0.5 seconds" in str(error) and elapsed < 1.5


# -- the body cap, whatever the framing -------------------------------------------------------------

SMALL = 1000
FLOOD = b"x" * 65536


@pytest.mark.parametrize("handle", [
    pytest.param(answer(OK_HEAD + b"Content-Length: 5000\r\n\r\n" + b"x" * 5000), id="content-length"),
    pytest.param(answer(OK_HEAD + b"Content-Length: 99999999999999999999\r\n\r\n"), id="huge-content-length"),
    pytest.param(repeat(OK_HEAD + b"\r\n", FLOOD), id="until-close"),
    pytest.param(repeat(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n", b"1f4\r\n" + b"x" * 500 + b"\r\n"),
                 id="chunked"),
    pytest.param(repeat(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n"), id="tiny-chunks"),
    pytest.param(repeat(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n-1\r\n", FLOOD), id="chunk-size-minus-one"),
    pytest.param(repeat(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\n", FLOOD),
                 id="chunk-size-huge"),
    pytest.param(repeat(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffffffff\r\n", FLOOD),
                 id="chunk-size-beyond-64-bits"),
    pytest.param(repeat(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n", b"X-Trailer: yes\r\n" * 4096),
                 id="trailers-without-end"),
])
def test_body_cap_for_every_framing(raw_server, handle):
    server = raw_server(handle)
    error, elapsed = failure(HttpClient(server.url, timeout=10, max_body=SMALL))
    assert f"is larger than {SMALL} bytes" in str(error), str(error)
    assert elapsed < 5


def test_body_at_the_cap_is_read(raw_server):
    server = raw_server(answer(OK_HEAD + b"Content-Length: 1000\r\n\r\n" + b"y" * 1000))
    assert HttpClient(server.url, max_body=SMALL).request("GET", "/metadata").body == b"y" * 1000


def test_chunked_body_is_read(raw_server):
    body = b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n"
    server = raw_server(answer(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body))
    assert HttpClient(server.url).request("GET", "/metadata").body == b"hello world"


def test_default_cap():
    assert MAX_BODY == 1 << 30 and HttpClient("http://cluster.example").max_body == MAX_BODY


def test_endless_fast_headers_are_refused_at_the_byte_cap(raw_server):
    server = raw_server(repeat(b"", b"HTTP/1.1 100 Continue\r\nX-Again: yes\r\n\r\n"))
    error, elapsed = failure(HttpClient(server.url, timeout=10, max_body=SMALL))
    assert "without a valid HTTP answer" in str(error) and elapsed < 5


# -- broken answers are a clear ClusterError --------------------------------------------------------


@pytest.mark.parametrize("data, says", [
    (b"HTTP/1.1 \xb200 OK\r\nContent-Length: 2\r\n\r\n{}", "without a valid HTTP answer"),
    ("HTTP/1.1 \uff12\uff10\uff10 OK\r\nContent-Length: 2\r\n\r\n{}".encode(), "without a valid HTTP answer"),
    ("HTTP/1.1 ٢٠٠ OK\r\nContent-Length: 2\r\n\r\n{}".encode(), "without a valid HTTP answer"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n{}", "a Content-Length of '²'"),
    ("HTTP/1.1 200 OK\r\nContent-Length: \uff12\r\n\r\n{}".encode(), "not valid HTTP (a Content-Length of"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 1_0\r\n\r\n{}", "not valid HTTP (a Content-Length of '1_0')"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}", "not valid HTTP"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", "not valid HTTP"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "not valid HTTP"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n{\"slaves\": [", "was cut off after 12 bytes"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + b"z" * 40, "was cut off after 40 bytes"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "was cut off after 5 bytes"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n", "was cut off after 5 bytes"),
    (b"garbage\r\n\r\n", "without a valid HTTP answer"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", "without a valid HTTP answer"),
    (b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: y\r\n" % index for index in range(200)) + b"\r\n",
     "without a valid HTTP answer"),
    (b"HTTP/1.1 200 OK\r\nX-Junk: " + b"a" * 200000, "without a valid HTTP answer"),
    (b"HTTP/1.1 " + b"2" * 100000 + b" OK\r\n\r\n", "without a valid HTTP answer"),
    (b"", "without a valid HTTP answer"),
    (b"HTTP/1.1 500 Oops \x1b[31mred\r\nContent-Length: 0\r\n\r\n", "HTTP 500 Oops \\x1b[31mred"),
    (b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", "HTTP 103"),
])
def test_broken_answer_is_a_clear_error(raw_server, data, says):
    server = raw_server(answer(data))
    error, _ = failure(HttpClient(server.url, timeout=5))
    assert says in str(error), str(error)
    assert server.url + "/metadata" in str(error)


def test_reset_during_the_body_is_a_cut_off(raw_server):
    def handle(connection, stop):
        connection.sendall(OK_HEAD + b"Content-Length: 100\r\n\r\n" + b"a" * 10)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    server = raw_server(handle)
    error, _ = failure(HttpClient(server.url))
    assert "was cut off after" in str(error)


def test_nothing_listening(raw_server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error, elapsed = failure(HttpClient(f"http://127.0.0.1:{port}", timeout=5))
    assert isinstance(error, ClusterUnreachable) and elapsed < 1
    assert f"Could not reach the cluster at http://127.0.0.1:{port}/metadata" in str(error)


# -- the cluster API stand-in -----------------------------------------------------------------------


def test_answer_and_debug_line(api):
    debug = io.StringIO()
    client = HttpClient(api.url + "/", token=TOKEN, debug=debug)
    path = marker()
    answer = client.request("GET", path)
    assert answer.content_type == "application/json" and b"PUBLIC_IPV4" in answer.body
    assert debug.getvalue() == f"debug: GET {api.url}{path} -> HTTP 200, {len(answer.body)} bytes\n"
    assert logged(api, path)["authorization"] == f"token={TOKEN}"


def test_post_json(api):
    body = HttpClient(api.url).request("POST", "/mesos/api/v1", b'{"type": "GET_MASTER"}').body
    assert b"master_info" in body


def test_base_path_is_kept(api):
    answer = HttpClient(api.url + "/mesos").request("GET", "/master/slaves?x=1")
    assert b'"slaves"' in answer.body and logged(api, "/mesos/master/slaves?x=1")


@pytest.mark.parametrize("override, error_class, says", [
    ({"status": 401, "body": "{}"}, ClusterAuthError, "dcos auth login"),
    ({"status": 403, "body": "Forbidden"}, ClusterAuthError, "HTTP 403"),
    ({"status": 404, "body": "Not Found"}, ClusterError, "HTTP 404"),
    ({"status": 503, "body": "Unavailable"}, ClusterError, "HTTP 503"),
    ({"status": 307, "headers": {"Location": "https://login.example.com/"}}, ClusterError, "redirected"),
    ({"status": 200, "content_type": "text/html", "body": "<html/>"}, None, None),
])
def test_statuses(api, override, error_class, says):
    scenario = api.default_scenario()
    scenario["overrides"]["/metadata"] = override
    api.write_scenario(scenario)
    client = HttpClient(api.url)
    if error_class is None:
        assert client.request("GET", "/metadata") == Answer(b"<html/>", "text/html")
        return
    with pytest.raises(error_class) as caught:
        client.request("GET", "/metadata")
    assert says in str(caught.value)


def test_missing_content_type(raw_server):
    server = raw_server(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
    assert HttpClient(server.url).request("GET", "/metadata") == Answer(b"{}", "unknown content")


def test_credentials_in_the_url_are_never_printed(api):
    debug = io.StringIO()
    url = api.url.replace("http://", f"http://admin:{SECRET}@")
    client = HttpClient(url, debug=debug)
    path = marker()
    client.request("GET", path)
    error, _ = failure(client, "/nothing")
    assert SECRET not in debug.getvalue() + str(error) + client.base_url + client.url("/x")
    assert logged(api, path)["authorization"] is None  # not sent either


# -- TLS --------------------------------------------------------------------------------------------


def test_tls_with_an_unknown_ca(tls_api):
    error, _ = failure(HttpClient(tls_api.url))
    assert isinstance(error, ClusterUnreachable)
    assert "could not be verified" in str(error) and "core.ssl_verify" in str(error)


@pytest.mark.parametrize("verify", ["cert", False])
def test_tls_with_the_ca_or_without_verification(tls_api, verify):
    client = HttpClient(tls_api.url, ssl_verify=tls_api.cert if verify == "cert" else False, token=TOKEN)
    path = marker()
    assert b"PUBLIC_IPV4" in client.request("GET", path).body
    assert logged(tls_api, path)["authorization"] == f"token={TOKEN}"


def test_tls_host_name_is_checked(tls_api):
    """The certificate is for 127.0.0.1, not for localhost."""
    client = HttpClient(f"https://localhost:{tls_api.port}", ssl_verify=tls_api.cert)
    error, _ = failure(client)
    assert "could not be verified" in str(error)


def test_ca_store_is_loaded_once_per_client(tls_api, monkeypatch):
    import ssl

    calls = []
    original = ssl.create_default_context

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    client = HttpClient(tls_api.url, ssl_verify=tls_api.cert)
    for _ in range(3):
        client.request("GET", "/metadata")
    assert len(calls) == 1


def test_unusable_ca_bundle(tmp_path):
    with pytest.raises(ConfigError) as caught:
        HttpClient("https://cluster.example", ssl_verify=str(tmp_path / "missing-ca.pem"))
    assert "missing-ca.pem" in str(caught.value) and "core.ssl_verify" in str(caught.value)


def test_https_to_a_plain_http_server(api):
    error, _ = failure(HttpClient(api.url.replace("http://", "https://"), ssl_verify=False))
    assert "TLS handshake with" in str(error) and "https://" in str(error)


# -- proxies that fail, as raw servers ---------------------------------------------------------------


def test_proxy_that_does_not_answer_connect(raw_server):
    proxy = raw_server(silent())
    env = {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}"}
    error, elapsed = failure(HttpClient("https://cluster.example", env=env, timeout=1))
    assert_about_one_second(error, elapsed, f"The proxy http://127.0.0.1:{proxy.port} (from HTTPS_PROXY) did not "
                                            "answer within 1 seconds")


def test_proxy_that_answers_connect_with_garbage(raw_server):
    proxy = raw_server(answer(b"SSH-2.0-OpenSSH_9.2\r\n"))
    env = {"https_proxy": f"http://127.0.0.1:{proxy.port}"}
    error, _ = failure(HttpClient("https://cluster.example", env=env))
    assert "did not give a valid answer to CONNECT cluster.example:443" in str(error)
    assert "(from https_proxy)" in str(error)


def test_proxy_tunnel_then_a_slow_cluster_is_under_the_same_deadline(raw_server):
    proxy = raw_server(trickle(b"HTTP/1.1 200 Connection established\r\n", b"X-Slow: yes\r\n", interval=0.2))
    env = {"https_proxy": f"http://127.0.0.1:{proxy.port}"}
    error, elapsed = failure(HttpClient("https://cluster.example", env=env, timeout=1))
    assert_about_one_second(error, elapsed, "did not answer within 1 seconds")
    assert "proxy" in str(error)


# -- a real tinyproxy ---------------------------------------------------------------------------------


def find_tinyproxy():
    return shutil.which("tinyproxy") or shutil.which("tinyproxy", path="/usr/sbin:/usr/bin")


class Tinyproxy:
    """tinyproxy in the foreground (-d) with a config of its own, on a free loopback port."""

    def __init__(self, workdir, extra=""):
        self.log = os.path.join(workdir, "tinyproxy.log")
        for _ in range(5):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
            config = os.path.join(workdir, "tinyproxy.conf")
            with open(config, "w", encoding="utf-8") as stream:
                stream.write(f'Port {self.port}\nListen 127.0.0.1\nTimeout 20\nMaxClients 20\n'
                             f'LogFile "{self.log}"\nLogLevel Connect\nAllow 127.0.0.1\n{extra}')
            self.process = subprocess.Popen([find_tinyproxy(), "-d", "-c", config], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                    self.url = f"http://127.0.0.1:{self.port}"
                    return
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError("tinyproxy did not start: " + self.lines()[-5:].__repr__())

    def lines(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as stream:
                return stream.read().splitlines()
        except FileNotFoundError:
            return []

    def requests(self):
        return [line.split("): ", 1)[1] for line in self.lines() if "Request (file descriptor" in line]

    def wait_for(self, fragment, seconds=3.0):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if any(fragment in request for request in self.requests()):
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def tinyproxy_fixture(extra):
    @pytest.fixture(scope="module")
    def fixture():
        if find_tinyproxy() is None:
            pytest.skip("tinyproxy is not installed (Debian package tinyproxy; scripts/prepare installs it as root)")
        workdir = tempfile.mkdtemp(prefix="dcos-node-ssh-tinyproxy-")
        proxy = Tinyproxy(workdir, extra)
        yield proxy
        proxy.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return fixture


tinyproxy = tinyproxy_fixture("")
tinyproxy_auth = tinyproxy_fixture(f"BasicAuth alice {SECRET}\n")
tinyproxy_443_only = tinyproxy_fixture("ConnectPort 443\n")


def test_tinyproxy_http(api, tinyproxy):
    path = marker()
    debug = io.StringIO()
    client = HttpClient(api.url, token=TOKEN, env={"HTTP_PROXY": tinyproxy.url}, debug=debug)
    assert b"PUBLIC_IPV4" in client.request("GET", path).body
    assert tinyproxy.wait_for(f"GET {api.url}{path} HTTP/1.1")
    assert logged(api, path)["authorization"] == f"token={TOKEN}"
    assert debug.getvalue().endswith(f" via proxy {tinyproxy.url}\n")


def test_tinyproxy_https_connect(tls_api, tinyproxy):
    path = marker()
    client = HttpClient(tls_api.url, token=TOKEN, ssl_verify=tls_api.cert, env={"https_proxy": tinyproxy.url})
    assert b"PUBLIC_IPV4" in client.request("GET", path).body
    assert tinyproxy.wait_for(f"CONNECT 127.0.0.1:{tls_api.port} HTTP/1.")
    assert logged(tls_api, path)["authorization"] == f"token={TOKEN}"
    assert not any(path in line or TOKEN in line for line in tinyproxy.lines())  # inside TLS only


def test_tinyproxy_https_certificate_still_checked(tls_api, tinyproxy):
    client = HttpClient(tls_api.url, env={"https_proxy": tinyproxy.url})
    error, _ = failure(client)
    assert "could not be verified" in str(error) and f"through the proxy {tinyproxy.url}" in str(error)


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "127.0.0.0/8", "*", "example.com, 127.0.0.1:{port}"])
def test_tinyproxy_bypassed_with_no_proxy(api, tinyproxy, no_proxy):
    path = marker()
    env = {"http_proxy": tinyproxy.url, "no_proxy": no_proxy.format(port=api.port)}
    debug = io.StringIO()
    assert b"PUBLIC_IPV4" in HttpClient(api.url, env=env, debug=debug).request("GET", path).body
    assert logged(api, path)
    assert not tinyproxy.wait_for(path, seconds=0.3) and "via proxy" not in debug.getvalue()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_tinyproxy_with_credentials(api, tls_api, tinyproxy_auth, scheme):
    server = api if scheme == "http" else tls_api
    debug = io.StringIO()
    proxy_url = tinyproxy_auth.url.replace("http://", f"http://alice:{SECRET}@")
    client = HttpClient(server.url, ssl_verify=tls_api.cert, env={f"{scheme}_proxy": proxy_url}, debug=debug)
    assert b"PUBLIC_IPV4" in client.request("GET", marker()).body
    assert SECRET not in debug.getvalue() and f"via proxy {tinyproxy_auth.url}\n" in debug.getvalue()
    error, _ = failure(client, "/nothing")
    assert "HTTP 404" in str(error) and SECRET not in str(error)


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("credentials, says", [
    ("alice:wrong-password@", "refused the user and password in"),
    ("", "wants a user and password"),
])
def test_tinyproxy_refuses_credentials(api, tls_api, tinyproxy_auth, scheme, credentials, says):
    server = api if scheme == "http" else tls_api
    variable = f"{scheme.upper()}_PROXY"
    env = {variable: tinyproxy_auth.url.replace("http://", "http://" + credentials)}
    error, _ = failure(HttpClient(server.url, ssl_verify=tls_api.cert, env=env))
    message = str(error)
    # 407, or 401 as tinyproxy answers a wrong password
    assert isinstance(error, ClusterUnreachable) and "(HTTP 40" in message and says in message, message
    assert f"The proxy {tinyproxy_auth.url} (from {variable})" in message
    assert "http://user:password@proxy:port" in message and "NO_PROXY" in message
    assert "wrong-password" not in message


def test_tinyproxy_refusing_connect_to_the_port(tls_api, tinyproxy_443_only):
    env = {"HTTPS_PROXY": tinyproxy_443_only.url}
    error, _ = failure(HttpClient(tls_api.url, ssl_verify=tls_api.cert, env=env))
    message = str(error)
    assert "HTTP 403" in message and f"The proxy {tinyproxy_443_only.url} (from HTTPS_PROXY)" in message, message
    assert "add 127.0.0.1 to NO_PROXY" in message


def test_tinyproxy_that_cannot_reach_the_cluster(tinyproxy):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for scheme, variable in (("http", "http_proxy"), ("https", "https_proxy")):
        error, _ = failure(HttpClient(f"{scheme}://127.0.0.1:{port}", env={variable: tinyproxy.url}))
        assert "HTTP 5" in str(error) and tinyproxy.url in str(error), str(error)
        assert scheme == "http" or "could not reach" in str(error)  # a CONNECT answer is the proxy's


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_proxy_where_nothing_listens(scheme):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    variable = f"{scheme}_proxy"
    env = {variable: f"http://alice:{SECRET}@127.0.0.1:{port}"}
    error, elapsed = failure(HttpClient(f"{scheme}://cluster.example", env=env, timeout=5))
    message = str(error)
    assert isinstance(error, ClusterUnreachable) and elapsed < 1
    proxy = f"http://127.0.0.1:{port} (from {variable})"
    assert f"Could not reach the proxy {proxy} for {scheme}://cluster.example/metadata" in message
    assert "NO_PROXY" in message and SECRET not in message
