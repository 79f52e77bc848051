#!/usr/bin/env python3
"""bulkhead-link confines itself once its sockets are open. Checks, on a
running worker: it is the unprivileged user, with no capabilities, no new
privileges and a seccomp filter; it still forwards (DPDK front ends on
both sides); it maps no file but its binary, its libraries and the VMs'
memory; it cannot open a host file; a system call outside its allowlist
kills it; --no-sandbox says so loudly; a missing user is a clear error.

Usage: test_sandbox.py BULKHEAD_LINK (a build with -Dtest_triggers=true)"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

from linktest import Link, Testpmd, main_guard, scratch_dir, wait_for

# A confined worker's uid and gid: this base plus its pid
# (vmm/sandbox/sandbox.h, SANDBOX_ID_BASE).
ID_BASE = 0x70c00000


def proc_status(pid):
    out = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            key, _, value = line.partition(':')
            out[key] = value.strip()
    return out


def foreign_mappings(pid):
    """File-backed mappings that are not the binary, a library, or guest
    memory (memfd)."""
    bad = []
    with open(f'/proc/{pid}/maps') as f:
        for line in f:
            parts = line.split(None, 5)
            path = parts[5].strip() if len(parts) == 6 else ''
            if (not path or path.startswith('[') or path.startswith('/memfd:')
                    or '.so' in path or path.endswith('bulkhead-link')):
                continue
            bad.append(line.strip())
    return bad


def proc_limits(pid):
    """{'Max open files': (soft, hard), ...} from /proc/PID/limits."""
    out = {}
    with open(f'/proc/{pid}/limits') as f:
        for line in f.readlines()[1:]:
            name, soft, hard = line[:26].strip(), line[26:47].strip(), line[47:68].strip()
            out[name] = (soft, hard)
    return out


def run_once(binary, *args, timeout=10, env=None):
    work = scratch_dir()
    try:
        p = subprocess.run([binary, '--a', f'{work}/a', '--b', f'{work}/b', *args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout,
                           env=dict(os.environ, **(env or {})))
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b'').decode() if isinstance(e.stdout, bytes) else (e.stdout or '')
    finally:
        shutil.rmtree(work, ignore_errors=True)


def proc_state(pid):
    """The state letter of /proc/PID/stat (T: stopped)."""
    with open(f'/proc/{pid}/stat') as f:
        return f.read().rsplit(')', 1)[1].split()[0]


def no_reach(tap, binary):
    """Each worker its own identity, and one taken over cannot freeze
    another: issue 19's attack, F_SETOWN + F_SETSIG SIGSTOP + O_ASYNC on a
    socket of its own, then a connection to that socket."""
    dirs = [scratch_dir() for _ in range(3)]
    y = Link(binary, dirs[0], name='y')
    z = Link(binary, dirs[1], name='z')
    x = None
    try:
        ids = {}
        for l in (y, z):
            st = proc_status(l.proc.pid)
            ids[l.proc.pid] = (int(st['Uid'].split()[0]), int(st['Gid'].split()[0]))
        tap.check(all(u == g == ID_BASE + pid for pid, (u, g) in ids.items()) and
                  len({u for u, _ in ids.values()}) == 2,
                  'each worker its own uid and gid (0x70c00000 + its pid)', ids)
        control = os.path.join(dirs[2], 'control.sock')
        log_path = os.path.join(dirs[2], 'x.log')
        with open(log_path, 'w') as log:
            x = subprocess.Popen(
                [binary, '--a', os.path.join(dirs[2], 'a'), '--b',
                 os.path.join(dirs[2], 'b'), '--control', control, '--name', 'x',
                 '--test-trigger', f'setown:{y.proc.pid}'],
                stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: x.poll() is not None or
                 'test trigger' in open(log_path).read(), 10)
        for _ in range(3):
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(control)
            except OSError:
                pass
            s.close()
            time.sleep(0.1)
        state = proc_state(y.proc.pid)
        tap.check(state != 'T' and y.status()['name'] == 'y',
                  'a taken-over worker cannot freeze another (F_SETOWN, F_SETSIG '
                  'SIGSTOP, O_ASYNC)',
                  f'y state {state}; x exit {x.poll()}\n' + open(log_path).read())
        if state == 'T':
            os.kill(y.proc.pid, signal.SIGCONT)
        wait_for(lambda: x.poll() is not None, 5)
        tap.check(x.poll() == -signal.SIGSYS,
                  'fcntl is filtered by command: F_SETOWN kills the worker (SIGSYS)',
                  f'exit {x.poll()}\n' + open(log_path).read())
    finally:
        if x and x.poll() is None:
            x.kill()
            x.wait()
        y.stop()
        z.stop()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


def run(tap):
    binary = sys.argv[1]

    work = scratch_dir()
    # A descriptor its starter leaks (no close-on-exec): gone before the
    # worker confines itself.
    leaked = os.open(os.path.join(work, 'leaked-by-the-starter'),
                     os.O_RDWR | os.O_CREAT, 0o600)
    link = Link(binary, work, name='sandbox', pass_fds=(leaked,))
    os.close(leaked)
    pmd = None
    try:
        fds = {}
        for fd in os.listdir(f'/proc/{link.proc.pid}/fd'):
            try:
                fds[fd] = os.readlink(f'/proc/{link.proc.pid}/fd/{fd}')
            except OSError:
                pass
        tap.check(not any('leaked-by-the-starter' in p for p in fds.values()),
                  'a descriptor its starter leaked is closed before confinement',
                  str(fds))
        st = proc_status(link.proc.pid)
        own = ID_BASE + link.proc.pid
        tap.check(st['Uid'].split()[0] == str(own) and st['Gid'].split()[0] == str(own),
                  f'runs as an identity of its own (uid and gid {own})', st.get('Uid'))
        tap.check(st['CapEff'] == '0000000000000000' and
                  st['CapPrm'] == '0000000000000000' and
                  st['CapBnd'] != '' and st.get('CapAmb') == '0000000000000000',
                  'no capabilities', str({k: st[k] for k in st if k.startswith('Cap')}))
        tap.check(st.get('NoNewPrivs') == '1', 'no new privileges')
        lim = proc_limits(link.proc.pid)
        tap.check(lim.get('Max open files') == ('128', '128') and
                  lim.get('Max core file size') == ('0', '0') and
                  lim.get('Max locked memory') == ('0', '0'),
                  'rlimits: 128 descriptors, no core dumps, no locked memory',
                  str(lim))
        if len(sys.argv) > 2 and sys.argv[2] not in ('none', ''):
            tap.check(True, 'rlimit on data # SKIP sanitized build (%s): the'
                      ' shadow memory needs an unbounded data limit' % sys.argv[2])
        else:
            tap.check(lim.get('Max data size') == (str(64 << 20),) * 2,
                      'rlimit: 64 MiB of data (heap and private mappings)',
                      str(lim.get('Max data size')))
        tap.check(st.get('Seccomp') == '2', 'seccomp filter installed')
        tap.check(os.readlink(f'/proc/{link.proc.pid}/ns/net') !=
                  os.readlink('/proc/self/ns/net') and
                  os.readlink(f'/proc/{link.proc.pid}/ns/mnt') !=
                  os.readlink('/proc/self/ns/mnt'),
                  'own network and mount namespaces')
        pmd = Testpmd(work, 'sb', [(link.a, ''), (link.b, '')], 'io',
                      extra_args=['--tx-first'])
        wait_for(lambda: link.status()['b_to_a']['packets'] > 1000, 40)
        s = link.status()
        tap.check(s['a_to_b']['packets'] > 1000 and s['b_to_a']['packets'] > 1000,
                  'forwards while confined', s['a_to_b'])
        bad = foreign_mappings(link.proc.pid)
        tap.check(not bad, "maps nothing but its binary, libraries and the VMs' memory",
                  '\n'.join(bad))
        tap.check(any('/memfd:' in l for l in open(f'/proc/{link.proc.pid}/maps')),
                  'guest memory is mapped (memfd)')
        pmd.stop()
        pmd = None
        tap.check(link.alive(), 'still alive after the front end left', link.text())
    finally:
        if pmd:
            pmd.stop()
        link.stop()
        shutil.rmtree(work, ignore_errors=True)

    no_reach(tap, binary)
    rc, out = run_once(binary, '--test-trigger', 'forbidden')
    tap.check(rc == -signal.SIGSYS, 'a forbidden system call kills it (SIGSYS)',
              f'exit {rc}\n{out}')
    rc, out = run_once(binary, '--test-trigger', 'open', timeout=2)
    # Sanitizer builds allow openat (their runtime needs it) and find an
    # empty root; release builds do not allow it at all: SIGSYS.
    tap.check('open /etc/passwd: No such file or directory' in out or
              rc == -signal.SIGSYS,
              'it cannot open a host file (empty root, or openat not allowed)',
              f'exit {rc}\n{out}')
    rc, out = run_once(binary, '--no-sandbox', timeout=2)
    tap.check('WARNING: --no-sandbox: running UNCONFINED' in out,
              '--no-sandbox says so loudly', out)
    rc, out = run_once(binary, '--user', 'no-such-user-xyz')
    tap.check(rc == 1 and 'user no-such-user-xyz does not exist' in out,
              'a missing user is a clear error', f'exit {rc}\n{out}')
    # A subordinate range covering the workers' ids (a user namespace of
    # its owner could act as the worker): refused. The test build reads
    # this directory for /etc (no test edits the host's).
    etc = scratch_dir()
    try:
        for name in ('subuid', 'subgid'):
            with open(os.path.join(etc, name), 'w') as f:
                f.write('someone:100000:65536\n' if name == 'subuid' else
                        'container:%d:%d\n' % (ID_BASE, 0x400000))
        rc, out = run_once(binary, env={'BULKHEAD_TEST_ETC_DIR': etc})
    finally:
        shutil.rmtree(etc, ignore_errors=True)
    tap.check(rc == 1 and re.search(r'id \d+ \(0x70c00000 \+ pid \d+\) is in a'
                                    r' range of .*/subgid', out),
              'an own id in a subordinate range (subgid) is refused, naming it',
              f'exit {rc}\n{out}')


if __name__ == '__main__':
    main_guard(run)
