"""Run a command with a private ``/opt/ml`` (Linux mount namespace); stdlib only, run by file path.

Usage (by :mod:`clarify_engine.client._isolation`, never imported by the package)::

    python -I _mountns.py --probe
    python -I _mountns.py --opt-ml HOST_DIR --message HOST_FILE --cwd DIR -- COMMAND [ARG ...]

Steps, in this single-threaded process before ``exec``:

1. ``unshare(CLONE_NEWNS)`` (root); when that is not permitted,
   ``unshare(CLONE_NEWUSER | CLONE_NEWNS)`` with this user's uid/gid mapped to themselves
   (unprivileged user namespaces);
2. every mount becomes private (``MS_REC | MS_PRIVATE`` on ``/``), so nothing below reaches
   the host;
3. ``/opt`` is opened, its entries listed, and a tmpfs is mounted over it; each entry except
   ``ml`` is bound back from the opened folder (``/proc/self/fd/N/<entry>``; symlinks are
   recreated), so the job sees the host's ``/opt`` contents, minus any host ``/opt/ml``;
4. ``/opt/ml`` (a folder of the tmpfs) gets the job's ``opt/ml`` folder bound onto it;
5. ``chdir`` to ``--cwd`` and ``exec`` the command (same pid: signals to the job reach it).

Nothing is created or changed on the host: the tmpfs and the binds exist only in the new
namespace and go away with its last process. A failed step writes its reason to
``--message`` (the job's ``/opt/ml/output/message`` on the host), prints it to stderr and
exits with :data:`EXIT_REFUSED`. ``--probe`` makes the same namespace and mounts with an
empty folder and exits 0, or prints why not and exits :data:`EXIT_REFUSED`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import stat
import sys
import tempfile

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

#: Exit code when the private /opt/ml cannot be made (or the command cannot be started).
EXIT_REFUSED = 125
#: First words of every reason this helper gives (the client matches nothing else).
PREFIX = "cannot give the job a private /opt/ml"

_libc = None


class Refused(Exception):
    """The namespace or one of its mounts could not be made; the message says why."""


def _lib():
    global _libc
    if _libc is None:
        if not sys.platform.startswith("linux"):
            raise Refused(f"{PREFIX}: mount namespaces are a Linux feature and this is {sys.platform}")
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
        _libc.unshare.argtypes = [ctypes.c_int]
    return _libc


def _unshare(flags: int) -> int:
    """0 on success, else the errno."""
    if _lib().unshare(flags) == 0:
        return 0
    return ctypes.get_errno()


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = (lambda s: None if s is None else os.fsencode(s))
    if _lib().mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        what = f"bind {source} -> {target}" if flags & MS_BIND else f"mount {fstype or 'propagation'} on {target}"
        raise Refused(f"{PREFIX}: {what} failed: {os.strerror(err)}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def enter_namespace() -> str:
    """Move this process into a new mount namespace (a user namespace too if needed)."""
    first = _unshare(CLONE_NEWNS)
    if first == 0:
        return "mount namespace"
    uid, gid = os.getuid(), os.getgid()
    second = _unshare(CLONE_NEWUSER | CLONE_NEWNS)
    if second != 0:
        raise Refused(
            f"{PREFIX}: a mount namespace needs root (unshare(CLONE_NEWNS): {os.strerror(first)}) and "
            f"unprivileged user namespaces are not available here (unshare(CLONE_NEWUSER): {os.strerror(second)}). "
            "Run as root, enable user namespaces (sysctl user.max_user_namespaces > 0, and "
            "kernel.unprivileged_userns_clone=1 where that setting exists), or run the job in a container")
    if os.path.exists("/proc/self/setgroups"):
        _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    return "user and mount namespace"


def private_opt_ml(opt_ml: str) -> None:
    """Make ``/opt/ml`` show ``opt_ml`` in this (new) mount namespace; see the module notes."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    opt = os.path.realpath("/opt")
    if not os.path.isdir(opt):
        raise Refused(f"{PREFIX}: this machine has no /opt folder to mount over, and creating one would change "
                      "the host. Create an empty /opt once (mkdir /opt, as root), or run the job in a container")
    fd = os.open(opt, os.O_RDONLY | os.O_DIRECTORY)
    try:
        names = os.listdir(fd)
        _mount("tmpfs", opt, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
        for name in names:
            if name == "ml":
                continue
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            target = os.path.join(opt, name)
            if stat.S_ISLNK(info.st_mode):
                os.symlink(os.readlink(name, dir_fd=fd), target)
                continue
            if stat.S_ISDIR(info.st_mode):
                os.mkdir(target)
            else:
                open(target, "x").close()
            _mount(f"/proc/self/fd/{fd}/{name}", target, None, MS_BIND | MS_REC)
        os.mkdir(os.path.join(opt, "ml"))
        _mount(opt_ml, os.path.join(opt, "ml"), None, MS_BIND | MS_REC)
    finally:
        os.close(fd)


def _fail(message_file: str | None, reason: str) -> int:
    sys.stderr.write(reason + "\n")
    sys.stderr.flush()
    if message_file:
        try:
            with open(message_file, "w", encoding="utf-8") as fh:
                fh.write(reason.encode("utf-8")[:1024].decode("utf-8", errors="ignore"))
        except OSError as exc:
            sys.stderr.write(f"(could not write {message_file}: {exc})\n")
    return EXIT_REFUSED


def main(argv: list[str]) -> int:
    if argv == ["--probe"]:
        scratch = tempfile.mkdtemp(prefix="clarify-engine-probe-")
        try:
            enter_namespace()
            private_opt_ml(scratch)
            return 0
        except (Refused, OSError) as exc:
            return _fail(None, str(exc) if isinstance(exc, Refused) else f"{PREFIX}: {exc}")
        finally:
            os.rmdir(scratch)
    if "--" not in argv:
        return _fail(None, "usage: _mountns.py --probe | --opt-ml DIR --message FILE --cwd DIR -- COMMAND ...")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    pairs = dict(zip(options[0::2], options[1::2]))
    message, opt_ml, cwd = pairs.get("--message"), pairs.get("--opt-ml"), pairs.get("--cwd")
    if not (opt_ml and cwd and command):
        return _fail(message, "usage: _mountns.py --opt-ml DIR --message FILE --cwd DIR -- COMMAND ...")
    try:
        enter_namespace()
        private_opt_ml(opt_ml)
        os.chdir(cwd)
    except Refused as exc:
        return _fail(message, str(exc))
    except OSError as exc:
        return _fail(message, f"{PREFIX}: {exc}")
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        code = errno.errorcode.get(exc.errno, str(exc.errno))
        return _fail(message, f"the job's command {command[0]!r} could not be started ({code}: {exc.strerror}); "
                              "check ContainerEntrypoint / the ScriptProcessor command")
    return EXIT_REFUSED  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
