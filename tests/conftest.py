"""Shared test helpers: where things are, and skip-or-fail for optional components.

In CI, VIRTXLATE_REQUIRE_SHARED=1 and VIRTXLATE_REQUIRE_INTEGRATION=1 turn a missing
../shared or a missing QEMU into a failure instead of a skip.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
SAMPLES = REPO / "samples"
SHARED = Path(os.environ.get("VIRTXLATE_SHARED", REPO.parent / "shared"))
CONFORMANCE = SHARED / "conformance" / "libvirt"
QEMU_CAPS = SHARED / "qemu-caps"


def _missing(what: str, env: str) -> None:
    """Skip for WHAT not being here; a failure when ENV=1 (CI)."""
    if os.environ.get(env) == "1":
        pytest.fail(f"{what} is required here ({env}=1) but missing")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="module", autouse=True)
def _earlier_objects_frozen() -> None:
    """At each module's start, what the run made before and still holds (tables, parsed
    samples, modules, earlier fixtures' results) is moved out of the cyclic collector's
    walks (gc.freeze, after a collection): a whole-suite run holds far more objects than
    one module, and each full collection walked them all again (the 10,000-check fuzz took
    a third longer after other modules than alone).  What a test makes is collected as
    before; nothing a test checks depends on the collector's pace."""
    gc.collect()
    gc.freeze()


@pytest.fixture
def shared() -> Path:
    if not CONFORMANCE.is_dir():
        _missing(f"{SHARED} (the shared conformance corpus)", "VIRTXLATE_REQUIRE_SHARED")
    return SHARED


@pytest.fixture(scope="session")
def qemu_binary() -> str:
    path = shutil.which("qemu-system-x86_64")
    if path is None:
        _missing("qemu-system-x86_64", "VIRTXLATE_REQUIRE_INTEGRATION")
    return path  # type: ignore[return-value]


# libvirt's answers when the domain's emulator is not installed (virQEMUCapsCacheLookup,
# virCapabilitiesDomainDataLookup): they say nothing about the domain
_NO_EMULATOR = re.compile(
    r"Cannot check QEMU binary|Cannot find QEMU binary|"
    r"No emulator found for arch|could not find capabilities for "
    r".*arch=(i686|x86_64|s390x|aarch64)\b"
)
# the emulator of a guest architecture without <emulator> (libvirt's default binary names)
_ARCH_BINARY = {
    "i686": "qemu-system-i386",
    "x86_64": "qemu-system-x86_64",
    "s390x": "qemu-system-s390x",
    "aarch64": "qemu-system-aarch64",
}


def emulator_of(xml: str) -> str:
    """The file name of the emulator a domain XML runs on: its <emulator>, else the
    binary of its architecture."""
    emulator = re.search(r"<emulator>\s*([^<\s]+)\s*</emulator>", xml)
    if emulator:
        return os.path.basename(emulator.group(1))
    arch = re.search(r"""<type[^>]*\sarch=['"]([\w-]+)['"]""", xml)
    return _ARCH_BINARY.get(arch.group(1) if arch else "x86_64", "qemu-system-x86_64")


def require_emulator(xml: str) -> str:
    """The path of the domain's emulator on PATH; a skip with its name when it is not
    installed (each emulator on its own: x86_64 domains still run without s390x), a
    failure in CI (VIRTXLATE_REQUIRE_INTEGRATION=1)."""
    name = emulator_of(xml)
    path = shutil.which(name)
    if path is None:
        _missing(f"{name} (the emulator of this domain)", "VIRTXLATE_REQUIRE_INTEGRATION")
    return path  # type: ignore[return-value]


def skip_when_no_emulator(libvirt_error: str) -> None:
    """libvirt refused because the domain's emulator is not installed where libvirtd
    runs: that is no verdict on the domain, so a skip (a failure in CI), not a refusal."""
    if _NO_EMULATOR.search(libvirt_error):
        _missing(
            f"the emulator libvirt needs ({libvirt_error.strip()})", "VIRTXLATE_REQUIRE_INTEGRATION"
        )


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """`virtxlate ARGS` as a user runs it, in this process: virtxlate.cli.main, the function
    `python -m virtxlate` runs, with the working directory, standard input and both output
    streams a process would have (UTF-8 streams, stdout strict and stderr with
    backslashreplace as Python sets them; no input unless STDIN), and the exit code a
    process would end with (argparse's SystemExit included).  A Python exception out of
    main() would be a traceback and exit 1 in a process: here it fails the test at once,
    with its traceback.  Each run costs a few milliseconds instead of a process's ~70 ms
    of start-up; the tests about the process itself (signals, resource limits, file
    descriptors, the environment, the interpreter's start) start one with subprocess."""
    from virtxlate.cli import main
    from virtxlate.xmlinput import set_input_limit

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    saved = sys.stdin, os.getcwd()
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    os.chdir(REPO)
    try:
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(),
        ):
            _process_warning_filters()  # a warning is a line on stderr, as in a process
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse: usage errors (2) and --help (0)
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = saved[0]
        os.chdir(saved[1])
        set_input_limit(None)  # --max-input holds for one process: for this run only
    return subprocess.CompletedProcess(
        ["virtxlate", *args], code, _as_subprocess_reads(out), _as_subprocess_reads(err)
    )


