"""python -m app: serve on :8080 (PORT changes the port)."""

from __future__ import annotations

import os

from app.server import make_server


def main() -> None:
    server = make_server(int(os.environ.get("PORT", "8080")))
    print(f"listening on :{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
