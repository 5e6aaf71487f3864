"""Offline stand-in for the get-pip script ansible-test downloads from a server these machines
cannot reach: bootstrap pip from the interpreter's own ensurepip, then install what was asked.
scripts/sanity.sh copies it to ~/.ansible/test/cache/get_pip_24_2.py."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade"] + args)