def _process_warning_filters() -> None:
    """The warning filters of a fresh `python -m` process (Python's defaults): warnings
    are shown on stderr, but not the deprecation, import and resource ones."""
    warnings.resetwarnings()
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):
        warnings.simplefilter("ignore", category)
    warnings.simplefilter("ignore", ResourceWarning)
    # (pytest records warnings; a process writes them on its stderr)
    warnings.showwarning = _warning_on_stderr


def _warning_on_stderr(message, category, filename, lineno, file=None, line=None) -> None:  # type: ignore[no-untyped-def]
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _as_subprocess_reads(stream: io.TextIOWrapper) -> str:
    """What subprocess.run(text=True) gives for the bytes written to STREAM: UTF-8 with
    universal newlines."""
    stream.flush()
    data = stream.buffer.getvalue()  # type: ignore[attr-defined]
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


# Long CLI runs that mostly wait on QEMU or libvirtd (`caps probe`: 4-5 s of wall, under
# 1 s of CPU each), by name: the test module that reads one, the binary it needs (None:
# none) and its words after `python -m virtxlate` (BINARY and OUT: that binary's path
# and the run's output file)
EARLY_RUNS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "probe-x86_64": ("test_probe.py", "qemu-system-x86_64", ("BINARY",)),
    "probe-q35": ("test_probe.py", "qemu-system-x86_64", ("BINARY", "--machine", "q35")),
    "probe-s390x": ("test_probe.py", "qemu-system-s390x", ("BINARY",)),
    "probe-aarch64": ("test_probe.py", "qemu-system-aarch64", ("BINARY",)),
    "probe-live": (
        "test_live.py",
        None,
        ("--connect", "qemu:///system", "--virttype", "qemu"),
    ),
}
_EARLY: dict[str, tuple[subprocess.Popen[str], Path]] = {}
_EARLY_DONE: dict[str, subprocess.CompletedProcess[str]] = {}
_EARLY_DIRECTORY: list[Path] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    """The early runs of the modules this run has tests of start as soon as the tests are
    known: they wait on QEMU beside the other tests instead of in their own module."""
    modules = {item.path.name for item in session.items}
    for name, (module, _, _) in EARLY_RUNS.items():
        if module in modules:
            _start_early(name)


