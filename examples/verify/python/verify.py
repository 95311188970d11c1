#!/usr/bin/env python3
"""Check a Standard Webhooks signature as a qyshook receiver would (stdlib only).

    python3 verify.py SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE BODY_FILE

Prints "valid" (exit 0) or "invalid: reason" (exit 1). In a handler, verify
the raw body before parsing it, and drop a webhook-id already processed.
"""
import base64
import hashlib
import hmac
import sys
import time


def verify(secret, msg_id, timestamp, signatures, body, now=None):
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    ts = int(timestamp)
    now = int(time.time()) if now is None else now
    if abs(now - ts) > 300:
        raise ValueError("webhook-timestamp is more than 5 minutes from now")
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for sig in signatures.split():
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, want):
            return
    raise ValueError("no matching v1 signature")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        print("usage: verify.py SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE BODY_FILE", file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[5], "rb") as f:
        body = f.read()
    try:
        verify(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], body)
    except ValueError as e:
        print("invalid:", e)
        sys.exit(1)
    print("valid")
