"""An independent STS for tests: moto's implementation in server mode on 127.0.0.1.

Prints the endpoint URL once it listens. Then, for each access key ID read on stdin, prints
"<secret>\t<session token>" of the credentials moto issued for it (an empty line if none), so
the local Amplify endpoint can verify signatures made with credentials it never saw issued.
"""

import sys

from moto.server import ThreadedMotoServer
from moto.sts.models import sts_backends

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
print(f"http://{host}:{port}", flush=True)

for line in sys.stdin:
    access_key_id = line.strip()
    found = ""
    for account in list(sts_backends.keys()):
        for backend in list(sts_backends[account].values()):
            role = backend.get_assumed_role_from_access_key(access_key_id)
            if role is not None:
                found = f"{role.secret_access_key}\t{role.session_token}"
    print(found, flush=True)

server.stop()
