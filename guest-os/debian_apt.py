"""Debian packages for the images, never installed on the host: apt's
candidates and their dependencies, downloads checked against apt's index,
and non-free-firmware from an apt state of its own (guest-os/build-images)."""
import os
import re
import subprocess
import sys

from image_util import log, sha256_file


def apt_get(*args):
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    return subprocess.run(['apt-get', *args], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def apt_update():
    log('apt-get update')
    r = apt_get('update', '-qq')
    if r.returncode != 0:
        sys.exit('build-images: apt-get update failed:\n' + r.stdout)


def ensure_host_tools(missing):
    """Installs the host packages MISSING names (apt-get, as root)."""
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit('build-images: missing packages %s (run as root)'
                 % ' '.join(missing))
    log('installing', ' '.join(missing))
    args = ['install', '-y', '-qq', '--no-install-recommends', *missing]
    if apt_get(*args).returncode != 0:
        apt_update()
        r = apt_get(*args)
        if r.returncode != 0:
            sys.exit('build-images: apt-get install failed:\n' + r.stdout)


# apt's binary cache of its lists, ours: Debian's container images set
# Dir::Cache::pkgcache "", and without one each apt-cache call parses
# every list (~1.2 s; ~0.35 s with it). apt itself checks it against the
# lists and dpkg's status and builds it again when they changed, as it
# does its own.
APT_BINARY_CACHE = os.path.join(os.environ.get(
    'BULKHEAD_IMAGE_DIR', '/var/cache/bulkhead/images'), '.apt-binary-cache')


def apt_cache_show(names):
    """apt-cache show of apt's candidates of NAMES (CompletedProcess)."""
    opts = []
    try:
        os.makedirs(APT_BINARY_CACHE, mode=0o700, exist_ok=True)
        if os.access(APT_BINARY_CACHE, os.W_OK):
            opts = ['-o', 'Dir::Cache::pkgcache=' +
                    os.path.join(APT_BINARY_CACHE, 'pkgcache.bin'),
                    '-o', 'Dir::Cache::srcpkgcache=' +
                    os.path.join(APT_BINARY_CACHE, 'srcpkgcache.bin')]
    except OSError:
        pass
    return subprocess.run(['apt-cache', *opts, 'show', '--no-all-versions',
                           *names], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)


def apt_show_all(names):
    """{package: its candidate's fields} of NAMES in one apt-cache call;
    a name apt does not know is missing from it. One call, not one per
    name: each costs a look at apt's lists."""
    if not names:
        return {}
    r = apt_cache_show(names)
    found = {}
    for stanza in r.stdout.split('\n\n'):
        f = dict(re.findall(r'^([A-Za-z0-9-]+):[ \t]*(.*)$', stanza, re.M))
        if 'Package' in f:
            found.setdefault(f['Package'], f)
    return found


def apt_show(pkg):
    """The candidate's fields, or None when apt does not know it."""
    return apt_show_all([pkg]).get(pkg)


def _host_release():
    try:
        with open('/etc/os-release') as f:
            m = re.search(r'^VERSION_CODENAME=(\S+)$', f.read(), re.M)
            if m:
                return m.group(1)
    except OSError:
        pass
    return 'bookworm'


def _host_entries():
    """[(URI, suite)] of the host's apt sources (one-line and deb822), in
    the order apt reads them."""
    entries = []
    for path in ['/etc/apt/sources.list'] + sorted(
            os.path.join('/etc/apt/sources.list.d', f)
            for f in (os.listdir('/etc/apt/sources.list.d')
                      if os.path.isdir('/etc/apt/sources.list.d') else [])):
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        for stanza in text.split('\n\n'):
            uri = re.search(r'^URIs:\s*(\S+)', stanza, re.M)
            suites = re.search(r'^Suites:\s*(.*)$', stanza, re.M)
            if uri and suites:
                entries += [(uri.group(1), s) for s in suites.group(1).split()]
        entries += re.findall(r'^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)\s',
                              text, re.M)
    return entries


def candidate_versions(names):
    """[(package, version)] of apt's candidates of NAMES in one apt-cache
    call (about a second each when asked one by one), or None when apt
    does not know one."""
    r = apt_cache_show(names)
    if r.returncode != 0:
        return None
    found = {}
    for stanza in r.stdout.split('\n\n'):
        f = dict(re.findall(r'^([A-Za-z0-9-]+):\s*(.*)$', stanza, re.M))
        if 'Package' in f and 'Version' in f:
            found.setdefault(f['Package'], f['Version'])
    if any(n not in found for n in names):
        return None
    return [(n, found[n]) for n in names]


def debian_archive():
    """(URI, suite) of the host's Debian archive (its apt sources), else
    deb.debian.org and the release's codename."""
    suite = _host_release()
    for uri, s in _host_entries():
        if s == suite and '/debian' in uri and 'security' not in uri:
            return uri, suite
    return 'http://deb.debian.org/debian', suite


def debian_sources():
    """["deb URI SUITE main"]: the host's Debian archive for its release,
    and its -updates and -security suites where the host has them (so a
    tree installed from these has apt's candidate versions)."""
    uri, suite = debian_archive()
    lines = ['deb %s %s main' % (uri, suite)]
    for extra in (suite + '-updates', suite + '-security'):
        for u, s in _host_entries():
            if s == extra and '/debian' in u:
                lines.append('deb %s %s main' % (u, s))
                break
    return lines


def firmware_apt_opts(apt_dir):
    """apt's options for the non-free-firmware state in APT_DIR."""
    return ['-o', 'Dir::Etc::SourceList=%s/sources.list' % apt_dir,
            '-o', 'Dir::Etc::SourceParts=%s/none' % apt_dir,
            '-o', 'Dir::State::Lists=%s/lists' % apt_dir,
            '-o', 'Dir::Cache=%s/cache' % apt_dir]


def firmware_resolve(packages, apt_dir, update):
    """[(package, version, sha256)] of PACKAGES from the non-free-firmware
    component (apt's state in APT_DIR), or [] when it cannot be reached."""
    uri, suite = debian_archive()
    os.makedirs(os.path.join(apt_dir, 'lists', 'partial'), exist_ok=True)
    os.makedirs(os.path.join(apt_dir, 'cache', 'archives', 'partial'),
                exist_ok=True)
    os.makedirs(os.path.join(apt_dir, 'none'), exist_ok=True)
    with open(os.path.join(apt_dir, 'sources.list'), 'w') as f:
        f.write('deb %s %s non-free-firmware\n' % (uri, suite))
    def show(name):
        r = subprocess.run(['apt-cache', *firmware_apt_opts(apt_dir), 'show',
                            '--no-all-versions', name],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True)
        if r.returncode or not r.stdout.strip():
            return None
        f = dict(re.findall(r'^([A-Za-z0-9-]+):\s*(.*)$',
                            r.stdout.split('\n\n')[0], re.M))
        return (name, f['Version'], f['SHA256']) \
            if 'Version' in f and 'SHA256' in f else None
    found = [show(n) for n in packages]
    if all(found):
        return found
    if update:
        r = apt_get(*firmware_apt_opts(apt_dir), 'update', '-qq')
        if r.returncode == 0:
            return firmware_resolve(packages, apt_dir, False)
        log('non-free-firmware (%s %s) unreachable: driver VMs without '
            'firmware:\n%s' % (uri, suite, r.stdout.strip()[-500:]))
    return []


def dep_names(field):
    """Package names of a Depends field, the first of each alternative."""
    names = []
    for dep in re.split(r'\s*,\s*', field.strip()):
        if dep:
            first = dep.split('|')[0].strip()
            names.append(first.split()[0].split(':')[0])
    return names


def package_closure(roots, no_deps):
    """[(package, version, sha256)] of ROOTS and their Pre-Depends/Depends
    (first alternatives; not those of NO_DEPS), sorted by name; None when
    apt does not know one. One apt-cache call per level of dependencies."""
    closure, todo = {}, set(roots)
    while todo:
        shown = apt_show_all(sorted(todo))
        found, todo = todo, set()
        for name in sorted(found):
            f = shown.get(name)
            if not f or 'Version' not in f or 'SHA256' not in f:
                # A virtual package, or apt's lists are missing.
                return None
            closure[name] = (name, f['Version'], f['SHA256'])
            if name in no_deps:
                continue
            for field in ('Pre-Depends', 'Depends'):
                todo.update(d for d in dep_names(f.get(field, ''))
                            if d not in closure)
        todo -= set(closure)
    return [closure[n] for n in sorted(closure)]


def download(pkgs, where, apt_opts=()):
    """Downloads each package into where; returns {name: path}."""
    os.chmod(where, 0o755)
    paths = {}
    for name, version, sha in pkgs:
        before = set(os.listdir(where))
        r = subprocess.run(['apt-get', *apt_opts, 'download', '-q',
                            '%s=%s' % (name, version)],
                           cwd=where, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            return None, r.stdout
        new = [f for f in set(os.listdir(where)) - before if f.endswith('.deb')]
        if len(new) != 1:
            sys.exit('build-images: apt-get download %s gave %s' % (name, new))
        path = os.path.join(where, new[0])
        got = sha256_file(path)
        if got != sha:
            sys.exit('build-images: %s: sha256 %s, apt index says %s'
                     % (new[0], got, sha))
        paths[name] = path
    return paths, ''
