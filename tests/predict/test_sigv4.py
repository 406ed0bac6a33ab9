"""The SageMaker runtime transport signs InvokeEndpoint itself: are the signatures valid?

* moto in server mode, with its IAM authentication switched on, answers a real
  ``InvokeEndpoint`` only when the SigV4 signature checks out against the access key it issued
  (and refuses a request signed with the wrong secret: ``SignatureDoesNotMatch``).
* A small server in this file re-computes each request's signature with botocore's
  :class:`~botocore.auth.SigV4Auth` from what actually came over the wire (method, path, the
  signed headers, the body) and answers 403 unless it matches: this also covers session
  tokens, custom attributes and target models, which moto does not check.
* botocore's resolution of the CA bundle and the proxy is what the transport uses.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from clarify_engine.predict._base import TransportError
from clarify_engine.predict.transports._sagemaker import SageMakerRuntimeTransport, _connection_settings
from tests.helpers import moto_server_url

REGION = "us-east-1"


@pytest.fixture
def aws_env(monkeypatch):
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
                "AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
                "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return monkeypatch


# -- moto, with authentication on ---------------------------------------------------------------
@pytest.fixture
def moto_url():
    yield from moto_server_url()


def test_moto_accepts_our_signature_on_a_real_invoke_endpoint_and_refuses_a_wrong_one(moto_url, aws_env):
    import moto.settings

    iam = boto3.client("iam", endpoint_url=moto_url, region_name=REGION)
    iam.create_user(UserName="clarify")
    iam.put_user_policy(UserName="clarify", PolicyName="invoke", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="clarify")["AccessKey"]
    aws_env.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # from now on moto checks every signature
    aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", moto_url)
    aws_env.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    with SageMakerRuntimeTransport("loans") as transport:
        for _ in range(2):  # twice: the second request goes over the kept-alive connection
            assert transport.send(b"1,2,3", content_type="text/csv", accept="text/csv") == b"body"
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with SageMakerRuntimeTransport("loans") as transport, pytest.raises(TransportError) as info:
        transport.send(b"1,2,3", content_type="text/csv", accept="text/csv")
    # moto answers in XML, which botocore's rest-json parser (and ours) quotes whole, without a code
    assert (info.value.status, info.value.code) == (403, None)
    assert str(info.value).startswith("endpoint loans: HTTP 403: ")
    assert "<Code>SignatureDoesNotMatch</Code>" in str(info.value)


# -- botocore re-computing the signature of what came over the wire --------------------------
SECRET = "verifier-secret"


class _Verifier(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802 - http.server's naming
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        body = self.rfile.read(int(self.headers["Content-Length"]))
        auth = self.headers.get("Authorization", "")
        found = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                             r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})", auth)
        ok = False
        if found:
            key, _, region, service, signed, signature = found.groups()
            headers = {name: self.headers[name] for name in signed.split(";")}
            request = AWSRequest(method="POST", url=f"http://{self.headers['host']}{self.path}", data=body,
                                 headers=headers)
            request.context["timestamp"] = self.headers["X-Amz-Date"]
            signer = SigV4Auth(Credentials(key, SECRET, self.headers.get("X-Amz-Security-Token")), service, region)
            expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
            ok = expected == signature
            self.server.seen.append({"service": service, "region": region, "signed": signed.split(";"),
                                     "path": self.path, "body": body})
        reply = b"0.5" if ok else b'{"message": "The request signature we calculated does not match"}'
        self.send_response(200 if ok else 403)
        if not ok:
            self.send_header("x-amzn-ErrorType", "InvalidSignatureException:")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


@pytest.fixture
def verifier():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Verifier)
    server.daemon_threads = True
    server.seen = []
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_every_signed_header_and_the_body_verify_with_botocore(verifier, aws_env):
    aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{verifier.server_address[1]}")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    aws_env.setenv("AWS_SESSION_TOKEN", "a-session-token")
    aws_env.setenv("AWS_REGION", "eu-west-3")
    aws_env.delenv("AWS_DEFAULT_REGION")
    body = b"1,2\n3,4\n" * 1000
    with SageMakerRuntimeTransport("my endpoint", target_model="m.tar.gz", custom_attributes="k=v",
                                   pool_size=2) as transport:
        assert transport.region == "eu-west-3"
        assert transport.send(body, content_type="text/csv", accept="application/jsonlines") == b"0.5"
    seen = verifier.seen[0]
    assert (seen["service"], seen["region"], seen["path"], seen["body"]) == (
        "sagemaker", "eu-west-3", "/endpoints/my%20endpoint/invocations", body)
    assert set(seen["signed"]) >= {"accept", "content-type", "host", "x-amz-date", "x-amz-security-token",
                                   "x-amzn-sagemaker-custom-attributes", "x-amzn-sagemaker-target-model"}


def test_a_wrong_secret_is_refused_by_the_verifier(verifier, aws_env):
    """The verifier can fail: signed with another secret, the request is refused."""
    aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{verifier.server_address[1]}")
    with SageMakerRuntimeTransport("x") as transport, pytest.raises(TransportError) as info:
        transport.send(b"1", content_type="text/csv", accept="text/csv")
    assert (info.value.status, info.value.code) == (403, "InvalidSignatureException")
    assert str(info.value) == ("endpoint x: InvalidSignatureException (HTTP 403): "
                               "The request signature we calculated does not match")


def test_no_credentials_is_a_clear_error(verifier, aws_env, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        aws_env.delenv(key)
    aws_env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    aws_env.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    aws_env.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{verifier.server_address[1]}")
    with SageMakerRuntimeTransport("x") as transport, pytest.raises(TransportError) as info:
        transport.send(b"1", content_type="text/csv", accept="text/csv")
    assert info.value.code == "NoCredentialsError"
    assert str(info.value) == ("endpoint x: NoCredentialsError: Unable to locate credentials; set AWS credentials "
                               "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or a role)")
    assert verifier.seen == []


# -- botocore's CA bundle and proxy resolution -------------------------------------------------
@pytest.mark.parametrize("env, url", [
    ({}, "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/x/invocations"),
    ({"AWS_CA_BUNDLE": "/etc/ca.pem", "HTTPS_PROXY": "http://u:p@proxy:3128"},
     "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/x/invocations"),
    ({"REQUESTS_CA_BUNDLE": "/etc/other.pem", "HTTP_PROXY": "proxy:8080", "NO_PROXY": "127.0.0.1"},
     "http://127.0.0.1:9/endpoints/x/invocations"),
    ({"HTTP_PROXY": "proxy:8080"}, "http://10.1.2.3:9/endpoints/x/invocations"),
])
def test_ca_bundle_and_proxy_are_resolved_as_botocore_resolves_them(aws_env, env, url):
    """What the transport uses equals what botocore's own client would use for the same URL."""
    import botocore.session

    for key, value in env.items():
        aws_env.setenv(key, value)
    aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", url.split("/endpoints/")[0])
    session = botocore.session.Session()
    verify, proxy, proxy_headers = _connection_settings(session, url)
    http_session = session.create_client("sagemaker-runtime")._endpoint.http_session  # botocore's own
    assert verify == http_session._verify
    assert proxy == http_session._proxy_config.proxy_url_for(url)
    assert proxy_headers == (http_session._proxy_config.proxy_headers_for(proxy) if proxy else {})


