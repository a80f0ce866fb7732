"""numba, the compiler of skfit's formulas and of the linear models' epoch loop.

:func:`jit` marks a function for compilation in nopython mode with an on-disk
cache, so that a process pays for compiling a function once per kind of data, and
later processes not at all. Processes that need the same compilation at the same
time (the workers of a parallel search, say) take turns, through a lock file
beside numba's cache files: one compiles while the others wait, then load its
result from the cache. A cache serves only code compiled from skfit's present
sources (:func:`_stamp_with_sources`). numba itself is imported only when the
first compiled function is called: ``import skfit`` does not pay for it. From then
on compiled functions call one another as numba functions, and the overloads and
intrinsics registered with :func:`overload` and :func:`on_first_use` are in
place.
"""

import contextlib
import functools
import hashlib
import importlib
import os
import sys
import time

try:
    import fcntl
except ImportError:  # Windows: processes compile side by side, as numba alone does.
    fcntl = None

__all__ = [
    "FASTMATH",
    "CompiledFunction",
    "jit",
    "on_first_use",
    "overload",
    "read_only",
]

#: Reassociation lets the compiler vectorise sums; the flags that assume no NaN or
#: infinity are left out, as the loops must see non-finite losses.
FASTMATH = {"reassoc", "nsz", "contract", "arcp"}

#: How long a process waits for another to compile what it needs (seconds), and
#: how often it looks.
TURN_TIMEOUT = 300.0
TURN_POLL = 0.05

#: (stub, implementation) pairs to register with numba's ``overload``.
_OVERLOADS = []
#: Functions to run once numba is imported (defining intrinsics, for example).
_FIRST_USE = []
_started = False


class CompiledFunction:
    """A function compiled by numba on its first call.

    It calls like the function; compiled code that calls it calls the numba
    dispatcher directly.
    """

    def __init__(self, function, fastmath, inline):
        self.py_func = function
        self.fastmath = fastmath
        self.inline = inline
        self._dispatcher = None
        self.__doc__ = function.__doc__
        self.__name__ = function.__name__
        self.__module__ = function.__module__
        self.__qualname__ = function.__qualname__
        self.__wrapped__ = function

    @property
    def dispatcher(self):
        """The numba dispatcher, created (and numba imported) on first use."""
        if self._dispatcher is None:
            _start()
            numba = importlib.import_module("numba")
            options = {"nogil": True, "fastmath": self.fastmath, **self.targetoptions}
            try:
                dispatcher = numba.njit(cache=True, **options)(self.py_func)
            except RuntimeError:
                # No writable cache directory (a read-only installation): compile
                # anew in each process rather than fail.
                dispatcher = numba.njit(**options)(self.py_func)
            else:
                _stamp_with_sources(dispatcher)
                _compile_in_turn(dispatcher)
            self._dispatcher = dispatcher
        return self._dispatcher

    @property
    def targetoptions(self):
        """The options numba's inlining pass reads (by duck typing, as on its own
        dispatchers) to inline a call from compiled code."""
        return {"inline": "always"} if self.inline and _inlines() else {}

    def __call__(self, *args):
        return self.dispatcher(*args)

    def __repr__(self):
        return f"<compiled function {self.__qualname__}>"


def jit(function=None, *, fastmath=False, inline=False):
    """``function`` compiled in nopython mode and cached on disk, on first call.

    ``fastmath`` takes :data:`FASTMATH` (or False: exact IEEE arithmetic).
    ``inline`` makes compiled callers inline its code (numba's own inlining, on its
    intermediate code): for the formulas called once per row or per coordinate,
    whose calls LLVM left as calls in the row loops, 3-5 times slower. It costs
    compile time, so the functions called once per batch or from Python are left
    as calls, and numba before 0.60 inlines nothing (see :func:`_inlines`).
    """
    if function is None:
        return lambda function: jit(function, fastmath=fastmath, inline=inline)
    return CompiledFunction(function, fastmath, inline)


def read_only(array):
    """A read-only view of ``array``, to pass to compiled code.

    numba compiles a function once for writable and once more for read-only
    arrays, and the data a user fits may be either (joblib hands a parallel
    search's workers read-only memory maps). Passing the data read-only always
    keeps one compiled variant, and one compile, for both.
    """
    view = array.view()
    view.flags.writeable = False
    return view


def sources_digest(folder):
    """A digest of the Python sources under ``folder``, by path and content."""
    digest = hashlib.sha1()
    for parent, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        for name in sorted(name for name in files if name.endswith(".py")):
            path = os.path.join(parent, name)
            digest.update(os.path.relpath(path, folder).encode())
            with open(path, "rb") as source:
                digest.update(source.read())
    return digest.hexdigest()


