"""A warm pytest fork server for mutmut 2 (issue 32's measurement): pre-imports torch & co. (never
mnist_gan_utils), then forks a fresh child per request, which runs pytest.main(args) in the given cwd, so each
mutant's test run skips the ~4 s of interpreter + torch + pytest start-up. A child imports the package from
disk, so it sees the mutant mutmut just wrote. Protocol: one JSON line {"cwd", "args", "log"} in, one line
with pytest's exit code out. Usage: python forkserver.py SOCKET"""
import json, os, signal, socket, sys

sys.dont_write_bytecode = True   # a child never writes a .pyc of a mutant (a stale one could be reused)
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # no nbval, benchmark, hypothesis...: these tests need none
import numpy, torch, torchvision, torchmetrics, torchmetrics.image.fid, matplotlib, matplotlib.pyplot, PIL.Image, tqdm  # noqa
import pytest, _pytest.config, _pytest.python, _pytest.fixtures, _pytest.runner  # noqa
assert not any(m.startswith("mnist_gan_utils") for m in sys.modules)
import gc, _pytest.unraisableexception
_pytest.unraisableexception.gc_collect_harder = lambda *a, **k: None  # 5 full gc passes over torch: 1.2 s a run
gc.freeze()  # the pre-imported heap: never traversed again, and shared copy-on-write with the children

path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(4)
print("ready", flush=True)
while True:
    conn, _ = srv.accept()
    with conn:
        req = json.loads(conn.makefile().readline())
        pid = os.fork()
        if pid == 0:
            srv.close()
            signal.alarm(int(req.get("timeout", 180)))   # a mutant that loops forever dies here
            os.chdir(req["cwd"])
            sys.path.insert(0, req["cwd"])
            fd = os.open(req.get("log") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1), os.dup2(fd, 2)
            try:
                rc = int(pytest.main(req["args"]))
            except BaseException:
                rc = 99
            sys.stdout.flush(), sys.stderr.flush()
            os._exit(rc)
        _, status = os.waitpid(pid, 0)
        try:
            conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
        except OSError:
            pass
