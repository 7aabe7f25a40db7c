"""fakeredis's TCP server, started the way redspec's launcher starts a server:

    python docs/compatibility/fakeredis_server.py --port N [--dir D] [--name value ...]

It serves fakeredis.TcpFakeServer, speaking as Redis 7.0, on 127.0.0.1:N until killed. fakeredis
has no configuration, so every option but --port is ignored (and listed on stderr): run it with
`-m "not launches"`, whose tests need the options they ask for. Needs `pip install fakeredis`
(the project's optional extra `compat`); redspec itself never imports it.
"""

import argparse
import sys

from fakeredis import TcpFakeServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    options, ignored = parser.parse_known_args()
    if ignored:
        print(f"fakeredis_server: ignoring {' '.join(ignored)}", file=sys.stderr, flush=True)
    server = TcpFakeServer(("127.0.0.1", options.port), server_version=(7, 0))
    server.serve_forever()


if __name__ == "__main__":
    main()
