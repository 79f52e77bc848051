#!/usr/bin/env python3
"""App VMs on the Debian template, end to end (docs/templates.md):
`bulkhead up` of sys-net and three app VMs on template debian under TCG,
each talked to through qemu-guest-agent only.

  1. up: each app VM ready (qemu-ga answers, it holds sys-net's lease);
     boot-to-ready seconds as a diagnostic; the template they run on is
     still root's and written by none (libvirt leaves it unlabelled)
  2. t-work downloads a file byte-exact from the outside through sys-net
  3. t-work and t-two: different machine ids (each the one the host
     keeps), different SSH host keys, none from the template; /home is
     on the private volume
  4. restart of t-work: a file in /home survives, a file on / does not,
     the machine id and host keys stay; t-two ran on meanwhile
  5. a new template version while the VMs run: up leaves them running,
     unchanged; t-two moves to it at its next start, t-work stays on
     the old one until then; t-two's private volume rewritten (as its
     QEMU could) to name t-work's as its backing file: t-two starts and
     t-work's volume is not handed to it; `bulkhead template list` shows
     both versions and which VM is on which
  6. a template whose link is malformed: start refuses naming it, the
     running VMs are untouched; a template that is not built: up refuses
     naming it
  7. t-work fills its private volume: the writer gets "No space left on
     device", t-work and t-two keep answering
  7b. t-work's private: grown 128M -> 256M: at its next start the volume
     and its file system are bigger, its files kept; 64M: check and up
     refuse it (a volume is never shrunk)
  8. t-disp (a preloaded disposable): paused since up; start takes it
     from the pool (it booted before: its uptime; its clock is now);
     after stop its domain and disks are dropped and the supervisor
     preloads a fresh one; taken again (bulkhead disposable), it is a
     new VM (machine id) and
     the file the last one wrote is not there; down drops its disks
     again and leaves t-work's and t-two's private volumes
  9. template clone: a copy of debian under a version of its own, the
     refusals, t-two restarted on the clone by up;
  10. template remove: refused for the clone t-two is on, for a name not
     in the cache and an invalid one; a second clone (made while another
     clone is live: the killed ones' leftovers kept then) removed whole
     with those leftovers

    test_template_vms.py BULKHEAD

Needs root, libvirt, the guest images and the template
(guest-os/build-images)."""
import fcntl
import json
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import run_main  # noqa: E402
from orchlib import domains, sh, sha, topology_test  # noqa: E402

BULKHEAD = os.path.abspath(sys.argv[1])
URI = 'qemu:///system'
IMAGE_DIR = os.environ.get('BULKHEAD_IMAGE_DIR', '/var/cache/bulkhead/images')
TEMPLATES = os.path.join(IMAGE_DIR, 'templates', 'debian')
NS, OUT_IP = 'bk-t-out%d' % os.getpid(), '10.206.9.1'
FILE_SIZE = 2 << 20
TOPO = '''version: 2
name: bktpl
accel: tcg
driver-vms:
  - name: t-net
    kind: net
    devices:
      - {emulated: e1000e, netns: %s, bridge: br0, mac: "52:54:00:7b:00:02"}
app-vms:
  - name: t-work
    template: debian
    memory: 512
    private: 128M
    net: {via: t-net, mac: "52:54:00:7b:01:01", ip: 10.206.1.2/24}
  - name: t-two
    template: debian
    memory: 384
    net: {via: t-net, mac: "52:54:00:7b:01:02", ip: 10.206.2.2/24}
  - name: t-disp
    template: debian
    memory: 384
    disposable: true
    preload: true
    net: {via: t-net, mac: "52:54:00:7b:01:03", ip: 10.206.3.2/24}
'''
# The SHA-256 of each SSH host key the VM serves with.
# The template clone_step makes (removed at the end: the image cache is
# shared).
CLONE = 'tclone%d' % os.getpid()
CLONE_DIR = os.path.join(IMAGE_DIR, 'templates', CLONE)
# The one remove_step makes and removes.
CLONE2 = 'tclonb%d' % os.getpid()
CLONE2_DIR = os.path.join(IMAGE_DIR, 'templates', CLONE2)
HOST_KEYS = ('for k in /rw/ssh/ssh_host_*_key.pub; do ssh-keygen -lf "$k";'
             ' done; ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l')