@functools.cache
def _package_digest():
    return sources_digest(os.path.dirname(os.path.abspath(__file__)))


def _stamp_with_sources(dispatcher):
    """Make ``dispatcher``'s on-disk cache serve only code compiled from skfit's
    present sources.

    numba tells a stale cache by the stamp of the compiled function's own file,
    but the code it caches holds the functions it calls from other modules: after
    a change to one of those (an editable install updated, say), the epoch loop
    would load the old formulas from its cache. The stamp numba compares becomes
    the pair of its own and a digest of every skfit source, so any change to
    skfit compiles afresh. (A reinstalled package gets new files, whose own
    stamps change anyway.)
    """
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if cache_file is not None:
        cache_file._source_stamp = (cache_file._source_stamp, _package_digest())


def _compile_in_turn(dispatcher):
    """Make the processes that compile ``dispatcher`` for the same argument types
    take turns, so that one compiles and the others load its cached result.

    Without this, the workers of a search that start on an empty cache each
    compile the epoch loop, several seconds each, and on a machine with as many
    cores as workers every one of them slows all the others down.
    """
    from numba import __version__ as numba_version
    from numba.core import sigutils
    from numba.core.caching import NullCache
    from numba.core.compiler_lock import global_compiler_lock

    cache = getattr(dispatcher, "_cache", None)  # none under NUMBA_DISABLE_JIT
    if fcntl is None or cache is None or isinstance(cache, NullCache):
        return
    compile_here = dispatcher.compile
    function = dispatcher.py_func
    # Processes of other Pythons or numbas keep other cache files: they need not
    # wait for one another.
    name = (
        f"{sys.version_info[:2]}:{numba_version}:{function.__code__.co_filename}:"
        f"{function.__qualname__}"
    )

    def compile_in_turn(sig):
        args, _ = sigutils.normalize_signature(sig)
        if tuple(args) in dispatcher.overloads:
            return compile_here(sig)
        # numba's own lock first, as its compile takes it: a thread that waited
        # for the file while holding it could deadlock with one of this process's
        # threads that holds the file and waits for numba's lock.
        with global_compiler_lock, _turn(cache.cache_path, f"{name}{tuple(args)}"):
            return compile_here(sig)

    dispatcher.compile = compile_in_turn


@contextlib.contextmanager
def _turn(folder, key):
    """Wait for the turn on ``key`` among this machine's processes, through a lock
    file in the cache ``folder``, for at most :data:`TURN_TIMEOUT` seconds.

    Taking turns only saves time, so a lock that cannot be taken (no lock file,
    a file system without locks, a holder stopped in a debugger) is not waited
    for, or not beyond the timeout.
    """
    path = os.path.join(folder, f".skfit-turn-{hashlib.sha1(key.encode()).hexdigest()}")
    with contextlib.ExitStack() as stack:
        try:
            file = stack.enter_context(open(path, "a"))
            deadline = time.monotonic() + TURN_TIMEOUT
            while True:
                try:
                    fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(TURN_POLL)
            # Unlocked explicitly: a child forked meanwhile shares the open file,
            # and closing ours alone would leave the lock to it.
            stack.callback(fcntl.flock, file, fcntl.LOCK_UN)
        except OSError:
            pass
        yield


def overload(stub):
    """Register the decorated function as numba's implementation of ``stub``
    (``numba.extending.overload``, cached), once numba is imported."""

    def register(implementation):
        _OVERLOADS.append((stub, implementation))
        return implementation

    return register


def on_first_use(function):
    """Run ``function`` once numba is imported, before anything is compiled."""
    _FIRST_USE.append(function)
    return function


@functools.cache
def _inlines():
    """Whether this numba inlines the functions marked for it: before 0.60 its
    inlining pass made the first fit's compilation five times slower (58 s
    against 11 s measured with numba 0.57), more than the calls cost."""
    version = importlib.import_module("numba").__version__
    return tuple(int(part) for part in version.split(".")[:2]) >= (0, 60)


def _start():
    global _started
    if _started:
        return
    _started = True
    from numba.core import types
    from numba.extending import overload as numba_overload
    from numba.extending import typeof_impl

    @typeof_impl.register(CompiledFunction)
    def _typeof_compiled_function(value, context):
        return types.Dispatcher(value.dispatcher)

    for stub, implementation in _OVERLOADS:
        # The overloads dispatch on a kernel's type: inlined, they cost nothing.
        numba_overload(
            stub,
            inline="always" if _inlines() else "never",
            jit_options={"cache": True},
        )(implementation)
    for function in _FIRST_USE:
        function()
