"""The compile notice: one log line when a kernel is compiled because numba's cache lacks it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from clarify_engine._jit import COMPILING_MESSAGE

KERNEL = textwrap.dedent("""
    from clarify_engine._jit import jit

    @jit
    def add(a, b):
        return a + b

    @jit
    def twice(a):
        return add(a, a)
""")

SCRIPT = textwrap.dedent("""
    import logging, sys
    sys.path.insert(0, sys.argv[1])
    from clarify_engine import _logging
    _logging.configure(logging.INFO)
    import kernels
    print(kernels.twice(2), kernels.add(1.5, 2.0))
""")


def _run(folder, cache, **env):
    done = subprocess.run([sys.executable, str(folder / "script.py"), str(folder)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NUMBA_CACHE_DIR": str(cache), **env})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_compile_is_announced_once_on_an_empty_cache_and_not_when_warm(tmp_path):
    (tmp_path / "kernels.py").write_text(KERNEL)
    (tmp_path / "script.py").write_text(SCRIPT)
    cache = tmp_path / "numba-cache"
    cold = _run(tmp_path, cache)
    assert cold.count(COMPILING_MESSAGE) == 1, cold  # three compiles, one line
    assert f"(cache: {cache}; target: this machine's CPU)" in cold
    assert cold.splitlines()[-1] == "4 3.5"
    assert any(cache.rglob("*.nbi")), "numba wrote no cache index"
    warm = _run(tmp_path, cache)
    assert COMPILING_MESSAGE not in warm and warm.splitlines()[-1] == "4 3.5"
    # another CPU target is another cache entry: compiled (and announced) again, then cached
    generic = _run(tmp_path, cache, NUMBA_CPU_NAME="generic")
    assert f"{COMPILING_MESSAGE} (cache: {cache}; target: generic)" in generic
    assert COMPILING_MESSAGE not in _run(tmp_path, cache, NUMBA_CPU_NAME="generic")


def test_no_notice_when_jit_is_disabled(tmp_path):
    (tmp_path / "kernels.py").write_text(KERNEL)
    (tmp_path / "script.py").write_text(SCRIPT)
    out = _run(tmp_path, tmp_path / "cache", NUMBA_DISABLE_JIT="1")
    assert COMPILING_MESSAGE not in out and out.splitlines()[-1] == "4 3.5"


def test_image_ships_a_generic_warm_cache():
    """The final stage sets the cache and the generic target before warming it, as the user that runs jobs."""
    from tests.helpers import REPO

    text = (REPO / "container" / "Dockerfile").read_text()
    final = text[text.rindex("\nFROM "):]
    env = final.index("NUMBA_CACHE_DIR=/opt/clarify/numba-cache")
    assert "NUMBA_CPU_NAME=generic" in final[env:final.index("RUN", env)]  # one ENV instruction, before the runs
    user = final.index("USER clarify")
    warm = final.index("RUN clarify-engine -q demo --output ")
    assert env < user < warm < final.index("ENTRYPOINT")
    assert "/tmp/numba-cache" not in text
