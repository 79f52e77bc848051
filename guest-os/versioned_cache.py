"""A part of the images cached by version (guest-os/build-images): each
build in CACHE/VERSION/ (VERSION: its key's first 16 hex digits) and a
`current` link to the newest, replaced by rename; the one before stays
(running VMs use it), older ones go. A part is a module with PACKAGES,
OUTPUTS, candidates(), key(), build(), missing_packages(), is_version()
and unmount_under() (template_image.py, cloud_image.py)."""
import collections
import os
import shutil
import sys
import tempfile

import debian_apt
from image_util import log, read_json, sha256_file

# NAME for messages ("cloud image"), PART the module, CACHE its directory
# under IMAGE_DIR.
Versioned = collections.namedtuple('Versioned',
                                   'name part cache image_dir')


def current_valid(which, key):
    """The manifest of the version `current` names when it was built from
    KEY and its files are whole, else None."""
    part, cache = which.part, which.cache
    d = os.path.join(cache, 'current')
    m = read_json(os.path.join(d, 'manifest.json'))
    if not m or m.get('key') != key:
        return None
    for o in part.OUTPUTS:
        p = os.path.join(d, o)
        if not os.path.isfile(p) or sha256_file(p) != m['sha256'].get(o):
            return None
    return m


def part_key(which):
    """The part's cache key from apt's candidates (apt-get update once
    when apt knows none)."""
    part = which.part
    cands = part.candidates()
    if cands is None:
        debian_apt.apt_update()
        cands = part.candidates()
    if cands is None:
        sys.exit('build-images: apt knows no candidate for one of '
                 + ', '.join(part.PACKAGES))
    return part.key(cands)


def build_into(which, key, into):
    """Builds the part into INTO (a new directory); returns the manifest.
    Its scratch is under its cache: a killed build leaves it where the
    next run removes it (versioned_sweep)."""
    part, cache = which.part, which.cache
    debian_apt.ensure_host_tools(part.missing_packages())
    work = tempfile.mkdtemp(prefix='.work-', dir=cache)
    try:
        os.makedirs(into, mode=0o755)
        return part.build(key, work, into)
    finally:
        part.unmount_under(work)
        shutil.rmtree(work, ignore_errors=True)


def ensure(which, quiet):
    """The part's manifest: `current`'s when its key matches, else a new
    VERSION built, `current` moved to it (rename) and the versions but it
    and the one before removed (running VMs keep theirs open)."""
    part, cache = which.part, which.cache
    key = part_key(which)
    m = current_valid(which, key)
    if m:
        if not quiet:
            log('the Debian %s is current (%s)' % (which.name, m['version']))
        return m
    version = key[:16]
    stage = os.path.join(cache, '.build-' + version)
    try:
        m = build_into(which, key, stage)
        log('Debian %s %s built in %.0f s (tree %d MiB, %s %d MiB)' % (
            which.name, version, m['build_seconds'], m['tree_bytes'] >> 20,
            part.OUTPUTS[0], m['qcow2_bytes'] >> 20))
        final = os.path.join(cache, version)
        # A version of the same key whose files were not whole.
        remove_version(final)
        os.rename(stage, final)
        stage = None
    finally:
        if stage:
            shutil.rmtree(stage, ignore_errors=True)
    current = os.path.join(cache, 'current')
    before = os.readlink(current) if os.path.islink(current) else None
    tmp = current + '.tmp'
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(version, tmp)
    os.rename(tmp, current)
    for name in os.listdir(cache):
        if part.is_version(name) and name not in (version, before):
            remove_version(os.path.join(cache, name))
    return m


def remove_version(path):
    """Removes a version: a directory, or a link to one (a test's cache of
    links to the real one) whose target stays."""
    if os.path.islink(path):
        os.unlink(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


def sweep(which):
    """Removes what a killed build of the part left (no build runs: the
    caller holds the lock): its mounts first."""
    part, cache = which.part, which.cache
    os.makedirs(cache, mode=0o755, exist_ok=True)
    for name in os.listdir(cache):
        if name.startswith(('.work-', '.build-', '.check-')):
            path = os.path.join(cache, name)
            part.unmount_under(path)
            shutil.rmtree(path, ignore_errors=True)


def check(which, m):
    """--check: the part rebuilt into a scratch version directory and its
    outputs' hashes compared with `current`'s; the exit status."""
    part, cache = which.part, which.cache
    if part_key(which) != m['key']:
        log('the %s\'s package candidates changed since it was built'
            % which.name)
    scratch = tempfile.mkdtemp(prefix='.check-', dir=cache)
    try:
        again = build_into(which, m['key'], os.path.join(scratch, 'out'))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    status = 0
    for o in part.OUTPUTS:
        same = again['sha256'][o] == m['sha256'][o]
        print('%s %s/%s cached %s rebuilt %s' % (
            'same' if same else 'DIFFERENT', os.path.relpath(cache, which.image_dir),
            o, m['sha256'][o], again['sha256'][o]), flush=True)
        if not same:
            status = 1
    return status
