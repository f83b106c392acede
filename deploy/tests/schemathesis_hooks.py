"""Schemathesis hooks for deploy/tests/check-schemathesis.sh: sign every POST /webhook and
POST /webhook/whatsapp, send the READ_TOKEN bearer to the reads, and accept the one leniency
SPEC.md promises.

Loaded through SCHEMATHESIS_HOOKS. The server refuses an unsigned webhook with 401 before
it reads the body, so without a signature schemathesis would never get past that check.
The signature must cover the exact bytes sent, which only exist once `requests` has
serialized the body; a `requests` auth object runs at that point (after the body is
prepared, before the request is sent), so it is what the hook installs.

The secrets are the ones the script started the server with, passed in
HOOKLINE_SCHEMATHESIS_SECRET (X-Signature for /webhook), HOOKLINE_SCHEMATHESIS_WHATSAPP_SECRET
(X-Hub-Signature-256 for /webhook/whatsapp, the only header that route reads) and
HOOKLINE_SCHEMATHESIS_READ_TOKEN (`Authorization: Bearer` for GET /messages and GET /stats,
which would otherwise stop at the 401) and HOOKLINE_SCHEMATHESIS_VERIFY_TOKEN (the WhatsApp
handshake's token, swapped into generated handshakes); none is printed.

`GET /messages?from=` documents senders as E.164, but SPEC.md keeps the original service's
answer to any other value: 200 with no rows (a filter that matches nothing), not 422. So a
`negative_data_rejection` failure whose only invalid input is `from` is dropped; every other
failure, on that operation too, fails the run.
"""

import hashlib
import hmac
import os

import requests
import schemathesis
from schemathesis.core.failures import AcceptedNegativeData

_SECRET = os.environ["HOOKLINE_SCHEMATHESIS_SECRET"].encode("utf-8")
_WHATSAPP_SECRET = os.environ["HOOKLINE_SCHEMATHESIS_WHATSAPP_SECRET"].encode("utf-8")
_READ_TOKEN = os.environ["HOOKLINE_SCHEMATHESIS_READ_TOKEN"]
_VERIFY_TOKEN = os.environ["HOOKLINE_SCHEMATHESIS_VERIFY_TOKEN"]


class SignBody(requests.auth.AuthBase):
    """Sets `header` to `prefix` + the hex HMAC-SHA256 of the prepared body's bytes."""

    def __init__(self, secret, header, prefix=""):
        self.secret = secret
        self.header = header
        self.prefix = prefix

    def __call__(self, request):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        digest = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        request.headers[self.header] = self.prefix + digest
        return request


class ReadToken(requests.auth.AuthBase):
    """Sets `Authorization: Bearer <READ_TOKEN>`."""

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {_READ_TOKEN}"
        return request


@schemathesis.hook
def before_call(context, case, kwargs):
    method = case.method.upper()
    if method == "POST" and case.path == "/webhook":
        kwargs["auth"] = SignBody(_SECRET, "X-Signature")
    elif method == "POST" and case.path == "/webhook/whatsapp":
        kwargs["auth"] = SignBody(_WHATSAPP_SECRET, "X-Hub-Signature-256", "sha256=")
    elif method == "GET" and case.path in ("/messages", "/stats"):
        kwargs["auth"] = ReadToken()
    elif method == "GET" and case.path == "/webhook/whatsapp" and case.query:
        # A generated token is never the configured one: put the right one in wherever the
        # case sends a token, so a `subscribe` case reaches the documented 200 (text/plain).
        # A case without the parameter is left alone (it must stay a 403).
        if isinstance(case.query.get("hub.verify_token"), str):
            case.query["hub.verify_token"] = _VERIFY_TOKEN


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if not isinstance(failure, AcceptedNegativeData) or case.operation.label != "GET /messages":
        return True
    data = case.meta.phase.data if case.meta is not None else None
    if data is None:
        return True
    if data.parameter is not None:
        negated = {data.parameter}
    else:
        negated = {mutation.parameter for mutation in data.mutations}
    return negated != {"from"}
