#!/usr/bin/env python3
"""What comes with the command besides it (no VMs): --version, the man
pages made from docs/, bash completion.

    test_manual.py BULKHEAD VERSION COMPLETION MAN_PAGE...

- `bulkhead --version` prints meson's project version;
- each man page: .TH with its name, section and that version, a NAME line,
  rendered by man(1) without error; bulkhead(8) holds docs/orchestration.md's
  sections (UP's steps, DOWN);
- completion (bash, the completion file sourced, COMP_WORDS set): options,
  subcommands, --accel's values, topology files for up (*.yaml, *.yml,
  directories; not other files), VM names for start from `bulkhead status
  --json` (a stand-in command printing it), check's --show.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'vm'))
from vmlib import Tap  # noqa: E402

BULKHEAD, VERSION, COMPLETION = (os.path.abspath(sys.argv[1]), sys.argv[2],
                                 os.path.abspath(sys.argv[3]))
MAN_PAGES = [os.path.abspath(p) for p in sys.argv[4:]]
STATUS = '''[{"topology": "lab", "vms": [{"name": "sys-net"}, {"name": "work"}],
  "links": [{"name": "host.port"}]}]'''
# (words typed, the completions wanted: a set)
CASES = [
    (['bulkhead', 'st'], {'start', 'stop', 'status'}),
    (['bulkhead', '--ac'], {'--accel'}),
    (['bulkhead', '--accel', ''], {'kvm', 'tcg', 'auto'}),
    (['bulkhead', '--accel', 'tcg', 'd'], {'down', 'demo', 'disable'}),
    (['bulkhead', 'up', ''], {'a.yaml', 'b.yml', 'dir/'}),
    (['bulkhead', '--connect', 'qemu:///system', 'start', ''], {'sys-net', 'work'}),
    (['bulkhead', 'exec', 'w'], {'work'}),
    (['bulkhead', 'exec', 'work', ''], set()),
    (['bulkhead', 'check', '--s'], {'--show'}),
    (['bulkhead', 'en'], {'enable'}),
    (['bulkhead', 'enable', '--'], {'--now', '--root'}),
    (['bulkhead', 'enable', '--now', ''], {'a.yaml', 'b.yml', 'dir/'}),
    (['bulkhead', 'disable', '--root', ''], {'dir'}),
]


def complete(tmp, words):
    script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));'
              ' _bulkhead; printf "%s\\n" "${COMPREPLY[@]}"')
    # words[0] is the stand-in, so status --json answers STATUS.
    words = [os.path.join(tmp, 'bulkhead')] + words[1:]
    r = subprocess.run(['bash', '-c', script, 'complete', COMPLETION] + words,
                       cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=30)
    return {w for w in r.stdout.splitlines() if w}, r.stdout


def main():
    t = Tap(2 + 2 * len(MAN_PAGES) + len(CASES))
    r = subprocess.run([BULKHEAD, '--version'], stdout=subprocess.PIPE, text=True)
    t.check(r.returncode == 0 and r.stdout == 'bulkhead %s\n' % VERSION,
            'bulkhead --version: "bulkhead %s"' % VERSION, r.stdout)
    for page in MAN_PAGES:
        name, section = os.path.basename(page).rsplit('.', 1)
        with open(page) as f:
            roff = f.read()
        t.check('.TH %s %s "" "bulkhead %s"' % (name.upper(), section, VERSION)
                in roff, '%s: .TH names it, section %s, version %s'
                % (os.path.basename(page), section, VERSION), roff[:300])
        # man hyphenates with U+2010 in a UTF-8 locale: read it so
        # whatever locale the test runs in.
        r = subprocess.run(['man', '-l', page], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors='replace',
                           env=dict(os.environ, MANWIDTH='80', MANPAGER='cat',
                                    LC_ALL='C.UTF-8'))
        t.check(r.returncode == 0 and ('%s - ' % name) in r.stdout and
                'DESCRIPTION' in r.stdout,
                '%s: man renders it with its NAME and DESCRIPTION'
                % os.path.basename(page), r.stdout[:500])
    main_page = [p for p in MAN_PAGES if p.endswith('bulkhead.8')]
    roff = open(main_page[0]).read() if main_page else ''
    t.check('.SH WHAT UP DOES, IN ORDER' in roff and '.SH DOWN' in roff,
            'bulkhead(8) holds docs/orchestration.md\'s sections', roff[:300])
    tmp = tempfile.mkdtemp(prefix='bk-manual-')
    try:
        stub = os.path.join(tmp, 'bulkhead')
        with open(stub, 'w') as f:
            f.write('#!/bin/sh\n[ "$1 $2" = "status --json" ] && cat <<"EOF"\n'
                    '%s\nEOF\n' % STATUS)
        os.chmod(stub, 0o755)
        for name in ('a.yaml', 'b.yml', 'c.txt'):
            open(os.path.join(tmp, name), 'w').close()
        os.mkdir(os.path.join(tmp, 'dir'))
        for words, want in CASES:
            got, out = complete(tmp, words)
            t.check(got == want, 'completion of %r: %s' % (
                ' '.join(words), ' '.join(sorted(want)) or 'nothing'), out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if t.failed else 0


if __name__ == '__main__':
    sys.exit(main())
