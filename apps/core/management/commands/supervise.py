"""Run several processes together (the web server and the worker for `make run`).

    manage.py supervise web="manage.py runserver --noreload 127.0.0.1:8000" \
                        worker="manage.py qcluster"

Each child's output is prefixed with its name. Ctrl-C (or SIGTERM) asks every child to
stop, waits for them, and kills any that do not stop in time. When one child exits on
its own, the others are stopped too and the exit status is non-zero.

Why not honcho (or another Procfile runner): tried with honcho 2.0.0 on web, worker and
sandbox. Ctrl-C and a dying child do stop everything, but not cleanly. honcho sends
SIGTERM to each child's whole process group (`os.killpg`), so django-q2's cluster
processes get it too. qcluster then hangs at "stopping" and never prints "has stopped"
(measured: still running after 40 s). When SIGTERM goes to qcluster alone it stops in about
2 s, exit status 0. honcho kills whatever is left after a fixed 5 s (`KILL_WAIT`, no
setting), so every Ctrl-C SIGKILLs the worker in the middle of its tasks. It also gives
children no parent-death signal, so they outlive a killed runner. This command signals only
each child itself, waits up to STOP_TIMEOUT_SECONDS, and sets PR_SET_PDEATHSIG.
"""

import ctypes
import shlex
import signal
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

STOP_TIMEOUT_SECONDS = 20
PR_SET_PDEATHSIG = 1


def parse_process(spec: str) -> tuple[str, list[str]]:
    name, sep, command = spec.partition("=")
    if not sep or not name.strip() or not command.strip():
        raise CommandError(f'Expected NAME="COMMAND", got {spec!r}.')
    argv = shlex.split(command)
    if argv[0] == "manage.py":
        argv = [sys.executable, *argv]
    return name.strip(), argv


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the supervisor dies, even by SIGKILL (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _relay(name: str, stream, out) -> None:
    width = 8
    for line in iter(stream.readline, ""):
        out.write(f"{name:<{width}}| {line}")
        out.flush()


class Command(BaseCommand):
    help = "Start processes together and stop them together (Ctrl-C)."

    def add_arguments(self, parser):
        parser.add_argument("processes", nargs="+", metavar='NAME="COMMAND"')

    def handle(self, *args, **options):
        specs = [parse_process(spec) for spec in options["processes"]]
        stopping = threading.Event()

        def request_stop(signum, frame):
            stopping.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

        children: dict[str, subprocess.Popen] = {}
        for name, argv in specs:
            child = subprocess.Popen(
                argv,
                cwd=settings.BASE_DIR,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                # Own process group: Ctrl-C reaches only this supervisor, which then
                # stops each child in order.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            children[name] = child
            threading.Thread(
                target=_relay, args=(name, child.stdout, sys.stdout), daemon=True
            ).start()
        self.stdout.write(f"Started {', '.join(children)}. Press Ctrl-C to stop.")

        failed = None
        while not stopping.is_set():
            for name, child in children.items():
                if child.poll() is not None:
                    failed = (name, child.returncode)
                    stopping.set()
                    break
            stopping.wait(0.5)

        if failed:
            self.stderr.write(f"{failed[0]} exited with status {failed[1]}; stopping the rest.")
        else:
            self.stdout.write("Stopping...")
        self._stop_all(children)
        if failed:
            raise CommandError(f"{failed[0]} stopped unexpectedly.", returncode=1)
        self.stdout.write("Stopped.")

    def _stop_all(self, children: dict[str, subprocess.Popen]) -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {STOP_TIMEOUT_SECONDS}s; killing it.")
                child.kill()
                child.wait()