class _ForwardProxy(BaseHTTPRequestHandler):
    """An http proxy: forwards ``POST http://host:port/path`` to the host, and notes what it saw."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802 - http.server's naming
        import http.client
        from urllib.parse import urlsplit

        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.path, self.headers.get("Proxy-Authorization")))
        target = urlsplit(self.path)
        conn = http.client.HTTPConnection(target.netloc, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-authorization"}
        conn.request("POST", target.path, body=body, headers=headers)
        reply = conn.getresponse()
        data = reply.read()
        conn.close()
        self.send_response(reply.status)
        for key, value in reply.getheaders():
            if key.lower() not in ("connection", "transfer-encoding"):
                self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def test_requests_go_through_the_environment_proxy_and_stay_verifiable(verifier, aws_env):
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardProxy)
    proxy.daemon_threads = True
    proxy.seen = []
    threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{verifier.server_address[1]}"
        aws_env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", endpoint)
        aws_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        aws_env.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{proxy.server_address[1]}")
        with SageMakerRuntimeTransport("viaproxy") as transport:
            assert transport.send(b"1,2", content_type="text/csv", accept="text/csv") == b"0.5"
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert proxy.seen == [(f"{endpoint}/endpoints/viaproxy/invocations", "Basic dXNlcjpwdw==")]
    assert verifier.seen[0]["path"] == "/endpoints/viaproxy/invocations"
