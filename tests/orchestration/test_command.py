#!/usr/bin/env python3
"""Smaller holes of issue 14 (containment), each closed without VMs:

    test_command.py BULKHEAD

- status is bounded: a link whose control socket accepts and never
  answers, and one whose listen backlog is full, each cost at most 2 s and
  show as "no answer" (table and --json) while the other rows print; many
  stuck links together cost at most the overall 10 s.
- logs: the console log reaches the terminal through the console filter
  (no escape sequence, none of its arguments as litter).
- Run as root, console finds virsh on the fixed PATH, not the caller's
  (an evil virsh first on PATH must not run).
- The link supervisor (bulkhead supervise, started from a relative
  directory with a dirty environment) runs from "/" with only PATH and
  BULKHEAD_* (sanitizer options in sanitizer builds) in /proc/PID/environ,
  and keeps no descriptor its starter leaked.
- Templates (docs/templates.md): the command knows the templates the
  image builder makes (guest-os/template_image.py's TEMPLATES): `template
  list` shows each, built or not; check lets a VM on a template the
  builder makes unasked pass unbuilt (up builds it) and refuses one on a
  template built only when asked, naming the command that builds it;
  `template build` refuses a name the builder does not know.

libvirt: the test driver (test:///default), in-process; the real
libvirtd is not used.
"""
import fcntl
import json
import re
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import Tap  # noqa: E402

BULKHEAD = os.path.abspath(sys.argv[1])
LINK = os.path.abspath(sys.argv[2])
# A confined worker's log stops here (vmm/sandbox/sandbox.h
# SANDBOX_LOG_LIMIT, RLIMIT_FSIZE).
LOG_CAP = 16 << 20
URI = 'test:///default'
FIXED_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
LINK_MS, ALL_LINKS_MS = 2000, 10000
ANSWER = {'sides': {'a': {'connected': True}, 'b': {'connected': True}},
          'a_to_b': {'packets': 7, 'drops': {'spoofed': 0}},
          'b_to_a': {'packets': 5}}


def topology(name, apps):
    out = ['version: 1', 'name: ' + name, 'driver-vms:', '  - name: sys-net',
           '    kind: net', '    devices:', '      - emulated: e1000e',
           '        netns: bk-containment', 'app-vms:']
    for i, app in enumerate(apps):
        out += ['  - name: ' + app, '    net: sys-net',
                '    mac: "52:54:00:c0:00:%02x"' % (i + 1),
                '    ip: 10.201.%d.2/24' % i]
    return '\n'.join(out) + '\n'


def link_spec(name, binary, control, args, sockets=()):
    """One link of links.json as up writes it (supervisor.h)."""
    return {'name': name, 'kind': 'net', 'driver_vm': 'sys-net',
            'binary': binary, 'netns': '', 'control': control,
            'tell_next': '',
            'sockets': list(sockets),
            'args': ['--control', control, '--name', name] + list(args)}


def make_state(root, name, apps):
    """What status reads of a running topology: the file as applied, the
    links up asked for, and the control socket directory."""
    state = os.path.join(root, name)
    ctl = os.path.join(state, 'ctl')
    os.makedirs(ctl)
    with open(os.path.join(state, name + '.yaml'), 'w') as f:
        f.write(topology(name, apps))
    with open(os.path.join(state, 'links.json'), 'w') as f:
        json.dump({'links': [link_spec(a, LINK, os.path.join(ctl, a + '.ctl'),
                                       []) for a in apps]}, f)
    return ctl


def listener(path, backlog):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(backlog)
    return s


def serve(s, answer, held):
    """Accepts for ever; answers with ANSWER, or (None) holds the
    connection open and says nothing."""
    while True:
        try:
            c, _ = s.accept()
        except OSError:
            return
        if answer is None:
            held.append(c)
        else:
            c.sendall(json.dumps(answer).encode())
            c.close()


def fill_backlog(path):
    """Connects until the listener's backlog refuses more (EAGAIN)."""
    clients = []
    for _ in range(64):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(path)
        except BlockingIOError:
            c.close()
            return clients, True
        clients.append(c)
    return clients, False


