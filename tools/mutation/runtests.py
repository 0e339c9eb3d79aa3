"""Client of forkserver.py: python -S runtests.py SOCKET PYTEST_ARGS...; exits 0 when the tests pass, else 1.

mutmut 2 counts only exit code 1 as a kill: a mutant that breaks the import (pytest's 2, a collection error)
or hangs (the server's alarm) would count as a survivor, so every failure is mapped to 1 (5, no tests, stays
5, a survivor); the raw code is logged to /tmp/mutation32/rc.log."""
import json, os, socket, sys, time

t = time.time()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall((json.dumps({"cwd": os.getcwd(), "args": sys.argv[2:], "log": os.environ.get("RUNTESTS_LOG")}) + "\n").encode())
rc = int(s.makefile().readline().strip() or 98)
with open("/tmp/mutation32/rc.log", "a") as f:
    f.write(f"{time.strftime('%H:%M:%S')} rc={rc} {time.time() - t:.1f}s {os.getcwd()}\n")
sys.exit(0 if rc == 0 else 5 if rc == 5 else 1)
