"""The tiny init of a process-runtime container (run as `python3 -I -S _init.py`, standard library only).

PID 1 of the container's PID namespace (or the container's own process where namespaces are not
available). It starts the container's command as its child, forwards SIGTERM and the other termination
signals to it (a PID 1 without handlers would ignore them), reaps orphans, and exits with the command's
status (128 + signal when a signal ended it).

argv: STATUS_FD WORKDIR TTY(0|1) -- COMMAND [ARGS...]
STATUS_FD gets one line: `started` once the command runs, or why it cannot start
(`exec: "x": executable file not found in $PATH`). Its reader cannot wait for EOF: bwrap keeps a copy.
"""

import ctypes
import errno
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
              signal.SIGWINCH)


def _pdeathsig() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _fail(fd: int, message: str) -> None:
    os.write(fd, (message.replace("\n", " ") + "\n").encode())
    os.close(fd)
    os._exit(128)


def _resolve(name: str) -> str:
    """The executable as execvp would find it; raises OSError with the runtime's wording."""
    if "/" in name:
        if not os.path.exists(name):
            raise OSError(f'exec: "{name}": stat {name}: no such file or directory')
        if os.path.isdir(name) or not os.access(name, os.X_OK):
            raise OSError(f'exec: "{name}": permission denied')
        return name
    for d in os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(":"):
        cand = os.path.join(d or ".", name)
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    raise OSError(f'exec: "{name}": executable file not found in $PATH')


def main() -> None:
    status_fd, workdir, tty = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
    command = sys.argv[5:]
    os.set_inheritable(status_fd, False)
    if os.getpid() != 1:
        _pdeathsig()  # plain-process mode: die with the runtime
    if workdir:
        try:
            os.chdir(workdir)
        except OSError as e:
            _fail(status_fd, f"chdir to cwd ({workdir!r}) set in config.json failed: {(e.strerror or str(e)).lower()}")
    try:
        path = _resolve(command[0])
    except OSError as e:
        _fail(status_fd, str(e))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        for sig in _FORWARDED:
            signal.signal(sig, signal.SIG_DFL)
        try:
            if tty:
                import fcntl
                import termios

                os.setsid()
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            _pdeathsig()
            os.execve(path, command, dict(os.environ))
        except OSError as e:
            os.write(w, f'exec: "{command[0]}": {(e.strerror or str(e)).lower()}'.encode())
        os._exit(128)
    os.close(w)

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in _FORWARDED:
        signal.signal(sig, forward)
    err = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        err += chunk
    os.close(r)
    if err:
        _fail(status_fd, err.decode(errors="replace"))
    os.write(status_fd, b"started\n")
    os.close(status_fd)
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(0)
        except OSError as e:
            if e.errno == errno.EINTR:
                continue
            raise
        if done == pid:
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else code)


if __name__ == "__main__":
    main()