def run(env, *args, timeout=60, cwd=None):
    t0 = time.monotonic()
    try:
        r = subprocess.run([BULKHEAD, '--connect', URI, *args], env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, cwd=cwd)
        return r.returncode, r.stdout, r.stderr, time.monotonic() - t0
    except subprocess.TimeoutExpired:
        return None, b'', b'(killed after %d s)' % timeout, timeout


class Quiet(Tap):
    """Says why only when a check fails."""

    def check(self, ok, what, diag=None):
        return super().check(ok, what, None if ok else diag)


def row(text, name):
    """The link's row (the links table comes after the VMs')."""
    for line in reversed(text.splitlines()):
        if line.split()[:1] == [name]:
            return line
    return ''


def stop_supervisor(sv):
    """SIGTERM, as down sends it; SIGKILL if it has not ended in 10 s."""
    sv.send_signal(signal.SIGTERM)
    try:
        sv.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sv.kill()
        sv.wait()


def own_logs(t, tmp):
    """A supervisor logging to a file gives each link worker a log of its
    own: a link whose log is at the cap loses its lines, the others do
    not, and the supervisor's log holds none of theirs."""
    state = os.path.join(tmp, 'state-logs', 'logs')
    os.makedirs(state)
    links = [{'name': n, 'a': os.path.join(tmp, n + '-a.sock'),
              'b': os.path.join(tmp, n + '-b.sock'),
              'mac_a': '52:54:00:e0:00:%02x' % (2 * i + 1),
              'mac_b': '52:54:00:e0:00:%02x' % (2 * i + 2),
              'control': os.path.join(tmp, n + '.ctl')}
             for i, n in enumerate(('capped', 'free'))]
    with open(os.path.join(state, 'links.json'), 'w') as f:
        json.dump({'links': [link_spec(
            l['name'], LINK, l['control'],
            ['--a', l['a'], '--b', l['b'], '--mac-a', l['mac_a'],
             '--mac-b', l['mac_b']], (l['a'], l['b'])) for l in links]}, f)
    # The capped link's log already at the cap (sparse).
    with open(os.path.join(state, 'link-capped.log'), 'wb') as f:
        f.truncate(LOG_CAP)
    sv_log = os.path.join(state, 'supervisor.log')
    with open(sv_log, 'wb') as log:
        sv = subprocess.Popen([BULKHEAD, 'supervise', state],
                              stdin=subprocess.DEVNULL, stdout=log,
                              stderr=log)
    try:
        for _ in range(200):
            if all(os.path.exists(l['a']) for l in links):
                break
            time.sleep(0.05)
        for l in links:
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                c.connect(l['a'])
                time.sleep(0.3)
            except OSError:
                pass
            finally:
                c.close()
        time.sleep(0.5)

        def read(name):
            try:
                with open(os.path.join(state, name), 'rb') as f:
                    return f.read().replace(b'\0', b'')
            except OSError as e:
                return str(e).encode()
        free, capped, sv_text = (read('link-free.log'),
                                 read('link-capped.log'), read('supervisor.log'))
        t.check(b'connected' in free and capped == b'' and
                os.path.getsize(os.path.join(state, 'link-capped.log'))
                == LOG_CAP and b'connected' not in sv_text and
                b'started bulkhead-link' in sv_text,
                'each link its own log: one at the cap loses only its own'
                ' lines, the supervisor\'s holds none of theirs',
                'free %r\ncapped %r\nsupervisor %r' % (
                    free[-300:], capped[-300:], sv_text[-600:]))
    finally:
        stop_supervisor(sv)


# A worker that records each start's arguments and exits 76
# (LINK_EXIT_TELL_NEXT) on its first run; is killed by a signal on its
# second before it says (on --told-fd) that it did what it was told; on
# its third says so, then is killed; exits 3 on its fourth; then stays.
TELLING_WORKER = '''#!/bin/sh
echo "$*" >> "$0.runs"
n=$(wc -l < "$0.runs")
fd=$(echo "$*" | sed -n 's/.*--told-fd \\([0-9]*\\).*/\\1/p')
[ "$n" -eq 1 ] && exit 76
[ "$n" -eq 2 ] && kill -9 $$
[ "$n" -eq 3 ] && [ -n "$fd" ] && echo 1 >&"$fd"
[ "$n" -eq 3 ] && kill -9 $$
[ "$n" -eq 4 ] && exit 3
exec sleep 600
'''


