#!/usr/bin/env python
"""Start a loopback helper process for the test hosts in the background, and stop it again.

    background.py start --pidfile FILE --probe URL [--timeout 20] -- ARGV...
    background.py stop --pidfile FILE

`start` stops what FILE names first (a leftover of an interrupted run), starts ARGV in its own
session, writes its pid to FILE and waits at most --timeout seconds until URL answers; it fails
if the process exits or URL never answers (and then stops it). `stop` sends SIGTERM to the
process group FILE names and removes FILE; a missing FILE is not an error. Molecule's prepare
starts, its cleanup stops (the release mirror, the webhook sink).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request


def start(argv, pidfile, probe, timeout=20):
    stop(pidfile)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    with open(pidfile, "w") as handle:
        handle.write(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            os.unlink(pidfile)
            raise SystemExit("%s exited with %s before %s answered (address taken?)" % (argv[0], proc.returncode, probe))
        try:
            urllib.request.urlopen(probe, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return  # it answers, even if not 200
        except OSError:
            time.sleep(0.2)
    stop(pidfile)
    raise SystemExit("no answer on %s within %ss" % (probe, timeout))


def stop(pidfile):
    try:
        with open(pidfile) as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    os.unlink(pidfile)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("start")
    s.add_argument("--pidfile", required=True)
    s.add_argument("--probe", required=True)
    s.add_argument("--timeout", type=float, default=20)
    s.add_argument("argv", nargs=argparse.REMAINDER)
    t = sub.add_parser("stop")
    t.add_argument("--pidfile", required=True)
    args = parser.parse_args()
    if args.command == "start":
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        if not argv:
            parser.error("start needs ARGV after --")
        start(argv, args.pidfile, args.probe, args.timeout)
        print(args.probe)
    else:
        stop(args.pidfile)


if __name__ == "__main__":
    main()
