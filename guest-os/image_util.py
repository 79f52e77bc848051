"""What every part of the image builder uses: messages, commands, hashes,
files (guest-os/build-images)."""
import hashlib
import json
import os
import subprocess
import sys

# The mtime of every file in the initramfs (2023-06-10, Debian 12's release).
SOURCE_DATE_EPOCH = int(os.environ.get('SOURCE_DATE_EPOCH', '1686355200'))


def log(*args):
    print('build-images:', *args, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def write(path, data, mode):
    with open(path, 'wb') as f:
        f.write(data)
    os.chmod(path, mode)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
