#!/usr/bin/python3
"""One NBD client operation on a unix socket, with Debian's python3-libnbd
(Debian's own python3: the module is built for it, not for another python3
first on PATH). Used by test_sysstorage.py; one connection per call.

    nbd_io.py SOCKET size                   prints the export's size
    nbd_io.py SOCKET write OFFSET FILE      writes FILE there, then flushes
    nbd_io.py SOCKET read OFFSET LEN FILE   reads LEN bytes into FILE
    nbd_io.py SOCKET trim OFFSET LEN        trims, then flushes

Exit 0 on success; an NBD error is printed and exits 1.
"""
import sys

import nbd

# Requests of 1 MiB: well under any server's maximum.
CHUNK = 1 << 20


def main(argv):
    sock, op, args = argv[1], argv[2], argv[3:]
    h = nbd.NBD()
    h.connect_unix(sock)
    if op == 'size':
        print(h.get_size())
    elif op == 'write':
        offset = int(args[0])
        with open(args[1], 'rb') as f:
            data = f.read()
        for i in range(0, len(data), CHUNK):
            h.pwrite(data[i:i + CHUNK], offset + i)
        h.flush()
    elif op == 'read':
        offset, length = int(args[0]), int(args[1])
        with open(args[2], 'wb') as f:
            for i in range(0, length, CHUNK):
                f.write(h.pread(min(CHUNK, length - i), offset + i))
    elif op == 'trim':
        h.trim(int(args[1]), int(args[0]))
        h.flush()
    else:
        sys.exit('nbd_io.py: unknown operation ' + op)
    h.shutdown()
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv))
    except nbd.Error as e:
        print('nbd_io.py: %s' % e, file=sys.stderr)
        sys.exit(1)
