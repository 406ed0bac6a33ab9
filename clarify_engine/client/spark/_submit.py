"""``smspark-submit`` for local jobs: the Spark image's entry point, on ``spark-submit --master local[*]``.

Run as ``python -m clarify_engine.client.spark._submit [options] app [app arguments]`` inside a
local job (its ``/opt/ml`` is the job's own layout). The options are those of the SageMaker
Spark image's ``smspark-submit``: ``--class``, ``--jars``, ``--py-files``, ``--files`` (comma
lists), ``--spark-event-logs-s3-uri``, ``--local-spark-event-logs-dir``, ``-v/--verbose``.

What it does, as the image does on its YARN cluster:

* each ``--jars/--py-files/--files`` entry: an absolute local folder becomes the files directly
  in it ("Found zero files in <dir>" when none), a relative path is refused ("must be an
  absolute path"), ``s3://``/``s3a://`` objects are downloaded first (boto3, standard AWS
  settings), since a local Spark has no S3 file system;
* ``/opt/ml/processing/input/conf/configuration.json`` (EMR classifications) is applied:
  ``spark-defaults`` → ``--conf k=v``; ``core-site``, ``hive-site``, ``spark-hive-site`` →
  ``--conf spark.hadoop.k=v``; ``spark-env``, ``hadoop-env``, ``yarn-env``, ``hive-env`` → their
  nested ``export`` properties become environment variables; ``yarn-site``, ``*-log4j``,
  ``spark-metrics`` have no local meaning and are skipped with a log line;
* ``--local-spark-event-logs-dir D`` → ``spark.eventLog.enabled=true`` and
  ``spark.eventLog.dir=file://D`` (the processor's ``Continuous`` output uploads it);
* Spark runs with this Python as ``PYSPARK_PYTHON``; a non-zero exit writes
  ``AlgorithmError: spark failed with a non-zero exit code N`` (and the last error line) to
  ``/opt/ml/output/message`` and exits with that code.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from clarify_engine._io import atomic_write

log = logging.getLogger(__name__)

#: Spark 4 (the pyspark wheel pinned in the spark extra) runs on Java 17 and newer.
MIN_JAVA = 17
CONF_PATHS = ("/opt/ml/processing/input/conf/configuration.json", "/opt/ml/input/data/conf/configuration.json")
MESSAGE_FILE = "/opt/ml/output/message"
ENV_CLASSIFICATIONS = ("spark-env", "hadoop-env", "yarn-env", "hive-env")
HADOOP_CLASSIFICATIONS = ("core-site", "hive-site", "spark-hive-site")
IGNORED_CLASSIFICATIONS = ("yarn-site", "hadoop-log4j", "hive-log4j", "hive-exec-log4j", "spark-log4j", "spark-metrics")
LIST_OPTIONS = ("--jars", "--py-files", "--files")
VALUE_OPTIONS = ("--class", "--spark-event-logs-s3-uri", "--local-spark-event-logs-dir") + LIST_OPTIONS

NO_PYSPARK = ("local Spark jobs need the pyspark package, whose wheel ships spark-submit: install it with "
              "pip install 'clarify-engine[spark]' (or pip install pyspark), then run the job again")
NO_JAVA = ("local Spark jobs need a Java runtime (17 or newer) and none was found: no 'java' on PATH and JAVA_HOME "
           "is not set. Install one, e.g. apt-get install -y default-jre-headless (Debian/Ubuntu), or set JAVA_HOME, "
           "then run the job again")


class InputError(ValueError):
    """A bad option of ``smspark-submit`` (the image's name for it)."""


def spark_submit_path() -> Path:
    """``bin/spark-submit`` of the installed pyspark wheel.

    Raises
    ------
    RuntimeError
        pyspark is not installed (the message names the package and how to install it).
    """
    try:
        import pyspark
    except ImportError:
        raise RuntimeError(NO_PYSPARK) from None
    path = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    if not path.exists():
        raise RuntimeError(f"{NO_PYSPARK} (the installed pyspark has no {path})")
    return path


def java_path() -> str | None:
    """The ``java`` Spark will start: ``$JAVA_HOME/bin/java`` or the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def java_major(java: str) -> int | None:
    """The major version ``java -version`` reports (``"17.0.15"`` → 17, ``"1.8.0_392"`` → 8), or None."""
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def check_local_spark() -> None:
    """Refuse a local Spark job early when pyspark or a Java 17+ runtime is missing (messages name the fix)."""
    spark_submit_path()
    java = java_path()
    if java is None:
        raise RuntimeError(NO_JAVA)
    major = java_major(java)
    if major is not None and major < MIN_JAVA:
        raise RuntimeError(f"local Spark jobs need Java {MIN_JAVA} or newer (Spark 4 from the pyspark wheel); "
                           f"{java} is Java {major}. Install a newer one, e.g. apt-get install -y "
                           "default-jre-headless (Debian 12: Java 17), and put it first on PATH or set JAVA_HOME")


def parse_args(argv: list[str]) -> tuple[dict, str, list[str]]:
    """``smspark-submit``'s options (up to the app), the app, and the app's own arguments."""
    options: dict = {"verbose": False}
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        word = argv[i]
        if word in ("-v", "--verbose"):
            options["verbose"] = True
            i += 1
            continue
        name, eq, value = word.partition("=")
        if name not in VALUE_OPTIONS:
            raise InputError(f"smspark-submit: unknown option {word!r}; known: {', '.join(VALUE_OPTIONS)}, -v/--verbose")
        if not eq:
            if i + 1 >= len(argv):
                raise InputError(f"smspark-submit: option {name} needs a value")
            value = argv[i + 1]
            i += 1
        options[name] = value
        i += 1
    if i >= len(argv):
        raise InputError("smspark-submit: the app to run is missing (a .py file or a jar, after the options)")
    return options, argv[i], argv[i + 1:]


def host_path(root: Path, container_path: str) -> Path:
    """A container path under the job's root (``/`` inside the job's own namespace)."""
    return root / container_path.lstrip("/") if str(root) != "/" else Path(container_path)


def expand_list(value: str, option: str, root: Path, download_dir: Path) -> list[str]:
    """One ``--jars/--py-files/--files`` value as the local files ``spark-submit`` gets."""
    files: list[str] = []
    for item in [v for v in value.split(",") if v]:
        scheme = urlparse(item).scheme
        if scheme in ("s3", "s3a"):
            files.append(str(_download(item, download_dir)))
            continue
        if scheme == "file":
            item = urlparse(item).path
        if not item.startswith("/"):
            raise InputError(f"{option} {item}: must be an absolute path")
        path = host_path(root, item)
        if path.is_dir():
            found = sorted(str(p) for p in path.iterdir() if p.is_file())
            if not found:
                raise InputError(f"{option}: Found zero files in {item}")
            files += found
        elif path.is_file():
            files.append(str(path))
        else:
            raise InputError(f"{option} {item}: no such file or folder in the job")
    return files


def _download(uri: str, folder: Path) -> Path:
    import boto3

    url = urlparse(uri)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (Path(url.path).name or "object")
    boto3.client("s3").download_file(url.netloc, url.path.lstrip("/"), str(target))
    return target


def configuration_options(configuration, env: dict) -> list[str]:
    """``--conf`` words for ``configuration`` (EMR classifications); ``*-env`` exports go into ``env``."""
    items = configuration if isinstance(configuration, list) else [configuration]
    words: list[str] = []
    for item in items:
        classification = item.get("Classification")
        properties = item.get("Properties") or {}
        if classification == "spark-defaults":
            words += [w for k, v in properties.items() for w in ("--conf", f"{k}={v}")]
        elif classification in HADOOP_CLASSIFICATIONS:
            words += [w for k, v in properties.items() for w in ("--conf", f"spark.hadoop.{k}={v}")]
        elif classification in ENV_CLASSIFICATIONS:
            nested = item.get("Configurations")
            if not nested:
                raise InputError(f"configuration {classification}: an -env classification sets environment "
                                 "variables through nested Configurations of Classification 'export', e.g. "
                                 f"{{'Classification': '{classification}', 'Properties': {{}}, 'Configurations': "
                                 "[{'Classification': 'export', 'Properties': {'NAME': 'value'}}]}; found none")
            for export in nested:
                if export.get("Classification") != "export":
                    raise InputError(f"configuration {classification}: nested Classification "
                                     f"{export.get('Classification')!r} is not 'export'")
                env.update({str(k): str(v) for k, v in (export.get("Properties") or {}).items()})
        elif classification in IGNORED_CLASSIFICATIONS:
            log.warning("configuration %s: not applied by a local Spark (no YARN, Hadoop logging or metrics "
                        "sinks here); skipped", classification)
        else:
            raise InputError(f"configuration: unknown classification {classification!r}")
    return words


def build_command(argv: list[str], root: Path, env: dict, download_dir: Path) -> list[str]:
    """The ``spark-submit`` command for ``smspark-submit`` arguments ``argv``."""
    options, app, app_args = parse_args(argv)
    command = [str(spark_submit_path()), "--master", "local[*]"]
    if options.get("--class"):
        command += ["--class", options["--class"]]
    for option in LIST_OPTIONS:
        if options.get(option):
            command += [option, ",".join(expand_list(options[option], option, root, download_dir))]
    for conf in CONF_PATHS:
        path = host_path(root, conf)
        if path.exists():
            command += configuration_options(json.loads(path.read_text(encoding="utf-8")), env)
            break
    if options.get("--local-spark-event-logs-dir"):
        events = host_path(root, options["--local-spark-event-logs-dir"])
        events.mkdir(parents=True, exist_ok=True)
        command += ["--conf", "spark.eventLog.enabled=true", "--conf", f"spark.eventLog.dir={events.as_uri()}"]
    if options["verbose"]:
        command.append("--verbose")
    app_path = app if urlparse(app).scheme in ("s3", "s3a") else str(host_path(root, app))
    if urlparse(app).scheme in ("s3", "s3a"):
        app_path = str(_download(app, download_dir))
    return command + [app_path] + list(app_args)


def _write_message(root: Path, text: str) -> None:
    path = host_path(root, MESSAGE_FILE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text[:1024])
    except OSError as exc:
        log.error("could not write %s: %s", path, exc)


def main(argv: list[str] | None = None) -> int:
    """Run Spark as ``smspark-submit`` would; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="smspark-submit: %(message)s", stream=sys.stderr)
    argv = sys.argv[1:] if argv is None else argv
    root = Path(os.environ.get("CLARIFY_PROCESSING_ROOT", "/"))
    env = dict(os.environ)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    with tempfile.TemporaryDirectory(prefix="smspark-") as tmp:
        try:
            check_local_spark()
            command = build_command(argv, root, env, Path(tmp))
        except (InputError, RuntimeError) as exc:
            _write_message(root, f"ClientError: {exc}")
            log.error("%s", exc)
            return 2
        except Exception as exc:  # noqa: BLE001 - an S3 download failure etc. ends the job with its reason
            _write_message(root, f"ClientError: {type(exc).__name__}: {exc}")
            log.error("%s: %s", type(exc).__name__, exc)
            return 2
        log.info("running %s", " ".join(command))
        proc = subprocess.Popen(command, env=env, stdout=sys.stdout, stderr=subprocess.PIPE, text=True,
                                errors="replace")
        last_error = ""
        assert proc.stderr is not None
        for line in proc.stderr:
            sys.stderr.write(line)
            if " ERROR " in line or line.startswith(("Traceback", "Exception", "Error")) or "Error:" in line:
                last_error = line.strip()
        code = proc.wait()
    if code != 0:
        detail = f": {last_error}" if last_error else ""
        _write_message(root, f"AlgorithmError: spark failed with a non-zero exit code {code}{detail}")
    return code


if __name__ == "__main__":
    sys.exit(main())
