#!/usr/bin/env python3
"""Regenerates SigV4Vectors.swift: requests signed by botocore, the signer of the aws CLI and boto3.

    python3 Tests/AWSAuthTests/make-vectors.py > Tests/AWSAuthTests/SigV4Vectors.swift
    swift format format -i Tests/AWSAuthTests/SigV4Vectors.swift

Needs botocore (`pip install botocore`). The requests are shaped like the aws CLI's ECS calls (JSON 1.1 over
`POST /`), plus one GET with a query string and an odd path. The clock is pinned so the output is stable; the keys
are made up for these tests.
"""

import datetime
import sys

import botocore
import botocore.auth
import botocore.awsrequest
import botocore.credentials

TIMESTAMP = datetime.datetime(2026, 11, 25, 19, 15, 0)
REGION = "us-east-1"
SERVICE = "ecs"
ENDPOINT = "http://127.0.0.1:8001"
HOST = "127.0.0.1:8001"
JSON_HEADERS = {"Content-Type": "application/x-amz-json-1.1"}
TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
USER_AGENT = "aws-cli/2.22.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.12.6"

PLAIN = ("AKIAGANTRYTEST0001", "gantry-test-secret/0001+kP3xQ9vW7zR2mN8bL4", None)
SESSION = (
    "ASIAGANTRYTEST0002",
    "gantry-test-secret/0002+hT6yU1oI5pA3sD9fG2",
    "IQoJb3JpZ2luX2VjEGantryTestSessionToken//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+test+token=",
)

# Pin the clock botocore's SigV4Auth reads.
botocore.auth.get_current_datetime = lambda *args, **kwargs: TIMESTAMP


class CapturingSigV4Auth(botocore.auth.SigV4Auth):
    """SigV4Auth that keeps the canonical request and the string to sign."""

    def string_to_sign(self, request, canonical_request):
        self.captured_canonical_request = canonical_request
        self.captured_string_to_sign = super().string_to_sign(request, canonical_request)
        return self.captured_string_to_sign


def vector(name, method, path, key, headers, body=b"", params=None, repeated=()):
    access_key, secret_key, token = key
    request = botocore.awsrequest.AWSRequest(
        method=method, url=ENDPOINT + path, data=body, headers=headers, params=params or {}
    )
    for header, value in repeated:
        request.headers[header] = value  # HTTPHeaders appends: the header is sent (and signed) once per value
    signer = CapturingSigV4Auth(botocore.credentials.Credentials(access_key, secret_key, token), SERVICE, REGION)
    signer.add_auth(request)
    prepared = request.prepare()
    target = prepared.url[len(ENDPOINT):]
    # What goes on the wire: Host, the signed headers in botocore's order (repeats kept), then what the HTTP
    # client adds after signing.
    wire = [("Host", HOST)] + [(k, v) for k, v in request.headers.items()]
    if "Content-Length" in prepared.headers:
        wire.append(("Content-Length", prepared.headers["Content-Length"]))
    wire.append(("User-Agent", USER_AGENT))
    return {
        "name": name,
        "method": method,
        "target": target,
        "headers": wire,
        "body": body.decode("utf-8"),
        "accessKeyID": access_key,
        "secret": secret_key,
        "sessionToken": token,
        "canonicalRequest": signer.captured_canonical_request,
        "stringToSign": signer.captured_string_to_sign,
        "authorization": prepared.headers["Authorization"],
    }


def ecs(operation, body, key=PLAIN, extra=None):
    headers = dict(JSON_HEADERS)
    headers["X-Amz-Target"] = TARGET_PREFIX + operation
    headers.update(extra or {})
    return vector(operation, "POST", "/", key, headers, body.encode("utf-8"))


REGISTER_TASK_DEFINITION = (
    '{"family": "web", "networkMode": "bridge", "containerDefinitions": [{"name": "nginx", "image": '
    '"docker.io/library/nginx:1.27", "cpu": 256, "memory": 512, "essential": true, "portMappings": '
    '[{"containerPort": 80, "hostPort": 8080, "protocol": "tcp"}], "environment": [{"name": "GREETING", '
    '"value": "h\\u00e9llo w\\u00f6rld \\u2014 caf\\u00e9 \\ud83d\\ude80"}, {"name": "EMPTY", "value": ""}], '
    '"command": ["sh", "-c", "echo \\"$GREETING\\" && exec nginx -g \'daemon off;\'"]}], '
    '"tags": [{"key": "team", "value": "platform"}, {"key": "unicode", "value": "日本語"}]}'
)

VECTORS = [
    ecs("ListClusters", "{}"),
    ecs(
        "RegisterTaskDefinition",
        REGISTER_TASK_DEFINITION,
        extra={"amz-sdk-invocation-id": "0b2f5a3c-7d1e-4f6a-9b8c-2d3e4f5a6b7c", "amz-sdk-request": "attempt=1; max=3"},
    ),
    ecs("DescribeClusters", '{"clusters": ["default", "staging"], "include": ["TAGS"]}', key=SESSION),
    vector(
        "QueryAndOddPath",
        "GET",
        "/v1/a%20b/./c//d/../e~f%2Fg/",
        PLAIN,
        {"X-Gantry-Spaced": "  several   inner    spaces  ", "X-Amz-Target": TARGET_PREFIX + "ListClusters"},
        params=[("b", "x y"), ("a", "2"), ("a", "1"), ("empty", ""), ("special", "a/b+c=d&e*~")],
        repeated=[("X-Gantry-Repeated", "one"), ("X-Gantry-Repeated", "two  too")],
    ),
]


def swift_string(text):
    """A Swift string literal for `text`."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def main():
    epoch = int((TIMESTAMP - datetime.datetime(1970, 1, 1)).total_seconds())
    lines = [
        "// Generated by make-vectors.py with botocore %s; do not edit by hand. Regenerate with:" % botocore.__version__,
        "//     python3 Tests/AWSAuthTests/make-vectors.py > Tests/AWSAuthTests/SigV4Vectors.swift",
        "//     swift format format -i Tests/AWSAuthTests/SigV4Vectors.swift",
        "",
        "/// The time every vector was signed at, %s, in Unix seconds." % TIMESTAMP.strftime("%Y%m%dT%H%M%SZ"),
        "let vectorTime: Int64 = %d" % epoch,
        "",
        "/// The region every vector is scoped to.",
        "let vectorRegion = %s" % swift_string(REGION),
        "",
        "/// Requests signed by botocore.",
        "let botocoreVectors: [SigV4Vector] = [",
    ]
    for v in VECTORS:
        lines.append("    SigV4Vector(")
        lines.append("        name: %s," % swift_string(v["name"]))
        lines.append("        method: %s," % swift_string(v["method"]))
        lines.append("        target: %s," % swift_string(v["target"]))
        lines.append("        headers: [")
        for name, value in v["headers"]:
            lines.append("            (%s, %s)," % (swift_string(name), swift_string(value)))
        lines.append("        ],")
        lines.append("        body: %s," % swift_string(v["body"]))
        lines.append("        accessKeyID: %s," % swift_string(v["accessKeyID"]))
        lines.append("        secret: %s," % swift_string(v["secret"]))
        token = v["sessionToken"]
        lines.append("        sessionToken: %s," % (swift_string(token) if token is not None else "nil"))
        lines.append("        canonicalRequest: %s," % swift_string(v["canonicalRequest"]))
        lines.append("        stringToSign: %s," % swift_string(v["stringToSign"]))
        lines.append("        authorization: %s" % swift_string(v["authorization"]))
        lines.append("    ),")
    lines.append("]")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