def data_dir(tmp, vm):
    return os.path.join(tmp, 'data', 'bktpl', vm)


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ''


def state_of(bk, vm):
    """VM's state as bulkhead status says it."""
    r = bk('status', '--json')
    try:
        for topo in json.loads(r.stdout):
            for v in topo.get('vms', []):
                if v.get('name') == vm:
                    return v.get('state')
    except ValueError:
        pass
    return None


def steps(t, tmp, bk, sums):
    path = os.path.join(tmp, 'tpl.yaml')
    with open(path, 'w') as f:
        f.write(TOPO % NS)
    r = bk('up', path)
    ready = dict(re.findall(r'up: (t-\w+): ready, .* \(([0-9.]+) s\)', r.stdout))
    t.check(r.returncode == 0 and sorted(ready) == ['t-disp', 't-two', 't-work'],
            'up: three app VMs on template debian ready (qemu-ga answers,'
            ' sys-net\'s lease held)', r.stdout[-3000:])
    t.diag('boot to qemu-ga and lease under TCG, three at once: %s' %
           ', '.join('%s %s s' % kv for kv in sorted(ready.items())))
    if r.returncode != 0:
        return

    # Three QEMUs have it open as their backing file: still root's, and
    # written by none of them (libvirt would hand it to one VM's uid).
    root = os.path.join(TEMPLATES, 'current', 'root.qcow2')
    st = os.stat(root)
    t.check(st.st_uid == 0 and st.st_gid == 0 and not st.st_mode & 0o022,
            'the template under three running VMs: root\'s, 0644, owned by'
            ' no VM', '%s: uid %d gid %d mode %o' % (root, st.st_uid,
                                                    st.st_gid, st.st_mode))

    # 2. Through sys-net, byte-exact.
    r = bk('exec', 't-work', 'curl -sS --max-time 60 http://%s/f.bin |'
           ' sha256sum' % OUT_IP)
    t.check(r.returncode == 0 and sha(r.stdout) == sums['f.bin'],
            't-work downloads %d MiB byte-exact from outside through t-net'
            % (FILE_SIZE >> 20), r.stdout[-800:])

    # 3. Identity: each VM its own.
    ids = {vm: bk('exec', vm, 'cat /etc/machine-id').stdout.strip()
           for vm in ('t-work', 't-two')}
    keys = {vm: bk('exec', vm, HOST_KEYS).stdout for vm in ('t-work', 't-two')}
    home = bk('exec', 't-work', 'findmnt -no SOURCE,TARGET /home; findmnt'
              ' -no SOURCE /rw')
    fps = {vm: re.findall(r'SHA256:\S+', k) for vm, k in keys.items()}
    t.check(re.fullmatch(r'[0-9a-f]{32}', ids['t-work']) and
            ids['t-work'] != ids['t-two'] and
            ids['t-work'] == read(os.path.join(data_dir(tmp, 't-work'),
                                               'machine-id')) and
            len(fps['t-work']) == 1 and len(fps['t-two']) == 1 and
            not set(fps['t-work']) & set(fps['t-two']) and
            all(k.strip().splitlines()[-1:] == ['0'] for k in keys.values())
            and '/home' in home.stdout,
            'two VMs on one template: their own machine ids (the host\'s'
            ' record) and SSH host keys, none in the template; /home on the'
            ' private volume', json.dumps(ids) + json.dumps(keys) + home.stdout)

    # 4. A restart: home kept, root fresh, identity kept.
    r1 = bk('exec', 't-work', 'echo kept > /home/user/kept.txt;'
            ' echo lost > /var/tmp/lost.txt; sync')
    pid_two = bk('exec', 't-two', 'cat /proc/uptime').stdout.split()[:1]
    r2 = bk('stop', 't-work')
    r3 = bk('start', 't-work')
    after = bk('exec', 't-work', 'cat /home/user/kept.txt; ls /var/tmp/lost.txt'
               ' 2>&1; cat /etc/machine-id')
    keys_after = re.findall(r'SHA256:\S+', bk('exec', 't-work', HOST_KEYS).stdout)
    up_two = bk('exec', 't-two', 'cat /proc/uptime').stdout.split()[:1]
    t.check(r1.returncode == 0 and r2.returncode == 0 and r3.returncode == 0 and
            after.stdout.startswith('kept\n') and 'No such file' in after.stdout
            and ids['t-work'] in after.stdout and keys_after == fps['t-work'] and
            pid_two and up_two and float(up_two[0]) > float(pid_two[0]),
            'restart of t-work: /home/user/kept.txt survives, /var/tmp/lost.txt'
            ' does not, machine id and host keys kept; t-two ran on',
            r3.stdout[-1500:] + after.stdout)

    # 5. A new template version under running VMs.
    old = os.readlink(os.path.join(TEMPLATES, 'current'))
    new = 'f' * 15 + ('e' if old != 'f' * 15 + 'e' else 'd')
    shutil.copytree(os.path.join(TEMPLATES, old), os.path.join(TEMPLATES, new),
                    copy_function=os.link)
    try:
        os.symlink(new, os.path.join(TEMPLATES, 'current.new'))
        os.rename(os.path.join(TEMPLATES, 'current.new'),
                  os.path.join(TEMPLATES, 'current'))
        r = bk('up', path)
        unchanged = re.findall(r'up: (t-\w+): running, unchanged', r.stdout)
        r2 = bk('stop', 't-two')
        # What t-two's QEMU could do to the private volume it owns while
        # it runs: name t-work's volume as its backing file.
        work_private = os.path.join(data_dir(tmp, 't-work'), 'private.qcow2')
        owner = os.stat(work_private).st_uid
        rebase = sh('qemu-img', 'rebase', '-u', '-f', 'qcow2', '-b',
                    work_private, '-F', 'qcow2',
                    os.path.join(data_dir(tmp, 't-two'), 'private.qcow2'))
        r3 = bk('start', 't-two')
        t.check(rebase.returncode == 0 and r3.returncode == 0 and
                os.stat(work_private).st_uid == owner,
                't-two\'s private volume naming t-work\'s as its backing file:'
                ' t-two starts, t-work\'s volume stays t-work\'s (uid %d)'
                % owner, rebase.stdout + r3.stdout[-600:] + ' now uid %d' %
                os.stat(work_private).st_uid)
        on = {vm: read(os.path.join(data_dir(tmp, vm), 'template'))
              for vm in ('t-two', 't-work')}
        alive = bk('exec', 't-two', 'true')
        t.check(r.returncode == 0 and sorted(unchanged) ==
                ['t-disp', 't-net', 't-two', 't-work'] and
                r3.returncode == 0 and on == {'t-two': new, 't-work': old} and alive.returncode == 0,
                'a new template version: up leaves the running VMs unchanged;'
                ' t-two moves to it at its next start, t-work stays on %s' % old,
                r.stdout[-1500:] + r2.stdout + r3.stdout[-800:] +
                json.dumps(on) + ' exec: %d %s' % (alive.returncode,
                                                   alive.stdout[-300:]))

        # bulkhead template list says the same.
        listed = bk('template', 'list', '--json')
        try:
            vers = {v['version']: (v['current'], v['vms'])
                    for t_ in json.loads(listed.stdout)
                    if t_['template'] == 'debian' for v in t_['versions']}
        except (ValueError, KeyError):
            vers = {}
        t.check(vers.get(new) == (True, ['bktpl/t-two']) and
                vers.get(old, (None, []))[0] is False and
                'bktpl/t-work' in vers.get(old, (None, []))[1],
                'template list: %s current with t-two on it, t-work on %s'
                % (new, old), listed.stdout[-1500:])

        # 6. A malformed link, a template that is not there.
        os.symlink('../../etc', os.path.join(TEMPLATES, 'current.new'))
        os.rename(os.path.join(TEMPLATES, 'current.new'),
                  os.path.join(TEMPLATES, 'current'))
        r = bk('stop', 't-two')
        r2 = bk('start', 't-two')
        alive = bk('exec', 't-work', 'true')
        t.check(r2.returncode != 0 and "points to '../../etc', not a version" in
                r2.stdout and alive.returncode == 0,
                'a template link pointing elsewhere: start refuses naming it;'
                ' t-work keeps running', r2.stdout[-800:])
    finally:
        os.symlink(old, os.path.join(TEMPLATES, 'current.new'))
        os.rename(os.path.join(TEMPLATES, 'current.new'),
                  os.path.join(TEMPLATES, 'current'))
        shutil.rmtree(os.path.join(TEMPLATES, new), ignore_errors=True)
    r = bk('start', 't-two')
    bad = os.path.join(tmp, 'bad.yaml')
    with open(bad, 'w') as f:
        f.write((TOPO % NS).replace('name: bktpl', 'name: bkbad').replace(
            'template: debian\n    memory: 512', 'template: nosuch\n'
            '    memory: 512'))
    r2 = bk('up', bad)
    t.check(r.returncode == 0 and r2.returncode != 0 and
            'template nosuch is not built' in r2.stdout and
            bk('exec', 't-work', 'true').returncode == 0,
            'a template that is not built: up refuses naming it, nothing else'
            ' changes', r2.stdout[-800:])

    # 7. A full private volume.
    r = bk('exec', 't-work', 'dd if=/dev/zero of=/home/user/fill bs=1M'
           ' count=400 2>&1; rm -f /home/user/fill')
    two = bk('exec', 't-two', 'true')
    again = bk('exec', 't-work', 'cat /home/user/kept.txt')
    t.check('No space left on device' in r.stdout and two.returncode == 0 and
            again.stdout.strip() == 'kept',
            't-work fills its private volume: "No space left on device",'
            ' its file kept, t-work and t-two keep answering', r.stdout[-800:])

    # 7b. private: grows at the next start; never shrinks.
    with open(path, 'w') as f:
        f.write((TOPO % NS).replace('private: 128M', 'private: 256M'))
    small = os.path.join(tmp, 'small.yaml')
    with open(small, 'w') as f:
        f.write((TOPO % NS).replace('private: 128M', 'private: 64M'))
    shrink = bk('check', small)
    shrink_up = bk('up', small)
    grew = bk('up', path)
    r2 = bk('stop', 't-work')
    r3 = bk('start', 't-work')
    size = bk('exec', 't-work', "df -BM --output=size /rw | tail -1;"
              " cat /home/user/kept.txt")
    vals = size.stdout.split()
    t.check(shrink.returncode != 0 and shrink_up.returncode != 0 and
            'private: 64M is smaller than the private volume' in shrink.stdout
            and 'private: 64M is smaller' in shrink_up.stdout and
            grew.returncode == 0 and r3.returncode == 0 and
            'grown from 128M to 256M' in r3.stdout and len(vals) == 2 and
            200 < int(vals[0].rstrip('M')) <= 256 and vals[1] == 'kept',
            't-work\'s private: 128M -> 256M: grown at its next start, its'
            ' file system too, its files kept; 64M refused by check and up'
            ' (never shrunk)', shrink.stdout[-400:] + shrink_up.stdout[-300:] +
            r3.stdout[-800:] + size.stdout)

    # 8. The disposable, from the pool: booted by up and paused since.
    ddir = data_dir(tmp, 't-disp')
    was = state_of(bk, 't-disp')
    first_id = read(os.path.join(ddir, 'machine-id'))
    took = bk('start', 't-disp')
    took_s = re.findall(r'taken from the pool, running \(([0-9.]+) s;',
                        took.stdout)
    clock = bk('exec', 't-disp', 'cat /proc/uptime; date +%s')
    now = time.time()
    vals = clock.stdout.split()
    empty = bk('disposable', 'bktpl')
    t.check(was == 'paused' and took.returncode == 0 and took_s and
            len(vals) == 3 and float(vals[0]) > float(took_s[0]) + 10 and
            abs(float(vals[2]) - now) < 5 and empty.returncode == 1 and
            'no preloaded disposable is waiting' in empty.stdout,
            't-disp (preloaded) paused since up; start takes it from the pool'
            ' (it booted before, its uptime says), its clock set to now;'
            ' the pool empty then: disposable says so',
            'state %s; %s; uptime, date: %s (host %d); %s' % (
                was, took.stdout[-600:], clock.stdout, now, empty.stdout))
    t.diag('disposable from the pool: running in %s s' % (took_s or ['?'])[0])
    w = bk('exec', 't-disp', 'echo secret > /home/user/s.txt; sync')
    had = os.path.exists(os.path.join(ddir, 'private.qcow2'))
    r = bk('stop', 't-disp')
    # The supervisor boots a fresh one into the pool, beside three VMs
    # under TCG: 50-100 s here. Status says paused only once it is
    # suspended in the pool, not while libvirt starts it paused (-S).
    stopped = time.time()
    deadline = stopped + 360
    while state_of(bk, 't-disp') != 'paused' and time.time() < deadline:
        time.sleep(2)
    refilled = state_of(bk, 't-disp')
    t.diag('the pool refilled (stop to paused) in %.0f s'
           % (time.time() - stopped))
    t.check(w.returncode == 0 and had and r.returncode == 0 and
            'disposable: its disks are gone' in r.stdout and
            'the supervisor preloads a fresh one' in r.stdout and
            refilled == 'paused',
            't-disp stopped: its domain and disks dropped; the supervisor'
            ' preloaded a fresh one (paused)', r.stdout + ' now: %s' % refilled)
    r1 = bk('disposable', 'bktpl')
    again = bk('exec', 't-disp', 'ls /home/user/s.txt 2>&1; cat /etc/machine-id')
    new_id = read(os.path.join(ddir, 'machine-id'))
    t.check(r1.returncode == 0 and 'taken from the pool' in r1.stdout and
            r1.stdout.rstrip().endswith('disposable: t-disp') and
            'No such file' in again.stdout and new_id != first_id and
            new_id in again.stdout,
            'bulkhead disposable takes t-disp again: a new VM (machine id %s, was %s), what the'
            ' last one wrote is not there' % (new_id, first_id),
            r1.stdout[-600:] + again.stdout)

    path = clone_step(t, tmp, bk, path)
    r = bk('down', path)
    left = sorted(os.listdir(os.path.join(tmp, 'data', 'bktpl')))
    t.check(r.returncode == 0 and not [d for d in domains()
                                       if d.startswith('bulkhead-t-')] and
            left == ['t-two', 't-work'] and
            'down: t-disp: disposable: its disks are gone' in r.stdout and
            os.path.exists(os.path.join(data_dir(tmp, 't-work'),
                                        'private.qcow2')),
            'down: no domain left; t-work\'s and t-two\'s private volumes'
            ' kept for their next up, nothing of t-disp', r.stdout[-1500:] +
            json.dumps(left))
    remove_step(t, bk)


