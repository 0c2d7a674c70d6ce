"""The HTTP client of the cluster API (dcos_node_ssh/cluster/transport.py), in process.

Against: tables for the CONNECT written here and for the failure texts; hostile
servers written here as small raw-socket servers on 127.0.0.1 (each in a thread,
every loop bounded in time); the cluster API stand-in of tests/clusterapi.py, plain
and with TLS; and a real tinyproxy in front of it (skipped, with the reason, when
tinyproxy is not installed). The proxy rules' tables are in test_proxies.py.
"""

import base64
import http.client
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

from dcos_node_ssh.cluster.failures import Failure, Request, explain, proxy_refusal, status_failure
from dcos_node_ssh.cluster.proxies import Proxy
from dcos_node_ssh.cluster.transport import MAX_BODY, Answer, HttpClient
from dcos_node_ssh.cluster.tunnel import NotAnAnswer, connect_request, head_end, status_of
from dcos_node_ssh.errors import ClusterAuthError, ClusterError, ClusterUnreachable, ConfigError
from helpers import logged, marker

TOKEN = "eyJhbGciOiJSUzI1NiJ9.transport-test-token.c2lnbmF0dXJl"
SECRET = "hunter2-secret"  # a password that must never be printed


def basic(pair):
    return "Basic " + base64.b64encode(pair).decode("ascii")


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


# The deadline the deadline tests give a request, and how often their servers send a byte:
# four times within it, so that only one deadline for the whole exchange (not a timeout for
# each read) can end the request, long before the server's 8 s are over.
DEADLINE = 0.2
DRIP = DEADLINE / 4


def trickle(head, data, interval=DRIP, seconds=8.0):
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


def assert_at_the_deadline(error, elapsed, says=f"did not answer within {DEADLINE:g} seconds"):
    """The request ended at its deadline: not before, and long before the server gave up (8 s)."""
    assert isinstance(error, ClusterUnreachable), error
    assert says in str(error), str(error)
    assert 0.9 * DEADLINE <= elapsed < DEADLINE + 1.5, elapsed


