#!/usr/bin/env python
"""A release mirror on loopback, for testing the archive install method for real.

Upstream archives cannot be downloaded here, so `build` makes tarballs in the upstream release
layout (<product>-<version>.linux-<arch>/<binaries>) from the Debian packages' binaries, with a
`sha256sums.txt` per version, under <root>/v<version>/. With `--line trixie|sid` the binaries
come from that Debian line, staged by version_lines.py, and the version is read from the binary. `serve` runs an HTTP server for <root>
on a loopback address in the background (bounded start-up, pid file); `stop` stops it.

    mirror.py build --root DIR --product node_exporter [--version 1.5.0] [--line sid]
    mirror.py serve --root DIR --bind 127.0.0.29 --port 18099 --pidfile FILE
    mirror.py stop --pidfile FILE
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import subprocess
import sys
import tarfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import background  # noqa: E402  pylint: disable=wrong-import-position

# product -> (Debian package, {binary name in the archive: path of the Debian binary})
PRODUCTS = {
    "node_exporter": ("prometheus-node-exporter", {"node_exporter": "/usr/bin/prometheus-node-exporter"}),
    "prometheus": ("prometheus", {"prometheus": "/usr/bin/prometheus", "promtool": "/usr/bin/promtool"}),
    "alertmanager": ("prometheus-alertmanager",
                     {"alertmanager": "/usr/bin/prometheus-alertmanager", "amtool": "/usr/bin/amtool"}),
    "blackbox_exporter": ("prometheus-blackbox-exporter",
                          {"blackbox_exporter": "/usr/bin/prometheus-blackbox-exporter"}),
}
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def debian_version(package):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=True)
    # 1.5.0-1+b6 -> 1.5.0 ; 2.42.0+ds-5+deb12u1 -> 2.42.0
    return out.stdout.split("-")[0].split("+")[0].split("~")[0]


def build(root, product, version=None, line=None):
    package, binaries = PRODUCTS[product]
    if line:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import version_lines  # pylint: disable=import-outside-toplevel

        version_lines.stage(line)
        where = version_lines.bindir(line)
        binaries = {inner: os.path.join(where, os.path.basename(source)) for inner, source in binaries.items()}
        version = version or version_lines.binary_version(next(iter(binaries.values())))
    version = version or debian_version(package)
    top = "%s-%s.linux-%s" % (product, version, ARCH)
    outdir = os.path.join(root, "v" + version)
    os.makedirs(outdir, exist_ok=True)
    name = top + ".tar.gz"
    path = os.path.join(outdir, name)
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:  # speed; the layout is what counts
        for inner, source in binaries.items():
            tar.add(source, arcname="%s/%s" % (top, inner))
        notice = ("Built by monitoring.stack tests from Debian's %s (%s); upstream layout.\n"
                  % (package, line or "installed")).encode()
        info = tarfile.TarInfo("%s/NOTICE" % top)
        info.size = len(notice)
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(notice))
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    sums = os.path.join(outdir, "sha256sums.txt")
    lines = []
    if os.path.exists(sums):
        with open(sums) as handle:
            lines = [line for line in handle.read().splitlines() if not line.endswith("  " + name)]
    lines.append("%s  %s" % (digest, name))
    with open(sums, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("%s %s %s" % (path, digest, version))
    return path, digest, version


def serve(root, bind, port, pidfile, timeout=20):
    background.start([sys.executable, "-m", "http.server", "--bind", bind, "--directory", root, str(port)],
                     pidfile, "http://%s:%s/" % (bind, port), timeout)
    print("http://%s:%s" % (bind, port))


def stop(pidfile):
    background.stop(pidfile)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--root", required=True)
    b.add_argument("--product", required=True, choices=sorted(PRODUCTS))
    b.add_argument("--version")
    b.add_argument("--line", choices=("bookworm", "trixie", "sid"))
    s = sub.add_parser("serve")
    s.add_argument("--root", required=True)
    s.add_argument("--bind", default="127.0.0.1")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--pidfile", required=True)
    t = sub.add_parser("stop")
    t.add_argument("--pidfile", required=True)
    args = parser.parse_args()
    if args.command == "build":
        build(args.root, args.product, args.version, args.line)
    elif args.command == "serve":
        serve(args.root, args.bind, args.port, args.pidfile)
    else:
        stop(args.pidfile)


if __name__ == "__main__":
    main()
