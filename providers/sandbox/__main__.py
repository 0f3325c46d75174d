"""`python -m providers.sandbox [--host 127.0.0.1] [--port 8001]`: every sandbox cloud, until Ctrl-C.
The control endpoints (/_sandbox/) need the token in env SANDBOX_CONTROL_TOKEN (else a random one)."""

import argparse
import logging
import os
import time

from providers.sandbox import all_clouds
from providers.sandbox.server import serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(levelname)s %(message)s")
    clouds = all_clouds()
    # From the environment so it never shows in `ps`; without it a random token nobody knows
    # keeps the control endpoints closed (it is not printed).
    server = serve(clouds, args.host, args.port, control_token=os.environ.get("SANDBOX_CONTROL_TOKEN") or None)
    names = ", ".join(cloud.name for cloud in clouds)
    print(f"Sandbox clouds ({names}) at http://{args.host}:{server.server_port}/", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