def _start_early(name: str) -> None:
    _, binary_name, words = EARLY_RUNS[name]
    binary = shutil.which(binary_name) if binary_name else None
    if binary_name is not None and binary is None:
        return  # its test skips (fails in CI) for the binary
    if not _EARLY_DIRECTORY:
        _EARLY_DIRECTORY.append(Path(tempfile.mkdtemp(prefix="virtxlate-early-")))
    out = _EARLY_DIRECTORY[0] / f"{name}.xml"
    command = ["caps", "probe", *(binary if w == "BINARY" else w for w in words)]
    _EARLY[name] = (
        subprocess.Popen(
            [sys.executable, "-m", "virtxlate", *command, "--output", str(out)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        out,
    )


def early_run(name: str) -> tuple[subprocess.CompletedProcess[str], Path] | None:
    """The early run NAME (EARLY_RUNS) once it has ended, as a `python -m virtxlate`
    process: its exit code and streams, and its output file; None when the binary it
    needs is not installed.  Started now if the run has not started it."""
    if name not in _EARLY:
        _start_early(name)
    if name not in _EARLY:
        return None
    process, out = _EARLY[name]
    if name not in _EARLY_DONE:
        stdout, stderr = process.communicate(timeout=300)
        _EARLY_DONE[name] = subprocess.CompletedProcess(
            process.args, process.returncode, stdout, stderr
        )
    return _EARLY_DONE[name], out


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Early runs no test waited for (their tests deselected or failed before) end with
    the run; their output files go."""
    for process, _ in _EARLY.values():
        if process.poll() is None:
            process.kill()
            process.communicate()
    for directory in _EARLY_DIRECTORY:
        shutil.rmtree(directory, ignore_errors=True)


def conformance_inputs() -> list[Path]:
    """Every XML of the shared corpus (inputs and round-trip outputs)."""
    return sorted(CONFORMANCE.glob("*/*.xml")) if CONFORMANCE.is_dir() else []


_DESTROYS: list[subprocess.Popen[bytes]] = []


def destroy_in_background(virsh: str, name: str) -> None:
    """`virsh destroy NAME` started and not waited for: libvirt takes ~1.6 s here to
    destroy a domain (it waits to see QEMU gone) while the tests need only what they read
    before; destroys_waited waits for every one at the run's end."""
    _DESTROYS.append(
        subprocess.Popen(
            [virsh, "-c", "qemu:///system", "destroy", name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )


@pytest.fixture(scope="session", autouse=True)
def destroys_waited() -> Iterator[None]:
    """Every domain destroy_in_background was given is gone before the run ends."""
    yield
    while _DESTROYS:
        _DESTROYS.pop().wait(timeout=120)


def virsh_run(virsh: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`VIRSH -c qemu:///system ARGS`: its exit code and both streams, as virsh 9.0 prints
    them.  The commands the differential tests run by the hundred (`domxml-to-native
    qemu-argv FILE`, `define FILE`, `dumpxml --inactive NAME`, `undefine NAME`: ~1,300 a
    run) go to the same libvirtd through one libvirt-python connection (~2 ms each, a
    virsh process ~30 ms): the same API calls virsh makes (virConnectDomainXMLToNative,
    virDomainDefineXML, virDomainGetXMLDesc, virDomainUndefine).  Where libvirt refuses
    a define, dumpxml or undefine, virsh itself runs again for its exact message; other
    commands, and a machine without the binding, run virsh."""
    connection = _libvirt_connection()
    if connection is not None:
        answer = _through_the_binding(connection, args)
        if answer is not None:
            return answer
    return subprocess.run(
        [virsh, "-c", "qemu:///system", *args], capture_output=True, text=True, timeout=120
    )


@functools.cache
def _libvirt_connection():  # type: ignore[no-untyped-def]
    """One libvirt-python connection to qemu:///system for the run; None without the
    binding or the daemon (virsh_run then runs virsh, which says why)."""
    try:
        import libvirt
    except ImportError:
        return None
    # (the binding prints each error on stderr besides raising it; virsh_run says it)
    libvirt.registerErrorHandler(lambda _context, _error: None, None)
    try:
        connection = libvirt.open("qemu:///system")
    except libvirt.libvirtError:
        return None
    atexit.register(connection.close)  # (closed while the binding is still loaded)
    return connection


def _through_the_binding(connection, args: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """virsh's answer to ARGS made with CONNECTION; None: let virsh answer."""
    import libvirt

    def done(stdout: str) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(["virsh", *args], 0, stdout, "")

    try:
        if len(args) == 3 and args[:2] == ("domxml-to-native", "qemu-argv"):
            xml = Path(args[2]).read_text()
            try:
                return done(connection.domainXMLToNative("qemu-argv", xml, 0) + "\n")
            except libvirt.libvirtError as exc:  # virsh: a blank line, its error, exit 1
                return subprocess.CompletedProcess(["virsh", *args], 1, "\n", f"error: {exc}\n")
        if len(args) == 2 and args[0] == "define":
            domain = connection.defineXML(Path(args[1]).read_text())
            return done(f"Domain '{domain.name()}' defined from {args[1]}\n\n")
        if len(args) == 3 and args[:2] == ("dumpxml", "--inactive"):
            domain = connection.lookupByName(args[2])
            return done(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) + "\n")
        if len(args) == 2 and args[0] == "undefine":
            connection.lookupByName(args[1]).undefine()
            return done(f"Domain '{args[1]}' has been undefined\n\n")
    except (libvirt.libvirtError, OSError):
        return None
    return None


@pytest.fixture(scope="session")
def virsh() -> str:
    """virsh of a running libvirtd at qemu:///system; a skip (a failure in CI) without."""
    path = shutil.which("virsh")
    if path is None:
        _missing("virsh (libvirt-clients)", "VIRTXLATE_REQUIRE_INTEGRATION")
    answer = subprocess.run(
        [str(path), "-c", "qemu:///system", "version"], capture_output=True, timeout=120
    )
    if answer.returncode != 0:
        _missing("a running libvirtd (.ci/start-libvirtd)", "VIRTXLATE_REQUIRE_INTEGRATION")
    return str(path)
