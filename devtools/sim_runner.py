"""How every local stand-in runs: on a daemon thread (tests, `zest dev`) or from its own command
line (`python -m devtools.courier_sims.pathao --help`).

`SimulatorServer` serves a simulator (a WSGI app holding its state and test hooks) on
`host:port` (`port=0` picks a free one), tells it where it is served (`sim.url`) and hands back
the running handle: `.url`, `.sim`, the simulator's attributes read straight off the handle, and
`stop()`. The `python -m` entry of a stand-in is `command_line` (`--host`, `--port` and its own
options) then `serve_until_interrupted` (where it listens, the variables that point the API at
it, and serving until Ctrl-C).
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from devtools.wsgi_server import BackgroundServer, Environ, StartResponse, start_server


class Simulator(Protocol):
    url: str

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]: ...


SimulatorT = TypeVar("SimulatorT", bound=Simulator)


class SimulatorServer(BackgroundServer, Generic[SimulatorT]):
    """A simulator served on a daemon thread; its state and hooks are read off the handle."""

    sim: SimulatorT

    def __init__(self, sim: SimulatorT, host: str, port: int, *, name: str) -> None:
        server, thread = start_server(sim, host, port, name=name)
        super().__init__(server, thread)
        self.sim = sim
        sim.url = self.url

    def __getattr__(self, name: str) -> Any:  # the state and hooks, straight from the simulator
        if name == "sim":
            raise AttributeError(name)
        return getattr(self.sim, name)


def command_line(doc: str, *, port: int) -> argparse.ArgumentParser:
    """The options every stand-in takes (`--host`, `--port`), described by the first line of its
    module's `doc`; add its own before parsing."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    return parser


def assignments(variables: Mapping[str, str], *, indent: str = "") -> list[str]:
    """`NAME=value` lines to paste into a shell or `.env` (a multi-line value such as a PEM key
    on one line, its line breaks written `\\n`)."""
    escaped = {name: value.replace("\n", "\\n") for name, value in variables.items()}
    return [f"{indent}{name}={value}" for name, value in escaped.items()]


def serve_until_interrupted(running: BackgroundServer, *lines: str) -> None:
    """Print `lines` (where it listens, the variables to set), serve until Ctrl-C, then stop."""
    for line in lines:
        print(line, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