def file_sha(path):
    return sha(sh('sha256sum', path).stdout)


def clone_step(t, tmp, bk, path):
    """9. bulkhead template clone: a copy of debian's current version
    under a name and version of its own, the refusals, t-two restarted on
    the clone by up (the topology file PATH with t-two on the clone).
    Returns that file."""
    clone, cdir = CLONE, CLONE_DIR
    src_ver = os.readlink(os.path.join(TEMPLATES, 'current'))
    src_root = os.path.join(TEMPLATES, src_ver, 'root.qcow2')
    src_sha = file_sha(src_root)
    r = bk('template', 'clone', 'debian', clone)
    ver = os.readlink(os.path.join(cdir, 'current')) \
        if os.path.islink(os.path.join(cdir, 'current')) else ''
    root = os.path.join(cdir, ver, 'root.qcow2')
    st = os.stat(root) if ver and os.path.exists(root) else None
    same = [f for f in ('root.qcow2', 'vmlinuz', 'initrd.img')
            if ver and file_sha(os.path.join(cdir, ver, f)) ==
            file_sha(os.path.join(TEMPLATES, src_ver, f))]
    t.check(r.returncode == 0 and re.fullmatch(r'[0-9a-f]{16}', ver) and
            ver != src_ver and len(same) == 3 and st and
            st.st_ino != os.stat(src_root).st_ino and st.st_uid == 0 and
            (st.st_mode & 0o777) == 0o644 and
            os.readlink(os.path.join(TEMPLATES, 'current')) == src_ver and
            file_sha(src_root) == src_sha,
            'template clone debian %s: a version of its own (%s), its'
            ' files copies of debian\'s %s (same bytes, other inodes,'
            ' root\'s 0644); debian unchanged' % (clone, ver, src_ver),
            r.stdout[-800:] + ' same: %s' % same)

    before = sorted(os.listdir(os.path.join(IMAGE_DIR, 'templates')))
    refusals = [
        (('debian', clone), 'template %s exists' % clone),
        (('debian', 'debian-desktop'), 'template debian-desktop is the'
         ' image builder\'s'),
        (('debian', 'Bad_Name'), '\'Bad_Name\' is not a template name'),
        (('debian', 'a' * 33), 'is not a template name'),
        (('nosuch', 'tclone-other'), 'template nosuch is not built'),
    ]
    wrong = []
    for args, want in refusals:
        r = bk('template', 'clone', *args)
        if r.returncode != 2 or want not in r.stdout:
            wrong.append('%s: %d %s' % (args, r.returncode,
                                       r.stdout[-300:]))
    after = sorted(os.listdir(os.path.join(IMAGE_DIR, 'templates')))
    t.check(not wrong and before == after,
            'template clone refuses, naming it: a name that exists, the'
            ' builder\'s, an invalid one, a long one, a source not built;'
            ' nothing written', '\n'.join(wrong) + ' %s -> %s' %
            (before, after))

    # t-two onto the clone: up restarts it there, its identity kept.
    two_id = read(os.path.join(data_dir(tmp, 't-two'), 'machine-id'))
    with open(path) as f:
        now = f.read()
    path = os.path.join(tmp, 'clone.yaml')
    with open(path, 'w') as f:
        f.write(now.replace(
            'template: debian\n    memory: 384\n    net: {via: t-net,'
            ' mac: "52:54:00:7b:01:02"',
            'template: %s\n    memory: 384\n    net: {via: t-net,'
            ' mac: "52:54:00:7b:01:02"' % clone))
    r = bk('up', path)
    on = read(os.path.join(data_dir(tmp, 't-two'), 'template'))
    ident = bk('exec', 't-two', 'cat /etc/machine-id')
    listed = bk('template', 'list', '--json')
    try:
        vms = {(x['template'], v['version']): v['vms']
               for x in json.loads(listed.stdout) for v in x['versions']}
    except (ValueError, KeyError, TypeError):
        vms = {}
    t.check(r.returncode == 0 and
            re.search(r'up: t-two: ready', r.stdout) and on == ver and
            ident.stdout.strip() == two_id and
            vms.get((clone, ver)) == ['bktpl/t-two'] and
            'bktpl/t-two' not in vms.get(('debian', src_ver), []),
            'up with t-two on %s: t-two restarted on the clone\'s version'
            ' (its machine id kept), template list says so' % clone,
            r.stdout[-1500:] + ' on %s id %s/%s ' % (
                on, ident.stdout.strip(), two_id) + json.dumps(
                {'%s/%s' % k: v for k, v in vms.items()}))
    return path


