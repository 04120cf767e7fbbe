"""Run one service instance: ``python -m services.serve intake``.

Imports ``<service>.app`` by name (the kit imports no service statically), builds its
definition, and serves it with uvicorn. SIGTERM stops it cleanly (uvicorn runs the
lifespan's shutdown); if faust hangs on the way out, a watchdog in the runtime ends the
process after a grace period.
"""

from __future__ import annotations

import importlib
import sys

import uvicorn

from services import bus, logs
from services.runtime import ServiceRuntime
from services.settings import KitSettings

SERVICES = ("intake", "verification", "routing", "sla", "notifications")


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1 or args[0] not in SERVICES:
        sys.exit(f"usage: python -m services.serve {{{'|'.join(SERVICES)}}}")
    name = args[0]
    module = importlib.import_module(f"{name}.app")
    definition = module.build()
    kit = KitSettings()
    logs.configure(name, definition.settings.instance, kit.aduan_log_level, kit.aduan_log_json)
    runtime = ServiceRuntime(definition, kit)
    config = uvicorn.Config(
        runtime.fastapi(),
        host=definition.settings.http_host,
        port=definition.settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=30,
        proxy_headers=True,
        forwarded_allow_ips=kit.aduan_forwarded_allow_ips,
    )
    server = uvicorn.Server(config)
    bus.use_uvloop()

    server.run()  # sets up uvloop when installed, then serves
    if not server.started:
        sys.exit(1)


if __name__ == "__main__":
    main()