def tell_next(t, tmp):
    """A link that exits 76 gets its spec's tell_next on its next start
    (a storage link whose NBD connection died with acknowledged writes
    unflushed has the next bulkhead-blk fail a flush), with a pipe to say
    it did (--told-fd); and on the one after when that was killed by a
    signal before it said so, not when it had said so."""
    state = os.path.join(tmp, 'state-tell', 'tell')
    os.makedirs(state)
    worker = os.path.join(tmp, 'telling-worker')
    with open(worker, 'w') as f:
        f.write(TELLING_WORKER)
    os.chmod(worker, 0o755)
    spec = link_spec('teller', worker, os.path.join(tmp, 'teller.ctl'),
                     ['--volume', 'v'])
    spec['args'] = ['--volume', 'v']
    spec['tell_next'] = '--lost-writes'
    with open(os.path.join(state, 'links.json'), 'w') as f:
        json.dump({'links': [spec]}, f)
    with open(os.path.join(state, 'supervisor.log'), 'wb') as log:
        sv = subprocess.Popen([BULKHEAD, 'supervise', state],
                              stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    runs = []
    try:
        for _ in range(100):
            try:
                with open(worker + '.runs') as f:
                    runs = f.read().splitlines()
            except OSError:
                runs = []
            if len(runs) >= 5:
                break
            time.sleep(0.1)
    finally:
        stop_supervisor(sv)
    told = '--volume v --lost-writes --told-fd N'
    seen = [re.sub(r'--told-fd \d+$', '--told-fd N', r) for r in runs]
    t.check(seen == ['--volume v', told, told, '--volume v', '--volume v'],
            'a link that exits 76 gets its tell_next argument on its next'
            ' start, with a pipe to say it did; again when that one is killed'
            ' by a signal before it said so; not after one that said so and'
            ' was killed, nor after one that exits', repr(runs))


def fake_template(image_dir, name, version):
    """IMAGE_DIR/templates/NAME/VERSION as the builder leaves it (a root
    file of root's, 0644, a manifest), current."""
    d = os.path.join(image_dir, 'templates', name)
    os.makedirs(os.path.join(d, version))
    for f in ('root.qcow2', 'vmlinuz', 'initrd.img'):
        with open(os.path.join(d, version, f), 'wb') as out:
            out.write(b'x' * 4096)
    with open(os.path.join(d, version, 'manifest.json'), 'w') as out:
        json.dump({'version': version, 'packages': [{'package': 'a'}],
                   'build_seconds': 1.5}, out)
    os.symlink(version, os.path.join(d, 'current'))


def versions_listed(env):
    """(exit status, {template: how many versions}, output) of template
    list --json."""
    rc, out, err, _ = run(env, 'template', 'list', '--json')
    try:
        listed = {x['template']: len(x['versions']) for x in json.loads(out)}
    except (ValueError, KeyError, TypeError):
        listed = {}
    return rc, listed, (out + err).decode(errors='replace')


def templates(t, tmp, env):
    """The templates the command knows against the builder's table."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), '..', '..', 'guest-os'))
    sys.dont_write_bytecode = True
    import template_image
    table = template_image.TEMPLATES
    images = os.path.join(tmp, 'images')
    env = dict(env, BULKHEAD_IMAGE_DIR=images,
               BULKHEAD_DATA_DIR=os.path.join(tmp, 'data'))
    fake_template(images, 'debian', '0123456789abcdef')
    rc, listed, out = versions_listed(env)
    rc2, text, _, _ = run(env, 'template', 'list')
    t.check(rc == 0 and rc2 == 0 and sorted(listed) == sorted(table) and
            listed.get('debian') == 1 and listed.get('debian-desktop') == 0
            and b'template debian-desktop: not built (bulkhead template'
            b' build debian-desktop)' in text,
            'template list: every template of template_image.py (%s), the'
            ' one not built said so' % ', '.join(sorted(table)),
            out + text.decode(errors='replace'))
    fake_template(images, 'debian-desktop', 'fedcba9876543210')
    rc, listed, out = versions_listed(env)
    t.check(rc == 0 and listed == {'debian': 1, 'debian-desktop': 1},
            'template list: both built, both listed with their version', out)
    # check: by default or only when asked, as the builder's table says.
    outcome = {}
    for name in table:
        topo = os.path.join(tmp, 'tpl-%s.yaml' % name)
        with open(topo, 'w') as f:
            f.write('version: 2\nname: tpl\ndriver-vms:\n  - name: sys-net\n'
                    '    kind: net\n    devices:\n      - emulated: e1000e\n'
                    '        netns: bk-tpl\napp-vms:\n  - name: work\n'
                    '    template: %s\n    net: {via: sys-net, mac:'
                    ' "52:54:00:c1:00:01", ip: 10.202.1.2/24}\n' % name)
        rc, out, err, _ = run(dict(env, BULKHEAD_IMAGE_DIR=os.path.join(
            tmp, 'no-images')), 'check', topo)
        outcome[name] = (rc, err.decode(errors='replace').strip())
    want = {name: (0, '') if spec.default else
            (2, 'bulkhead: work: template %s is not built (no %s/templates/'
             '%s/current; bulkhead template build %s builds it)' % (
                 name, os.path.join(tmp, 'no-images'), name, name))
            for name, spec in table.items()}
    t.check(outcome == want,
            'check, no template built: a VM on one the builder makes unasked'
            ' passes (up builds it), one on a template built only when asked'
            ' is refused naming it and `bulkhead template build NAME`',
            json.dumps(outcome) + ' want ' + json.dumps(want))
    rc, out, err, _ = run(env, 'template', 'build', 'nosuch')
    t.check(rc == 2 and b"makes no template 'nosuch'" in err,
            'template build nosuch: refused by name, nothing built',
            err.decode(errors='replace'))
    # An up starting a VM on a template holds it (shared) from choosing
    # the version until the VM's record names it: remove refuses while
    # it is held, and removes once it is not.
    tdir = os.path.join(images, 'templates', 'debian-desktop')
    fd = os.open(tdir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        rc, _, err, _ = run(env, 'template', 'remove', 'debian-desktop')
        held_out = (rc, err.decode(errors='replace').strip(),
                    os.path.isdir(tdir))
    finally:
        os.close(fd)
    rc, out, err, _ = run(env, 'template', 'remove', 'debian-desktop')
    t.check(held_out == (2, 'bulkhead: template remove: an up or a clone'
                         ' is using template debian-desktop; nothing'
                         ' removed', True) and rc == 0 and
            not os.path.exists(tdir),
            'template remove: refused while an up holds the template, done'
            ' once it does not', repr(held_out) +
            (out + err).decode(errors='replace'))
    # A clone holds its source the same way while it copies: it waits
    # while a remove holds the source, and copies once it does not.
    sdir = os.path.join(images, 'templates', 'debian')
    fd = os.open(sdir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        clone = subprocess.Popen([BULKHEAD, '--connect', URI, 'template',
                                  'clone', 'debian', 'debian-held'], env=env,
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
        time.sleep(1.5)
        waited = (clone.poll(), os.path.exists(os.path.join(
            images, 'templates', 'debian-held')))
    finally:
        os.close(fd)
    try:
        out, _ = clone.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        clone.kill()
        out, _ = clone.communicate()
    made = os.path.isdir(os.path.join(images, 'templates', 'debian-held'))
    run(env, 'template', 'remove', 'debian-held')
    t.check(waited == (None, False) and clone.returncode == 0 and made,
            'template clone: waits while a remove holds its source, copies'
            ' once it does not', repr(waited) + out.decode(errors='replace'))


def main():
    t = Quiet(21)
    tmp = tempfile.mkdtemp(prefix='bk-containment-')
    os.chmod(tmp, 0o755)
    threads, socks, held = [], [], []
    try:
        env = dict(os.environ, BULKHEAD_STATE_DIR=os.path.join(tmp, 'state'),
                   BULKHEAD_LOG_DIR=os.path.join(tmp, 'log'))
        sock = make_state(env['BULKHEAD_STATE_DIR'], 'stuck',
                          ['hang', 'full', 'well', 'gone'])
        for name, answer in (('hang', None), ('well', ANSWER)):
            s = listener(os.path.join(sock, name + '.ctl'), 8)
            th = threading.Thread(target=serve, args=(s, answer, held),
                                  daemon=True)
            th.start()
            socks.append(s)
        full = listener(os.path.join(sock, 'full.ctl'), 0)
        socks.append(full)
        clients, filled = fill_backlog(os.path.join(sock, 'full.ctl'))
        held += clients

        rc, out, err, took = run(env, 'status')
        text = out.decode(errors='replace')
        t.check(rc == 0 and took < (2 * LINK_MS + 3000) / 1000,
                'status returns within 2 s per stuck link (%.1f s)' % took,
                err.decode(errors='replace') if rc != 0 else None)
        t.check(filled and 'no answer' in row(text, 'hang') and
                'no answer' in row(text, 'full'),
                'links that accept and never answer, or whose backlog is'
                ' full, show "no answer"', text)
        t.check('7 pkt' in row(text, 'well') and '5 pkt' in row(text, 'well')
                and 'app/net' in row(text, 'well'),
                'the link that answers still shows its counters', text)
        t.check('No such file' in row(text, 'gone'),
                'a link without a socket says why', text)

        rc, out, err, took = run(env, 'status', '--json')
        try:
            links = {l['name']: l for l in json.loads(out)[0]['links']}
        except (ValueError, IndexError, KeyError):
            links = {}
        t.check(rc == 0 and took < (2 * LINK_MS + 3000) / 1000 and
                links.get('hang', {}).get('control') == 'no answer' and
                links.get('full', {}).get('control') == 'no answer' and
                'link' not in links.get('hang', {}) and
                links.get('well', {}).get('control') == 'ok' and
                links.get('well', {}).get('link', {}).get('a_to_b') ==
                ANSWER['a_to_b'],
                'status --json: "control": "no answer" for the stuck links,'
                ' "ok" and the answer for the other (%.1f s)' % took,
                out.decode(errors='replace')[-3000:])

        # Many stuck links: the whole status is bounded, not 2 s each.
        many_env = dict(env, BULKHEAD_STATE_DIR=os.path.join(tmp, 'state-many'))
        names = ['s%d' % i for i in range(8)]
        sock = make_state(many_env['BULKHEAD_STATE_DIR'], 'many', names)
        for n in names:
            socks.append(listener(os.path.join(sock, n + '.ctl'), 8))
        rc, out, err, took = run(many_env, 'status', '--json')
        try:
            controls = [l['control'] for l in json.loads(out)[0]['links']]
        except (ValueError, IndexError, KeyError):
            controls = []
        t.check(rc == 0 and took < (ALL_LINKS_MS + 3000) / 1000 and
                len(controls) == 8 and
                all(c.startswith('no answer') for c in controls) and
                any('spent' in c for c in controls),
                '8 stuck links: status returns within its overall 10 s'
                ' (%.1f s; %d of 8 asked)' %
                (took, sum(c == 'no answer' for c in controls)),
                '\n'.join(controls) or err.decode(errors='replace'))

        # logs: what the guest wrote, filtered as on the console.
        log = os.path.join(env['BULKHEAD_LOG_DIR'], 'stuck')
        os.makedirs(log)
        with open(os.path.join(log, 'well.log'), 'wb') as f:
            f.write(b'boot ok\r\n\x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZXZpbA==\x1b\\'
                    b'login: \x9b6n\xc3\xa9t\xc3\xa9\n')
        rc, out, err, _ = run(env, 'logs', 'well')
        # 0x9b (an 8-bit CSI) is no UTF-8: dropped, its "6n" left inert.
        t.check(rc == 0 and out == b'boot ok\r\nlogin: 6n\xc3\xa9t\xc3\xa9\n',
                'logs: escape sequences swallowed whole, text and UTF-8 kept',
                repr(out) + err.decode(errors='replace'))

        # The console's client, run as root, comes from the fixed PATH.
        evil = os.path.join(tmp, 'evil')
        marker = os.path.join(tmp, 'marker')
        os.makedirs(evil)
        for tool in ('virsh', 'ip', 'modprobe', 'pgrep', 'libvirtd'):
            p = os.path.join(evil, tool)
            with open(p, 'w') as f:
                f.write('#!/bin/sh\necho "%s $*" >> %s\n' % (tool, marker))
            os.chmod(p, 0o755)
        evil_env = dict(env, PATH=evil + ':' + os.environ.get('PATH', ''),
                        EVIL_VAR='1')
        root = os.geteuid() == 0
        rc, out, err, took = run(evil_env, 'console', 'well', timeout=30)
        t.check(not root or (rc is not None and not os.path.exists(marker)),
                'console run as root: virsh from the fixed PATH, not the'
                " caller's" + ('' if root else ' # SKIP needs root'),
                (open(marker).read() if os.path.exists(marker) else '') +
                err.decode(errors='replace'))
        rc, out, err, took = run(evil_env, 'check',
                                 os.path.join(env['BULKHEAD_STATE_DIR'],
                                              'stuck', 'stuck.yaml'))
        t.check(rc == 0 and not os.path.exists(marker),
                'check with an evil PATH runs nothing from it',
                out.decode(errors='replace') + err.decode(errors='replace'))

        # The supervisor: from a relative directory, with a dirty
        # environment; it must run from "/" with a clean one.
        sv_env = dict(evil_env, BULKHEAD_STATE_DIR='state-sv',
                      BULKHEAD_LOG_DIR='log-sv')
        sv_state = os.path.join(tmp, 'state-sv', 'sv')
        os.makedirs(sv_state)
        leaked = os.open(os.path.join(tmp, 'leaked-by-the-starter'),
                         os.O_RDWR | os.O_CREAT, 0o600)
        sv = subprocess.Popen([BULKHEAD, '--connect', URI, 'supervise',
                               'state-sv/sv'], env=sv_env, cwd=tmp,
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, pass_fds=(leaked,))
        os.close(leaked)
        pid_file = os.path.join(sv_state, 'supervisor.pid')
        for _ in range(100):
            if os.path.exists(pid_file) and open(pid_file).read().strip():
                break
            time.sleep(0.05)
        try:
            with open('/proc/%d/environ' % sv.pid, 'rb') as f:
                environ = [e.decode() for e in f.read().split(b'\0') if e]
            cwd = os.readlink('/proc/%d/cwd' % sv.pid)
            with open('/proc/%d/cmdline' % sv.pid, 'rb') as f:
                cmdline = f.read().split(b'\0')
            fds = []
            for fd in os.listdir('/proc/%d/fd' % sv.pid):
                try:
                    fds.append(os.readlink('/proc/%d/fd/%s' % (sv.pid, fd)))
                except OSError:
                    pass
        except OSError as e:
            environ, cwd, cmdline, fds = [str(e)], '?', [], []
        names = {e.split('=', 1)[0] for e in environ}
        sanitizer = {'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'}
        t.check(cwd == '/' and
                ('PATH=' + FIXED_PATH) in environ and
                ('BULKHEAD_STATE_DIR=' + os.path.join(tmp, 'state-sv'))
                in environ and
                ('BULKHEAD_LOG_DIR=' + os.path.join(tmp, 'log-sv'))
                in environ and
                not names - {'PATH', 'BULKHEAD_STATE_DIR', 'BULKHEAD_LOG_DIR'}
                - sanitizer,
                'the supervisor runs from / with PATH and BULKHEAD_* only'
                ' (paths made absolute)',
                'cwd %s\n%s' % (cwd, '\n'.join(sorted(environ))))
        t.check(fds and not any('leaked-by-the-starter' in f for f in fds),
                'a descriptor its starter leaked is closed in the supervisor'
                ' (its link workers would get it too)', '\n'.join(fds))
        t.check(sv_state.encode() in cmdline,
                'its state directory is made absolute before it leaves the'
                ' working directory', repr(cmdline))
        stop_supervisor(sv)
        t.check(sv.returncode == 0 and not os.path.exists(marker),
                'the supervisor stops on SIGTERM; nothing ran from the evil'
                ' PATH', sv.stderr.read().decode(errors='replace')[-2000:])
        own_logs(t, tmp)
        tell_next(t, tmp)
        templates(t, tmp, env)
    finally:
        for s in socks:
            s.close()
        for c in held:
            c.close()
        shutil.rmtree(tmp, ignore_errors=True)
    t.finish()
    return 1 if t.failed else 0


if __name__ == '__main__':
    sys.exit(main())