def remove_step(t, bk):
    """10. bulkhead template remove: refused for the clone t-two is
    recorded on (down kept its private volume; its next up would find no
    template), for a name not in the cache and an invalid one; a second
    clone removed whole, with what a killed clone and a killed removal of
    its name left (never while another clone or remove is live)."""
    tdir = os.path.join(IMAGE_DIR, 'templates')
    # What a killed clone and a killed removal of CLONE2 leave behind.
    stale = [os.path.join(tdir, '.clone-%s-Xk1ll3' % CLONE2),
             os.path.join(tdir, '.remove-%s-0123456789ab' % CLONE2)]
    for d in stale:
        os.makedirs(os.path.join(d, '0123456789abcdef'))
        with open(os.path.join(d, '0123456789abcdef', 'root.qcow2'),
                  'wb') as f:
            f.write(b'half a copy')
    # Held as a live clone or remove holds it: the leftovers must stay.
    live = os.open(tdir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(live, fcntl.LOCK_SH)
        r = bk('template', 'clone', 'debian', CLONE2)
    finally:
        os.close(live)
    kept = [d for d in stale if os.path.isdir(d)]
    t.check(r.returncode == 0 and kept == stale and
            os.path.islink(os.path.join(CLONE2_DIR, 'current')),
            'template clone %s while another clone holds the templates'
            ' directory: made, a killed clone\'s and a killed removal\'s'
            ' directories left alone' % CLONE2,
            r.stdout[-600:] + ' kept: %s' % kept)

    wrong = []
    for name, code, want in (
            (CLONE, 2, 'template %s has app VMs on it: bktpl/t-two' % CLONE),
            ('nosuch', 2, 'template nosuch is not in the image cache'),
            ('Bad_Name', 2, '\'Bad_Name\' is not a template name')):
        r = bk('template', 'remove', name)
        if r.returncode != code or want not in r.stdout:
            wrong.append('%s: %d %s' % (name, r.returncode, r.stdout[-300:]))
    r = bk('template', 'remove', CLONE2)
    listed = bk('template', 'list', '--json')
    names = [x.get('template') for x in json.loads(listed.stdout)] \
        if listed.returncode == 0 else None
    left = [n for n in os.listdir(tdir) if CLONE2 in n]
    t.check(not wrong and os.path.isdir(CLONE_DIR) and r.returncode == 0 and
            not left and names is not None and CLONE2 not in names and
            CLONE in names,
            'template remove: %s (no VM on it) gone whole, with the killed'
            ' clone\'s and removal\'s leftovers; refused, naming it, for %s'
            ' (t-two on it, kept), a name not in the cache and an invalid'
            ' one' % (CLONE2, CLONE),
            '\n'.join(wrong) + ' remove %s: %d %s left %s listed %s' % (
                CLONE2, r.returncode, r.stdout[-300:], left, names))


def main(argv):
    del argv
    try:
        return topology_test(BULKHEAD, 23, 'bk-orch-tpl-', NS, OUT_IP,
                             {'f.bin': FILE_SIZE}, steps)
    finally:
        shutil.rmtree(CLONE_DIR, ignore_errors=True)
        shutil.rmtree(CLONE2_DIR, ignore_errors=True)
        for n in os.listdir(os.path.join(IMAGE_DIR, 'templates')):
            if CLONE2 in n:
                shutil.rmtree(os.path.join(IMAGE_DIR, 'templates', n),
                              ignore_errors=True)


if __name__ == '__main__':
    run_main(main)
