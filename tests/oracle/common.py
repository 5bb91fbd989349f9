"""What the botocore oracles share: the tally of checks, a client of the local endpoint with
the demo credentials, a modelled error expected, and the closing line ('N passed, M failed',
exit 1 on a failure)."""

import sys

import botocore.session
from botocore.config import Config

ACCESS_KEY = "AKIDLOCALAMPLIFY"
SECRET_KEY = "local-secret-not-for-aws"
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)))


def client(service, endpoint, ca, retries, secret=SECRET_KEY):
    return botocore.session.get_session().create_client(
        service,
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=secret,
        config=Config(retries=retries),
        verify=ca,
    )


def request_id(meta):
    return meta.get("ResponseMetadata", {}).get("RequestId", "")


def expect_error(name, c, shape, call):
    """`call(c)` must raise the modelled `shape`, with a request id: the exception, or None."""
    try:
        call(c)
    except getattr(c.exceptions, shape) as e:
        check(name + ": " + shape, True)
        check(name + ": a request id", bool(request_id(e.response)), e.response)
        return e
    except Exception as e:  # noqa: BLE001 - any other outcome is the failure checked
        check(name + ": " + shape, False, repr(e))
    else:
        check(name + ": " + shape, False, "no error")
    return None


def finish():
    passed = sum(results)
    print("%d passed, %d failed" % (passed, len(results) - passed))
    sys.exit(0 if passed == len(results) else 1)
