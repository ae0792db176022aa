"""Run the simulator: `python -m services.simulator [--host 127.0.0.1] [--port 8100]`."""

from __future__ import annotations

import argparse

import uvicorn

from .app import create_app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.simulator",
        description="Local fake government platform: 网办 / 一窗 / 好差评 exports for any day up to today.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8100, help="port to listen on (default 8100)")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    return parser.parse_args(argv)


def serve(host: str = "127.0.0.1", port: int = 8100, log_level: str = "warning") -> None:
    """Also `scorecard simulator`."""
    print(f"simulator: platform exports on http://{host}:{port}/ (GET / lists the URL patterns)", flush=True)
    uvicorn.run(create_app(), host=host, port=port, log_level=log_level)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    serve(args.host, args.port, args.log_level)


if __name__ == "__main__":
    main()