@pytest.mark.parametrize("handle", [
    pytest.param(trickle(b"", b"HTTP/1.1 200 OK\r\n"), id="status-line-byte-by-byte"),
    pytest.param(trickle(OK_HEAD, b"X-Slow: yes\r\n"), id="headers-byte-by-byte"),
    pytest.param(trickle(OK_HEAD + b"Content-Length: 1000\r\n\r\n", b"x"), id="body-byte-by-byte"),
    pytest.param(trickle(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n"), id="chunks-byte-by-byte"),
    pytest.param(trickle(b"HTTP/1.1 100 Continue\r\n", b"X-More: yes\r\n"), id="continue-with-headers-for-ever"),
    pytest.param(repeat(b"", b"HTTP/1.1 100 Continue\r\nX-Again: yes\r\n\r\n", interval=DRIP),
                 id="continue-for-ever"),
    pytest.param(silent(), id="no-answer"),
])
def test_one_deadline_for_the_whole_answer(raw_server, handle):
    server = raw_server(handle)
    error, elapsed = failure(HttpClient(server.url, timeout=DEADLINE))
    assert_at_the_deadline(error, elapsed)
    assert server.url + "/metadata" in str(error)


def test_sending_is_under_the_deadline(raw_server):
    """A server that never reads: the request body fills the socket buffers, then waits."""
    server = raw_server(silent(), read_request=False)
    error, elapsed = failure(HttpClient(server.url, timeout=DEADLINE), method="POST", body=b"x" * (64 << 20))
    assert_at_the_deadline(error, elapsed)


def test_tls_handshake_is_under_the_deadline(raw_server):
    server = raw_server(trickle(b"", b"\x16\x03\x01"), read_request=False)
    error, elapsed = failure(HttpClient(f"https://127.0.0.1:{server.port}", timeout=DEADLINE))
    assert_at_the_deadline(error, elapsed)


def test_timeout_overrides_the_clients_for_one_request(api):
    scenario = api.default_scenario()
    scenario["delays"] = {"/metadata": 3}
    api.write_scenario(scenario)
    client = HttpClient(api.url, timeout=30)
    error, elapsed = failure(client, timeout=DEADLINE)
    assert f"did not answer within {DEADLINE:g} seconds" in str(error) and elapsed < DEADLINE + 1.5


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
    error, elapsed = failure(HttpClient("https://cluster.example", env=env, timeout=DEADLINE))
    assert_at_the_deadline(error, elapsed, f"The proxy http://127.0.0.1:{proxy.port} (from HTTPS_PROXY) did not "
                                           f"answer within {DEADLINE:g} seconds")


def test_proxy_that_answers_connect_with_garbage(raw_server):
    proxy = raw_server(answer(b"SSH-2.0-OpenSSH_9.2\r\n"))
    env = {"https_proxy": f"http://127.0.0.1:{proxy.port}"}
    error, _ = failure(HttpClient("https://cluster.example", env=env))
    assert "did not give a valid answer to CONNECT cluster.example:443" in str(error)
    assert "(from https_proxy)" in str(error)


def test_proxy_tunnel_then_a_slow_cluster_is_under_the_same_deadline(raw_server):
    proxy = raw_server(trickle(b"HTTP/1.1 200 Connection established\r\n", b"X-Slow: yes\r\n"))
    env = {"https_proxy": f"http://127.0.0.1:{proxy.port}"}
    error, elapsed = failure(HttpClient("https://cluster.example", env=env, timeout=DEADLINE))
    assert_at_the_deadline(error, elapsed)
    assert "proxy" in str(error)


# -- CONNECT, written here (tunnel.py) rather than through http.client's private _tunnel ---------------


@pytest.mark.parametrize("host, port, authorization, expected", [
    ("cluster.example", 443, None,
     "CONNECT cluster.example:443 HTTP/1.1\r\nHost: cluster.example:443\r\nUser-Agent: dcos-node-ssh\r\n\r\n"),
    ("2001:db8::5", 8443, None,
     "CONNECT [2001:db8::5]:8443 HTTP/1.1\r\nHost: [2001:db8::5]:8443\r\nUser-Agent: dcos-node-ssh\r\n\r\n"),
    ("10.0.4.1", 443, "Basic YWxpY2U6",
     "CONNECT 10.0.4.1:443 HTTP/1.1\r\nHost: 10.0.4.1:443\r\nUser-Agent: dcos-node-ssh\r\n"
     "Proxy-Authorization: Basic YWxpY2U6\r\n\r\n"),
])
def test_connect_request(host, port, authorization, expected):
    assert connect_request(host, port, authorization) == expected.encode("ascii")


@pytest.mark.parametrize("line, expected", [
    (b"HTTP/1.1 200 Connection established\r\n", (200, "Connection established")),
    (b"HTTP/1.0 200\r\n", (200, "")),
    (b"HTTP/1.1 407 Proxy Authentication Required\n", (407, "Proxy Authentication Required")),
    (b"HTTP/1.1 502  Bad Gateway \r\n", (502, "Bad Gateway")),
    (b"SSH-2.0-OpenSSH_9.2\r\n", None),
    (b"http/1.1 200 OK\r\n", None),
    (b"HTTP/1.1 20 OK\r\n", None),
    (b"HTTP/1.1 2000 OK\r\n", None),
    (b"HTTP/1.1 099 OK\r\n", None),
    ("HTTP/1.1 \uff12\uff10\uff10 OK\r\n".encode(), None),
    (b"HTTP/1.1 \xb200 OK\r\n", None),
    (b"\r\n", None),
])
def test_connect_status_line(line, expected):
    if expected is None:
        with pytest.raises(NotAnAnswer):
            status_of(line)
    else:
        assert status_of(line) == expected


@pytest.mark.parametrize("data, start, head", [
    (b"HTTP/1.1 200 OK\r\n\r\n", 0, b"HTTP/1.1 200 OK\r\n\r\n"),
    (b"HTTP/1.1 200 OK\n\n", 0, b"HTTP/1.1 200 OK\n\n"),
    (b"HTTP/1.1 200 OK\r\nVia: x\r\n\r\nafter", 0, b"HTTP/1.1 200 OK\r\nVia: x\r\n\r\n"),
    (b"HTTP/1.1 200 OK\r\nVia: x\r\n\r\n", 24, b"HTTP/1.1 200 OK\r\nVia: x\r\n\r\n"),  # from the last line's end
    (b"HTTP/1.1 200 OK\r\nVia: x\r\n", 0, None),
    (b"HTTP/1.1 200 OK\r\n\r", 0, None),
    (b"HTTP/1.1 200 OK\r\n\r\n", 17, None),  # searched past the line's end: not found there
])
def test_connect_head_end(data, start, head):
    end = head_end(data, start)
    assert (data[:end] if end != -1 else None) == head


def relay(port, head):
    """A proxy that answers CONNECT with `head`, then carries bytes both ways to 127.0.0.1:port."""
    def handle(connection, stop):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as upstream:
            connection.sendall(head)

            def pump(source, sink):
                try:
                    while not stop.is_set():
                        data = source.recv(65536)
                        if not data:
                            break
                        sink.sendall(data)
                except OSError:
                    pass
                try:
                    sink.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

            back = threading.Thread(target=pump, args=(upstream, connection), daemon=True)
            back.start()
            pump(connection, upstream)
            back.join(timeout=5)
    return handle


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 Connection established\r\nVia: 1.1 relay\r\n\r\n",
    b"HTTP/1.0 200 OK\n\n",
    b"HTTP/1.1 204 Tunnel open\r\n\r\n",  # any 2xx opens the tunnel (RFC 9110 9.3.6, as curl)
])
def test_tunnel_through_a_proxy_that_answers_2xx(raw_server, tls_api, head):
    proxy = raw_server(relay(tls_api.port, head))
    env = {"https_proxy": f"http://127.0.0.1:{proxy.port}"}
    client = HttpClient(tls_api.url, token=TOKEN, ssl_verify=tls_api.cert, env=env)
    path = marker()
    assert b"PUBLIC_IPV4" in client.request("GET", path).body
    assert logged(tls_api, path)["authorization"] == f"token={TOKEN}"
    assert proxy.requests[0].startswith(f"CONNECT 127.0.0.1:{tls_api.port} HTTP/1.1\r\n".encode())


