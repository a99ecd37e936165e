#!/usr/bin/env python3
"""Benchmark aws-cred against the AWS CLI v1 and botocore (a benchmark, not a test).

Build the binary first:   cargo build --release
Then run:                 python3 bench/run.py [--runs 30] [--no-check]

Needs the venv that .ci/run builds (moto_server, aws, python): $AWS_CRED_VENV or <repo>/.venv
(`bash .ci/run --setup-only` makes it). Everything runs on loopback: moto stands in for STS, and a
socket that accepts and never answers stands in for an unreachable instance metadata service.

For every command it takes N timed runs (after a few untimed warm-up runs) and reports the median
and p90 wall time from fork to exit, and the peak RSS of the process (wait4's ru_maxrss, KiB on
Linux). The fork, the clock and wait4 happen in a 20-line C helper compiled with `cc` at start:
Linux carries a parent's RSS high-water mark into a child's ru_maxrss across exec, so a child
forked straight from Python would report Python's own peak (~13 MiB or more). Each run gets a cleared environment: PATH, HOME and the AWS_* variables that run needs, with
AWS_EC2_METADATA_DISABLED=true everywhere except the IMDS-miss case.

Targets (checked unless --no-check; the exit status is 1 if any fails):
  export median <= 10 ms, and >= 25x faster than `aws configure list` (medians)
  whoami >= 25x faster than `aws sts get-caller-identity` (medians)
  peak RSS of every aws-cred run <= 16 MiB
  chain miss with a blackholed IMDS: median <= 1.2 s
  export from a valid `aws login` cache (login_session): median <= 2x the static profile's
  token eks (static profile, and from aws-cred's token cache) >= 50x faster than
    `aws eks get-token` (medians); the cached token's median <= 1.5x export's
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"

LOGIN_ARN = "arn:aws:iam::123456789012:user/bench"
LOGIN_KEY = "ASIALOGINBENCHEXAMPLE"


def write_login_cache(home: Path) -> None:
    """A login cache as `aws login` writes it, valid for a day (so no refresh is timed)."""
    import hashlib
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    token = {
        "accessToken": {"accessKeyId": LOGIN_KEY, "secretAccessKey": SECRET_KEY, "sessionToken": "bench-token",
                        "accountId": MOTO_ACCOUNT, "expiresAt": expires},
        "tokenType": "aws_sigv4", "clientId": "arn:aws:signin:::devtools/same-device",
        "refreshToken": "bench-refresh", "idToken": "a.b.c",
        "dpopKey": "-----BEGIN EC PRIVATE KEY-----\nbench\n-----END EC PRIVATE KEY-----\n",
    }
    cache = home / ".aws" / "login" / "cache"
    cache.mkdir(parents=True)
    name = hashlib.sha256(LOGIN_ARN.encode()).hexdigest() + ".json"
    (cache / name).write_text(json.dumps(token))


BOTOCORE_ONE_LINER = (
    "import botocore.session; "
    "c = botocore.session.Session().get_credentials().get_frozen_credentials(); "
    "print(c.access_key)"
)

SPAWN_C = r"""
/* spawn RESULT_FILE PROGRAM [ARG...]: runs PROGRAM (an absolute path) with this process's
   environment and stdio, then writes "<wall ns> <ru_maxrss KiB> <wait status>" to RESULT_FILE. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fputs("usage: spawn RESULT_FILE PROGRAM [ARG...]\n", stderr);
        return 2;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        execv(argv[2], argv + 2);
        _exit(127);
    }
    int status;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) < 0) {
        perror("wait4");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    long long ns = (long long)(end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec);
    FILE *out = fopen(argv[1], "w");
    if (out == NULL) {
        perror(argv[1]);
        return 2;
    }
    fprintf(out, "%lld %ld %d\n", ns, usage.ru_maxrss, status);
    return fclose(out) == 0 ? 0 : 2;
}
"""

BLACKHOLE = r"""
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(128)
print(s.getsockname()[1], flush=True)
held = []
while True:
    conn, _ = s.accept()
    held.append(conn)  # never read, never answered
"""


@dataclass
class Case:
    group: str
    name: str
    argv: list[str]
    env: dict[str, str]
    expect_success: bool = True
    expect_stdout: str | None = None  # a substring the check run's stdout must contain
    times: list[float] = field(default_factory=list)  # seconds
    rss_kib: list[int] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def p90_ms(self) -> float:
        ordered = sorted(self.times)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)] * 1000

    @property
    def peak_mib(self) -> float:
        return max(self.rss_kib) / 1024


def tie_to_parent() -> None:
    """preexec_fn: the helper server gets SIGKILL if this script dies (Linux)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (AttributeError, OSError):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen | None) -> None:
    """Ends a helper server by its PID: SIGTERM, then SIGKILL after 5 s."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def start_moto(venv: Path, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(workdir / "moto.log", "wb")
    proc = subprocess.Popen(
        [str(venv / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "LANG": "C.UTF-8"},
        cwd=workdir,
        start_new_session=True,
        preexec_fn=tie_to_parent,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with no_proxy.open(f"{url}/moto-api/", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.05)
    stop(proc)
    sys.exit(f"moto_server did not start; its log:\n{(workdir / 'moto.log').read_text(errors='replace')}")


def start_blackhole() -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", BLACKHOLE],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=tie_to_parent,
    )
    line = proc.stdout.readline() if proc.stdout else b""
    if not line.strip().isdigit():
        stop(proc)
        sys.exit("the blackhole server did not start")
    return proc, int(line)


def check_run(case: Case) -> str | None:
    """One captured run; returns a problem description, or None if the command behaved."""
    try:
        done = subprocess.run(
            case.argv, env=case.env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{case.name}: {e}"
    ok = (done.returncode == 0) == case.expect_success
    if ok and case.expect_stdout is not None and case.expect_stdout not in done.stdout.decode(errors="replace"):
        ok = False
    if ok:
        return None
    return (
        f"{case.name}: exit {done.returncode} (expected {'0' if case.expect_success else 'non-zero'})"
        f"{'' if case.expect_stdout is None else f', stdout should contain {case.expect_stdout!r}'}\n"
        f"--- stdout ---\n{done.stdout.decode(errors='replace')}"
        f"--- stderr ---\n{done.stderr.decode(errors='replace')}"
    )


def build_spawner(workdir: Path) -> Path:
    source, binary = workdir / "spawn.c", workdir / "spawn"
    source.write_text(SPAWN_C)
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        sys.exit("no C compiler (cc): it builds the small helper that measures each run")
    subprocess.run([cc, "-O2", "-o", str(binary), str(source)], check=True)
    return binary


def timed_run(case: Case, spawner: Path, result: Path) -> tuple[float, int]:
    """One run with stdio on /dev/null; returns (wall seconds, ru_maxrss KiB)."""
    subprocess.run(
        [str(spawner), str(result), *case.argv],
        env=case.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=120,
    )
    ns, maxrss_kib, _status = (int(x) for x in result.read_text().split())
    return ns / 1e9, maxrss_kib


def measure(case: Case, runs: int, warmup: int, spawner: Path, result: Path) -> None:
    for _ in range(warmup):
        timed_run(case, spawner, result)
    for _ in range(runs):
        seconds, rss = timed_run(case, spawner, result)
        case.times.append(seconds)
        case.rss_kib.append(rss)
    print(f"  {case.name}: median {case.median_ms:.1f} ms", file=sys.stderr)


def table(cases: list[Case]) -> str:
    lines = [
        "| command | median ms | p90 ms | peak RSS MiB | speedup vs aws-cred |",
        "|---|---:|---:|---:|---:|",
    ]
    baselines = {c.group: c for c in cases if c.argv[0].endswith("aws-cred")}
    for c in cases:
        base = baselines.get(c.group)
        speedup = f"{c.median_ms / base.median_ms:.1f}x" if base else "-"
        lines.append(f"| `{c.name}` | {c.median_ms:.1f} | {c.p90_ms:.1f} | {c.peak_mib:.1f} | {speedup} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", type=Path, default=REPO / "target" / "release" / "aws-cred",
                        help="the aws-cred binary (default: target/release/aws-cred)")
    parser.add_argument("--venv", type=Path,
                        default=Path(os.environ.get("AWS_CRED_VENV") or REPO / ".venv"),
                        help="venv with moto_server and aws (default: $AWS_CRED_VENV or <repo>/.venv)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per command (default 30)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    parser.add_argument("--no-check", action="store_true", help="print the table, check no targets")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    binary = args.binary.resolve()
    if not os.access(binary, os.X_OK):
        print(f"no binary at {binary}: run `cargo build --release` first (or pass --binary)", file=sys.stderr)
        return 2
    venv = args.venv.resolve()
    for tool in ("moto_server", "aws", "python"):
        if not os.access(venv / "bin" / tool, os.X_OK):
            print(f"{venv}/bin/{tool} missing: run `bash .ci/run --setup-only` or set AWS_CRED_VENV",
                  file=sys.stderr)
            return 2

    work = Path(tempfile.mkdtemp(prefix="aws-cred-bench-"))
    moto = blackhole = None
    try:
        home = work / "home"
        (home / ".aws").mkdir(parents=True)
        (home / ".aws" / "credentials").write_text(
            f"[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        )
        (home / ".aws" / "config").write_text(
            f"[default]\nregion = {REGION}\n\n[profile console]\nlogin_session = {LOGIN_ARN}\nregion = {REGION}\n"
        )
        write_login_cache(home)
        empty_home = work / "empty-home"
        empty_home.mkdir()

        spawner = build_spawner(work)
        moto, moto_url = start_moto(venv, work)
        blackhole, blackhole_port = start_blackhole()

        path = os.environ.get("PATH", "/usr/bin:/bin")
        base = {"PATH": path, "HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true"}
        sts = dict(base, AWS_ENDPOINT_URL_STS=moto_url, AWS_ENDPOINT_URL=moto_url)
        miss = {
            "PATH": path,
            "HOME": str(empty_home),
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://127.0.0.1:{blackhole_port}",
        }
        aws, python = str(venv / "bin" / "aws"), str(venv / "bin" / "python")
        cases = [
            Case("a", "aws-cred export --format json", [str(binary), "export", "--format", "json"], base,
                 expect_stdout=ACCESS_KEY),
            Case("a", "aws configure list", [aws, "configure", "list"], base, expect_stdout="shared-credentials-file"),
            Case("a", "python -c 'botocore ... get_credentials()'", [python, "-c", BOTOCORE_ONE_LINER], base,
                 expect_stdout=ACCESS_KEY),
            Case("b", "aws-cred whoami", [str(binary), "whoami"], sts),
            Case("b", "aws sts get-caller-identity", [aws, "sts", "get-caller-identity"], sts,
                 expect_stdout=MOTO_ACCOUNT),
            Case("c", "aws-cred export (chain miss, IMDS blackholed)", [str(binary), "export"], miss,
                 expect_success=False),
            Case("d", "aws-cred export --format json --profile console (valid login cache)",
                 [str(binary), "export", "--format", "json", "--profile", "console"], base,
                 expect_stdout=LOGIN_KEY),
            # EKS tokens: signed from the static profile (--no-cache), then from the token cache
            # (the first checked run fills it), against the AWS CLI's get-token.
            Case("e", "aws-cred token eks --no-cache (static profile)",
                 [str(binary), "token", "eks", "--cluster", "prod", "--region", REGION, "--no-cache"], base,
                 expect_stdout="k8s-aws-v1."),
            Case("e", "aws-cred token eks (cached token)",
                 [str(binary), "token", "eks", "--cluster", "prod", "--region", REGION], base,
                 expect_stdout="k8s-aws-v1."),
            Case("e", "aws eks get-token", [aws, "eks", "get-token", "--cluster-name", "prod", "--region", REGION],
                 base, expect_stdout="k8s-aws-v1."),
        ]

        problems = [p for p in (check_run(c) for c in cases) if p]
        if problems:
            print("commands did not behave as expected:\n" + "\n".join(problems), file=sys.stderr)
            return 1
        print(f"timing {args.runs} runs each (+{args.warmup} warm-up)", file=sys.stderr)
        for case in cases:
            measure(case, args.runs, args.warmup, spawner, work / "result")
    finally:
        stop(moto)
        stop(blackhole)
        shutil.rmtree(work, ignore_errors=True)

    print(table(cases))
    by_name = {c.name: c for c in cases}
    export, configure = by_name["aws-cred export --format json"], by_name["aws configure list"]
    whoami, caller = by_name["aws-cred whoami"], by_name["aws sts get-caller-identity"]
    miss_case = by_name["aws-cred export (chain miss, IMDS blackholed)"]
    login = by_name["aws-cred export --format json --profile console (valid login cache)"]
    eks_static = by_name["aws-cred token eks --no-cache (static profile)"]
    eks_cached = by_name["aws-cred token eks (cached token)"]
    get_token = by_name["aws eks get-token"]
    ours = [c for c in cases if c.argv[0] == str(binary)]
    peak = max(c.peak_mib for c in ours)
    targets = [
        ("export median <= 10 ms", export.median_ms <= 10, f"{export.median_ms:.1f} ms"),
        ("export >= 25x faster than aws configure list", configure.median_ms >= 25 * export.median_ms,
         f"{configure.median_ms / export.median_ms:.1f}x"),
        ("whoami >= 25x faster than aws sts get-caller-identity", caller.median_ms >= 25 * whoami.median_ms,
         f"{caller.median_ms / whoami.median_ms:.1f}x"),
        ("aws-cred peak RSS <= 16 MiB", peak <= 16, f"{peak:.1f} MiB"),
        ("chain miss with blackholed IMDS <= 1.2 s", miss_case.median_ms <= 1200, f"{miss_case.median_ms:.0f} ms"),
        ("export from a valid login cache <= 2x the static profile", login.median_ms <= 2 * export.median_ms,
         f"{login.median_ms / export.median_ms:.2f}x"),
        ("token eks (static profile) >= 50x faster than aws eks get-token",
         get_token.median_ms >= 50 * eks_static.median_ms, f"{get_token.median_ms / eks_static.median_ms:.1f}x"),
        ("token eks (cached) >= 50x faster than aws eks get-token",
         get_token.median_ms >= 50 * eks_cached.median_ms, f"{get_token.median_ms / eks_cached.median_ms:.1f}x"),
        ("token eks (cached) <= 1.5x export", eks_cached.median_ms <= 1.5 * export.median_ms,
         f"{eks_cached.median_ms / export.median_ms:.2f}x"),
    ]
    print()
    for label, ok, value in targets:
        print(f"{'PASS' if ok else 'FAIL'}  {label}  ({value})")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "runs": args.runs,
            "cases": [{"name": c.name, "times_s": c.times, "rss_kib": c.rss_kib} for c in cases],
            "targets": [{"target": t, "pass": ok, "value": v} for t, ok, v in targets],
        }, indent=2))

    if args.no_check:
        return 0
    return 0 if all(ok for _, ok, _ in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
