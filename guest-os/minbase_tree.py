"""The Debian trees the app VM images start from (template_image.py,
cloud_image.py): mmdebstrap --variant=minbase in root mode, so the tree's
owners are real and mkfs.ext4 -d copies them, for the host's release from
the host's archive, with SOURCE_DATE_EPOCH for reproducible files. Each
image's cache key hashes this file too (source_bytes)."""
import os
import subprocess
import sys

import debian_apt
from image_util import SOURCE_DATE_EPOCH


def source_bytes():
    """This file, for the keys of the images built with it."""
    with open(os.path.abspath(__file__), 'rb') as f:
        return b'minbase_tree.py\n' + f.read()


def build(root, packages, hooks, log_path, what):
    """ROOT: the tree of PACKAGES and what they depend on; HOOKS are
    mmdebstrap's --*-hook= options, in order. mmdebstrap's output goes to
    LOG_PATH; a failure exits naming WHAT, the log and its tail."""
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(SOURCE_DATE_EPOCH),
               LC_ALL='C.UTF-8', DEBIAN_FRONTEND='noninteractive')
    _uri, suite = debian_apt.debian_archive()
    cmd = (['mmdebstrap', '--mode=root', '--variant=minbase',
            '--format=directory', '--include=' + ','.join(packages)] +
           list(hooks) + [suite, root] + debian_apt.debian_sources())
    with open(log_path, 'w') as logf:
        r = subprocess.run(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        with open(log_path, errors='replace') as logf:
            tail = logf.read()[-3000:]
        sys.exit('build-images: %s: mmdebstrap failed (exit %d; its log is'
                 ' %s):\n%s' % (what, r.returncode, log_path, tail))
