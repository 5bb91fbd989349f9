"""An oracle that is not our code: botocore checks the requests the local endpoint recorded.

For each request: botocore's SigV4 signer, given the same credentials, time and signed
headers, must produce the same signature; botocore's rest-json serializer, given the same
parameters, must produce the same method, path and (parsed) body.

Input: a JSON file, a list of {method, target, headers, body, region, access_key_id,
secret_access_key, session_token, params}. Prints "N requests verified by botocore X".
"""
import datetime
import json
import sys

import botocore
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.serialize import create_serializer


def typed(value):
    """JSON with types kept apart (1 and 1.0 differ), for an exact comparison."""
    return json.dumps(value, sort_keys=True)


def main(path):
    cases = json.load(open(path))
    model = botocore.session.get_session().get_service_model("amplify")
    serializer = create_serializer("rest-json", include_validation=True)
    failures = []
    for i, c in enumerate(cases):
        headers = dict(c["headers"])
        lower = {k.lower(): v for k, v in headers.items()}
        auth = lower["authorization"]
        fields = dict(p.strip().split("=", 1) for p in auth.split(" ", 1)[1].split(","))
        signed = fields["SignedHeaders"].split(";")
        creds = Credentials(c["access_key_id"], c["secret_access_key"], c.get("session_token"))
        signer = SigV4Auth(creds, "amplify", c["region"])
        request = AWSRequest(
            method=c["method"],
            url="http://" + lower["host"] + c["target"],
            headers={name: lower[name] for name in signed},
            data=c["body"].encode("utf-8"),
        )
        request.context["timestamp"] = lower["x-amz-date"]
        canonical = signer.canonical_request(request)
        signature = signer.signature(signer.string_to_sign(request, canonical), request)
        if signature != fields["Signature"]:
            failures.append(f"#{i} {c['target']}: botocore signs {signature}, we sent {fields['Signature']}\n{canonical}")
        if sorted(signer.headers_to_sign(request).keys()) != signed:
            failures.append(f"#{i}: signed headers differ: {signed}")

        params = dict(c["params"])
        if "commitTime" in params:
            params["commitTime"] = datetime.datetime.fromtimestamp(params["commitTime"], tz=datetime.timezone.utc)
        expected = serializer.serialize_to_request(params, model.operation_model(c["operation"]))
        path = c["target"].split("?", 1)[0]
        if expected["method"] != c["method"] or expected["url_path"] != path:
            failures.append(f"#{i}: botocore sends {expected['method']} {expected['url_path']}, we sent {c['method']} {path}")
        ours = json.loads(c["body"]) if c["body"] else {}
        theirs = json.loads(expected["body"]) if expected["body"] else {}
        if typed(ours) != typed(theirs):
            failures.append(f"#{i}: body differs:\n botocore {typed(theirs)}\n ours     {typed(ours)}")
        if expected["body"] and expected["headers"].get("Content-Type") != lower.get("content-type"):
            failures.append(f"#{i}: content-type {lower.get('content-type')!r}, botocore {expected['headers'].get('Content-Type')!r}")
    for f in failures:
        print(f, file=sys.stderr)
    print(f"{len(cases)} requests checked by botocore {botocore.__version__}, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
