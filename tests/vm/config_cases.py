"""A driver VM kind's configuration checker (driver-vms/KIND/bk-config) run
on the host against one good configuration and malformed ones, under each
POSIX shell the host has of busybox sh (what the VMs run) and dash: the
frame test_sysnet_config.py and test_sysstorage_config.py share."""
import os
import shutil
import subprocess
import tempfile


def shells():
    out = []
    if shutil.which('busybox'):
        out.append(['busybox', 'sh'])
    if shutil.which('dash'):
        out.append(['dash'])
    return out or [['sh']]


def config_cases(bk_config, good, good_out, bad):
    """Prints TAP: GOOD must give exit 0 and exactly GOOD_OUT; each (what,
    configuration, the exact error) of BAD exit 1, nothing on stdout (half
    a configuration is never used) and that error on stderr. Returns the
    exit status."""
    sh_list = shells()
    print('1..%d' % (len(sh_list) * (1 + len(bad))), flush=True)
    n = failed = 0
    tmp = tempfile.mkdtemp(prefix='bk-config-test-')
    try:
        for shell in sh_list:
            cases = [('good configuration', good, None)] + bad
            for what, text, want in cases:
                path = os.path.join(tmp, 'config')
                with open(path, 'wb') as f:
                    f.write(text.encode('utf-8'))
                r = subprocess.run(shell + [bk_config, path], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   errors='replace')
                if want is None:
                    ok = r.returncode == 0 and r.stdout == good_out and not r.stderr
                else:
                    ok = (r.returncode == 1 and r.stdout == '' and
                          r.stderr == want + '\n')
                n += 1
                failed += not ok
                print('%s %d - %s: %s' % ('ok' if ok else 'not ok', n,
                                          shell[0], what), flush=True)
                if not ok:
                    for line in ('exit %d' % r.returncode, 'stdout: %r' % r.stdout,
                                 'stderr: %r' % r.stderr, 'wanted: %r' % want):
                        print('# ' + line, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0