def test_tunnel_needs_nothing_private_from_http_client(raw_server, tls_api, monkeypatch):
    """http.client's private _tunnel() may change or go (3.12 changed it): it is not used."""
    monkeypatch.delattr(http.client.HTTPConnection, "_tunnel")
    monkeypatch.setattr(http.client.HTTPConnection, "set_tunnel", None)
    proxy = raw_server(relay(tls_api.port, b"HTTP/1.1 200 Connection established\r\n\r\n"))
    client = HttpClient(tls_api.url, ssl_verify=tls_api.cert, env={"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}"})
    assert b"PUBLIC_IPV4" in client.request("GET", marker()).body


def test_connect_to_an_ipv6_cluster_brackets_the_address(raw_server):
    """Before Python 3.12, http.client wrote `CONNECT 2001:db8::5:8443`, which proxies refuse."""
    proxy = raw_server(answer(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
    env = {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}"}
    error, _ = failure(HttpClient("https://[2001:db8::5]:8443", env=env))
    request = proxy.requests[0].decode("latin-1")
    assert request.startswith("CONNECT [2001:db8::5]:8443 HTTP/1.1\r\n") and "Host: [2001:db8::5]:8443\r\n" in request
    assert "refused to reach https://[2001:db8::5]:8443/metadata (HTTP 403 Forbidden)" in str(error)


def test_proxy_refusal_is_read_at_its_status_line(raw_server):
    """The headers after a refusal are not waited for."""
    proxy = raw_server(trickle(b"HTTP/1.1 407 Proxy Authentication Required\r\n", b"Proxy-Authenticate: Basic\r\n"))
    env = {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}"}
    error, elapsed = failure(HttpClient("https://cluster.example", env=env, timeout=5))
    assert "wants a user and password" in str(error) and "(HTTP 407 Proxy Authentication Required)" in str(error)
    assert elapsed < 1


@pytest.mark.parametrize("handle", [
    pytest.param(repeat(b"HTTP/1.1 200 Connection established\r\n", b"X-More: yes\r\n"), id="headers-for-ever"),
    pytest.param(answer(b"HTTP/1.1 200 Connection established\r\n\r\nSSH-2.0-OpenSSH_9.2\r\n"),
                 id="speaks-before-tls"),
    pytest.param(answer(b"HTTP/1.1 200 Connection established\r\nVia: x\r\n"), id="closes-within-the-head"),
])
def test_proxy_whose_answer_to_connect_is_not_a_tunnel(raw_server, handle):
    """Found at once: a proxy's answer to CONNECT is a few hundred bytes, then nothing until TLS."""
    proxy = raw_server(handle)
    env = {"https_proxy": f"http://127.0.0.1:{proxy.port}"}
    error, elapsed = failure(HttpClient("https://cluster.example", env=env, timeout=10))
    assert isinstance(error, ClusterUnreachable) and elapsed < 5
    assert "did not give a valid answer to CONNECT cluster.example:443" in str(error), str(error)


def test_tunnel_then_a_slow_tls_handshake_is_under_the_same_deadline(raw_server):
    def handle(connection, stop):
        connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        connection.recv(4096)  # the ClientHello: from here on, the cluster is slow
        trickle(b"", b"\x16\x03\x01")(connection, stop)
    proxy = raw_server(handle)
    env = {"https_proxy": f"http://127.0.0.1:{proxy.port}"}
    error, elapsed = failure(HttpClient("https://cluster.example", env=env, timeout=DEADLINE))
    assert_at_the_deadline(error, elapsed)
    assert str(error).startswith("The cluster at https://cluster.example/metadata did not answer")
    assert f"through the proxy http://127.0.0.1:{proxy.port} (from https_proxy)" in str(error)


# -- the failure texts (failures.py), one for each failure -------------------------------------------------

PROXY = Proxy("proxy.corp", 3128, None, "http://proxy.corp:3128", "HTTPS_PROXY")


def named(proxy=None):
    return Request("https://cluster.example/prefix/metadata", "https://cluster.example/prefix", "core.dcos_url",
                   "cluster.example", 443, proxy, 2.5, 1000)


@pytest.mark.parametrize("proxy", [None, PROXY], ids=["direct", "proxied"])
def test_every_failure_has_its_own_text(proxy):
    texts = {failure: str(explain(failure, named(proxy), "DETAIL")) for failure in Failure}
    at_the_proxy = {Failure.PROXY_TIMEOUT, Failure.PROXY_UNREACHABLE, Failure.PROXY_NOT_CONNECT}
    possible = [failure for failure in Failure if proxy or failure not in at_the_proxy]
    assert len({texts[failure] for failure in possible}) == len(possible)
    for failure, text in texts.items():
        assert "https://cluster.example/prefix" in text, text
        assert (proxy is not None) == ("(from HTTPS_PROXY)" in text), text
        if failure in (Failure.UNREACHABLE, Failure.BAD_LENGTH, Failure.CUT_OFF, Failure.TLS_UNVERIFIED,
                       Failure.TLS_FAILED) or (proxy and failure is Failure.PROXY_UNREACHABLE):
            assert "DETAIL" in text, text


@pytest.mark.parametrize("status, reason, authorization, says", [
    (407, "Proxy Authentication Required", None, "wants a user and password for"),
    (401, "Unauthorized", "Basic YWxpY2U6", "refused the user and password in HTTPS_PROXY"),
    (407, "Proxy Authentication Required", "Basic YWxpY2U6", "refused the user and password in HTTPS_PROXY"),
    (502, "Bad Gateway", None, "could not reach https://cluster.example/prefix/metadata (HTTP 502 Bad Gateway)"),
    (403, "Forbidden", None, "refused to reach https://cluster.example/prefix/metadata (HTTP 403 Forbidden)"),
    (403, "Bad\x1b[31m \r\nreason", None, "(HTTP 403 Bad\\x1b[31m reason)"),
    (401, "Unauthorized", None, "wants a user and password for"),
    (402, "Payment Required", None, "refused to reach"),
    (500, "Internal Server Error", None, "could not reach"),
    (599, "Network Connect Timeout", None, "could not reach"),
    (600, "Odd", None, "refused to reach"),
    # the status and reason are cut to 70 characters
    (403, "r" * 66 + "s", None, f"(HTTP 403 {'r' * 63}...)"),
    (403, "r" * 65 + "s", None, f"(HTTP 403 {'r' * 65}s)"),
])
def test_proxy_refusal_texts(status, reason, authorization, says):
    proxy = PROXY._replace(authorization=authorization)
    text = str(proxy_refusal(named(proxy), proxy, status, reason))
    assert says in text and "add cluster.example to NO_PROXY" in text, text


@pytest.mark.parametrize("status, proxy, www_authenticate, error_class, says", [
    (200, None, "", None, None),
    (401, None, "acsjwt", ClusterAuthError, "dcos auth login"),
    (401, PROXY, "acsjwt", ClusterAuthError, "dcos auth login"),  # DC/OS's own 401, through a proxy
    (401, PROXY._replace(authorization="Basic YWxpY2U6"), "Basic realm=x", ClusterUnreachable, "refused the user"),
    (407, PROXY, "", ClusterUnreachable, "wants a user and password"),
    (403, None, "", ClusterAuthError, "lacks the permission"),
    (301, None, "", ClusterError, "redirected"),
    (308, None, "", ClusterError, "redirected"),
    (500, None, "", ClusterError, "HTTP 500 Reason"),
    (204, None, "", ClusterError, "HTTP 204 Reason"),
])
def test_status_texts(status, proxy, www_authenticate, error_class, says):
    error = status_failure(named(proxy), status, "Reason", "/login", www_authenticate)
    if error_class is None:
        assert error is None
        return
    assert type(error) is error_class and says in str(error), str(error)


URL = "https://cluster.example/prefix/metadata"
VIA = " The request went through the proxy http://proxy.corp:3128 (from HTTPS_PROXY)."
CHECK_URL = "Check that core.dcos_url points at the cluster (with https:// where it uses TLS)."
DIRECTLY = "if this machine reaches the cluster directly, add cluster.example to NO_PROXY"
NOT_HTTP = (ClusterError, f"The cluster closed the connection to {URL} without a valid HTTP answer. {CHECK_URL}")
# What each failure says, directly; through PROXY the same ends with VIA.
DIRECT_TEXTS = {
    Failure.TIMEOUT: (ClusterUnreachable, (
        f"The cluster at {URL} did not answer within 2.5 seconds. Check that core.dcos_url is right and the cluster "
        "is up, or raise core.timeout.")),
    Failure.UNREACHABLE: (ClusterUnreachable, (
        f"Could not reach the cluster at {URL}: DETAIL. Check that core.dcos_url is right and that this machine can "
        "reach the cluster.")),
    Failure.NOT_HTTP: NOT_HTTP,
    Failure.BAD_LENGTH: (ClusterError, (
        f"The cluster's answer to {URL} is not valid HTTP (a Content-Length of 'DETAIL'). {CHECK_URL}")),
    Failure.TOO_LARGE: (ClusterError, (
        f"The cluster's answer to {URL} is larger than 1000 bytes, more than this command reads. Check that "
        "core.dcos_url points at the cluster's API.")),
    Failure.CUT_OFF: (ClusterError, (
        f"The cluster's answer to {URL} was cut off after DETAIL bytes. The cluster or a proxy in between may be "
        "overloaded; try again.")),
    Failure.TLS_UNVERIFIED: (ClusterUnreachable, (
        "The TLS certificate of https://cluster.example/prefix could not be verified (DETAIL). Set core.ssl_verify "
        "to the path of the cluster's CA bundle (`dcos config set core.ssl_verify /path/to/dcos-ca.crt`), or to "
        "false to skip verification.")),
    Failure.TLS_FAILED: (ClusterUnreachable, (
        "The TLS handshake with https://cluster.example/prefix failed (DETAIL). Check that core.dcos_url uses "
        "https:// only where the cluster speaks TLS.")),
    # without a proxy there is none to blame: what came back was not HTTP
    Failure.PROXY_TIMEOUT: NOT_HTTP,
    Failure.PROXY_UNREACHABLE: NOT_HTTP,
    Failure.PROXY_NOT_CONNECT: NOT_HTTP,
}
AT_THE_PROXY = {
    Failure.PROXY_TIMEOUT: (
        f"The proxy http://proxy.corp:3128 (from HTTPS_PROXY) did not answer within 2.5 seconds for {URL}. Check "
        f"HTTPS_PROXY, or {DIRECTLY}; or raise core.timeout."),
    Failure.PROXY_UNREACHABLE: (
        f"Could not reach the proxy http://proxy.corp:3128 (from HTTPS_PROXY) for {URL}: DETAIL. Check HTTPS_PROXY, "
        "or unset it if this machine reaches the cluster directly (or add cluster.example to NO_PROXY)."),
    Failure.PROXY_NOT_CONNECT: (
        "The proxy http://proxy.corp:3128 (from HTTPS_PROXY) did not give a valid answer to CONNECT "
        f"cluster.example:443 for {URL}. Check that HTTPS_PROXY names an HTTP proxy, or {DIRECTLY}."),
}


@pytest.mark.parametrize("failure", list(Failure), ids=[failure.name for failure in Failure])
def test_each_failure_in_full(failure):
    error = explain(failure, named(), "DETAIL")
    assert (type(error), str(error)) == DIRECT_TEXTS[failure]
    error = explain(failure, named(PROXY), "DETAIL")
    if failure in AT_THE_PROXY:
        assert (type(error), str(error)) == (ClusterUnreachable, AT_THE_PROXY[failure])
    elif failure is Failure.TLS_UNVERIFIED:
        assert str(error) == DIRECT_TEXTS[failure][1] + VIA + (
            " A proxy that inspects TLS shows a certificate of its own: then core.ssl_verify must name its CA bundle.")
    else:
        assert (type(error), str(error)) == (DIRECT_TEXTS[failure][0], DIRECT_TEXTS[failure][1] + VIA)


def test_connect_names_an_ipv6_cluster_in_brackets():
    request = named(PROXY)._replace(host="fd00::1", port=8443)
    assert "answer to CONNECT [fd00::1]:8443 for" in str(explain(Failure.PROXY_NOT_CONNECT, request))


REFUSED = f"The proxy http://proxy.corp:3128 (from HTTPS_PROXY) refused the user and password in HTTPS_PROXY for {URL}"
WANTS = f"The proxy http://proxy.corp:3128 (from HTTPS_PROXY) wants a user and password for {URL}"
CHECK_THEM = (". Check them: HTTPS_PROXY holds them as http://user:password@proxy:port, percent-encoded. Or, "
              f"{DIRECTLY}.")
PUT_THEM = f". Put them in HTTPS_PROXY as http://user:password@proxy:port, percent-encoded. Or, {DIRECTLY}."
NOT_REACHED = f"The proxy http://proxy.corp:3128 (from HTTPS_PROXY) could not reach {URL}"
UP = f". Check that core.dcos_url is right and that the cluster is up. Or, {DIRECTLY}."
NOT_ALLOWED = f"The proxy http://proxy.corp:3128 (from HTTPS_PROXY) refused to reach {URL}"
ASK = (". It may not allow this host or port: ask its administrator, or check HTTPS_PROXY (credentials go in it as "
       f"http://user:password@proxy:port, percent-encoded). Or, {DIRECTLY}.")
PROXY_401 = PROXY._replace(authorization="Basic YWxpY2U6")


@pytest.mark.parametrize("status, reason, authorization, text", [
    (407, "Proxy Authentication Required", "Basic YWxpY2U6",
     f"{REFUSED} (HTTP 407 Proxy Authentication Required){CHECK_THEM}"),
    (401, "Unauthorized", "Basic YWxpY2U6", f"{REFUSED} (HTTP 401 Unauthorized){CHECK_THEM}"),
    (407, "Proxy Authentication Required", None, f"{WANTS} (HTTP 407 Proxy Authentication Required){PUT_THEM}"),
    (401, "", None, f"{WANTS} (HTTP 401){PUT_THEM}"),
    (502, "Bad  Gateway", None, f"{NOT_REACHED} (HTTP 502 Bad Gateway){UP}"),
    (499, "Odd", None, f"{NOT_ALLOWED} (HTTP 499 Odd){ASK}"),
    (403, "Forbidden", "Basic YWxpY2U6", f"{NOT_ALLOWED} (HTTP 403 Forbidden){ASK}"),
])
def test_proxy_refusals_in_full(status, reason, authorization, text):
    proxy = PROXY._replace(authorization=authorization)
    error = proxy_refusal(named(proxy), proxy, status, reason)
    assert (type(error), str(error)) == (ClusterUnreachable, text)


UNAUTHENTICATED = ("The cluster at https://cluster.example/prefix refused the request as unauthenticated (HTTP 401): "
                   "the access token is missing or has expired. Log in with `dcos auth login`.")
FORBIDDEN = (f"The cluster refused access to {URL} (HTTP 403): your account lacks the permission. Ask a cluster "
             "administrator, or log in as another user with `dcos auth login`.")


def redirected(status):
    return (f"The cluster redirected {URL} to /login (HTTP {status}) instead of answering, which usually means a "
            "login page or a wrong core.dcos_url. Check core.dcos_url (with https:// where the cluster uses it).")


def answered(status):
    return (f"The cluster answered {URL} with HTTP {status} Reason. The cluster may be starting or unhealthy; try "
            "again later.")


@pytest.mark.parametrize("status, proxy, www_authenticate, error_class, text", [
    (401, None, "", ClusterAuthError, UNAUTHENTICATED),
    (401, PROXY, "Basic realm=x", ClusterAuthError, UNAUTHENTICATED + VIA),  # no credentials to refuse
    (401, PROXY_401, "acsjwt", ClusterAuthError, UNAUTHENTICATED + VIA),  # DC/OS asks for a token, never Basic
    (401, PROXY_401, "BASIC realm=x", ClusterUnreachable, f"{REFUSED} (HTTP 401 Reason){CHECK_THEM}"),
    (407, PROXY, "", ClusterUnreachable, f"{WANTS} (HTTP 407 Reason){PUT_THEM}"),
    (407, None, "", ClusterError, answered(407)),  # no proxy: the cluster said it
    (403, None, "", ClusterAuthError, FORBIDDEN),
    (403, PROXY, "", ClusterAuthError, FORBIDDEN + VIA),
    (301, None, "", ClusterError, redirected(301)),
    (302, None, "", ClusterError, redirected(302)),
    (303, None, "", ClusterError, redirected(303)),
    (307, PROXY, "", ClusterError, redirected(307) + VIA),
    (308, None, "", ClusterError, redirected(308)),
    (300, None, "", ClusterError, answered(300)),
    (304, None, "", ClusterError, answered(304)),
    (500, PROXY, "", ClusterError, answered(500) + VIA),
])
def test_statuses_in_full(status, proxy, www_authenticate, error_class, text):
    error = status_failure(named(proxy), status, "Reason", "/login", www_authenticate)
    assert (type(error), str(error)) == (error_class, text)


def test_a_401_says_why_no_token_was_sent_when_it_knows():
    request = named(PROXY)._replace(unauthenticated="No token: core.dcos_acs_token is not set.")
    assert str(status_failure(request, 401, "Unauthorized", "", "")) == (
        "The cluster at https://cluster.example/prefix refused the request as unauthenticated (HTTP 401). No token: "
        "core.dcos_acs_token is not set." + VIA)


def test_a_reason_and_location_from_the_cluster_are_escaped_and_cut():
    error = status_failure(named(), 500, "\x1b[31m" + "r" * 70, "", "")
    assert f"with HTTP 500 \\x1b[31m{'r' * 49}...." in str(error)
    error = status_failure(named(), 302, "Found", "/\x1b[2J", "")
    assert "to /\\x1b[2J (HTTP 302)" in str(error)


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
