#!/usr/bin/env bash
# Build the repository's Dockerfile and run the image until GET /readyz answers 200, then stop it
# and remove everything it made (docs/deployment.md, "Checked here").
#
# No Docker engine and no container registry are needed: Debian's buildah builds the image on a
# local Debian bookworm base made with mmdebstrap from Debian's mirrors (the Dockerfile's
# BASE_IMAGE build argument; its default, python:3.11-slim-bookworm, is for normal builds), and
# Debian's podman runs it. Everything lives in a storage root of its own under the work dir, so the
# machine's own podman images and containers are never touched; only the base tarball (for the
# next run) and the last build's log are kept.
#
#   sudo deploy/check-image.sh                 # from the repository root (needs root and apt)
#   sudo deploy/check-image.sh --install       # first apt-get install buildah podman mmdebstrap runc curl
#
# Options:
#   --install          apt-get install the tools that are missing (otherwise: say which, exit 2)
#   --ca-bundle FILE   trust FILE during the build's pip installs (for a network whose HTTPS goes
#                      through an intercepting proxy that only the host trusts); not put in the image
#   --fresh-base       make the base tarball again even if one is cached
#   --port N           the loopback port to publish 8787 on (default: a free one)
#   --timeout S        how long to wait for /readyz (default 120)
#   --keep             leave the image, the container and the storage root (to look at them)
#   --clean            remove what a --keep run left, and exit
#   --verbose          print the build's output as it goes (it is always in the work dir's build.log)
# Environment: RECORDKIT_CHECK_DIR (work dir, default /var/tmp/recordkit-check),
# RECORDKIT_CHECK_MIRROR (Debian mirror, default http://deb.debian.org), RECORDKIT_CHECK_STORAGE_DRIVER
# (overlay, or vfs where overlay mounts are not allowed), RECORDKIT_CHECK_CA_BUNDLE (as --ca-bundle).
#
# Not part of the pytest suite: it needs root, apt and minutes. tests/unit/test_deployment_files.py
# checks the files themselves.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${RECORDKIT_CHECK_DIR:-/var/tmp/recordkit-check}
MIRROR=${RECORDKIT_CHECK_MIRROR:-http://deb.debian.org}
DRIVER=${RECORDKIT_CHECK_STORAGE_DRIVER:-overlay}
CA_BUNDLE=${RECORDKIT_CHECK_CA_BUNDLE:-}
SUITE=bookworm
BASE_TAR="$WORK/base-$SUITE.tar"
BASE_IMAGE="localhost/recordkit-base:$SUITE"
IMAGE="localhost/recordkit:check"
CONTAINER="recordkit-check-$$"
VOLUME="recordkit-check-data-$$"
INSTALL=0 FRESH_BASE=0 KEEP=0 CLEAN=0 VERBOSE=0 PORT=0 TIMEOUT=120

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

needs_value() { (($# >= 2)) || { echo "check-image: $1 needs a value (see --help)" >&2; exit 2; }; }
while (($#)); do
    case $1 in
        --install) INSTALL=1 ;;
        --ca-bundle) needs_value "$@"; CA_BUNDLE=$2; shift ;;
        --fresh-base) FRESH_BASE=1 ;;
        --port) needs_value "$@"; PORT=$2; shift ;;
        --timeout) needs_value "$@"; TIMEOUT=$2; shift ;;
        --keep) KEEP=1 ;;
        --clean) CLEAN=1 ;;
        --verbose) VERBOSE=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "check-image: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# fd 3 is the script's own stdout, so that a command shown by run() is seen even when its output
# is sent elsewhere (run podman ... >/dev/null).
exec 3>&1
say() { printf '== %s\n' "$*"; }
fail() { printf 'check-image: %s\n' "$*" >&2; exit 1; }
# Print a command, then run it.
show() {
    local out="+" arg
    for arg; do [[ $arg =~ [[:space:]] ]] && out+=" '$arg'" || out+=" $arg"; done
    printf '%s\n' "$out" >&3
}
run() { show "$@"; "$@"; }
# podman 4.3 asks systemd for a healthcheck timer even with --health-interval disable, and logs an
# error when there is no systemd; the rest of its stderr is shown.
no_timer_noise() { "$@" 2> >(grep -v 'systemd connection' >&2); }
elapsed() { echo "$((SECONDS - $1))s"; }

[[ $PORT =~ ^[0-9]+$ ]] || fail "--port must be a number, not '$PORT'"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || fail "--timeout must be a number of seconds, not '$TIMEOUT'"
[[ -z $CA_BUNDLE || -r $CA_BUNDLE ]] || fail "--ca-bundle: cannot read '$CA_BUNDLE'"
((EUID == 0)) || fail "run it as root (mmdebstrap, buildah and podman here run rootful)"
[[ -f $ROOT/Dockerfile ]] || fail "no Dockerfile at $ROOT"

# --- tools -------------------------------------------------------------------------------------
need=()
for tool in buildah:buildah podman:podman mmdebstrap:mmdebstrap runc:runc curl:curl python3:python3; do
    command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if ((${#need[@]})); then
    if ((INSTALL)); then
        run apt-get update -q
        DEBIAN_FRONTEND=noninteractive run apt-get install -y -q "${need[@]}"
    else
        fail "missing: ${need[*]} (apt-get install -y ${need[*]}, or run with --install)"
    fi
fi

# --- flags that work on a root shell in a VM or a CI sandbox -----------------------------------
# A storage root of our own (cleaned up whole). runc, not crun: crun refuses a host with both cgroup
# hierarchies mounted ("cgroups in hybrid mode not supported"), runc does not. cgroupfs and a file
# for events: there is no systemd to ask. Explicit ulimits: podman's defaults (nofile 1048576, ...)
# are above this shell's hard limits, and raising them needs CAP_SYS_RESOURCE, which a sandbox may
# not grant ("setrlimit RLIMIT_NOFILE: Operation not permitted").
STORE=(--root "$WORK/storage" --runroot "$WORK/run" --storage-driver "$DRIVER")
LIBPOD=(--tmpdir "$WORK/run/libpod")
NOFILE=$(ulimit -Hn)
[[ $NOFILE == unlimited ]] && NOFILE=65536
((NOFILE > 65536)) && NOFILE=65536
ULIMITS=(--ulimit "nofile=$NOFILE:$NOFILE" --ulimit nproc=4096:4096)
PODMAN=(podman "${STORE[@]}" "${LIBPOD[@]}" --runtime runc --cgroup-manager cgroupfs --events-backend file)
# chroot isolation: the build's RUN steps need no OCI runtime, cgroups or network namespace; they
# use the host's network (apt to Debian's mirrors, pip to PyPI).
BUILDAH=(buildah "${STORE[@]}")
# Docker's image format, not OCI's: OCI image configs have no HEALTHCHECK, and compose's
# `service_healthy` needs it.
BUILD_FLAGS=(--format docker --isolation chroot --network host --cgroup-manager cgroupfs "${ULIMITS[@]}")

mkdir -p "$WORK"
START=$SECONDS

cleanup() {
    local rc=$?
    if ((KEEP)); then
        say "kept (--keep): container $CONTAINER, image $IMAGE; storage: ${STORE[*]}"
        return
    fi
    say "cleaning up"
    "${PODMAN[@]}" rm -f -t 5 "$CONTAINER" >/dev/null 2>&1 || true
    "${PODMAN[@]}" volume rm -f "$VOLUME" >/dev/null 2>&1 || true
    "${PODMAN[@]}" rm -a -f >/dev/null 2>&1 || true
    "${BUILDAH[@]}" rm --all >/dev/null 2>&1 || true
    "${PODMAN[@]}" rmi -a -f >/dev/null 2>&1 || true
    # What is still mounted under our storage root (nothing, normally), then the root itself.
    findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | xargs -r umount -l 2>/dev/null || true
    rm -rf "$WORK/storage" "$WORK/run" "$WORK/build-extra"
    echo "removed the container, its volume, the images and $WORK/storage (kept $BASE_TAR and $WORK/build.log)"
    exit "$rc"
}
trap cleanup EXIT
((CLEAN)) && exit 0

say "RecordKit image check: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -srm)"
echo "   $(buildah --version); $(podman --version); mmdebstrap $(mmdebstrap --version | awk '{print $2}'); $(runc --version | head -1)"
echo "   repository: $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout'))"

# --- 1. the base image -------------------------------------------------------------------------
t=$SECONDS
if ((FRESH_BASE)) || [[ ! -s $BASE_TAR ]]; then
    say "1/4 base: Debian $SUITE with python3 and python3-venv, from $MIRROR (mmdebstrap)"
    run mmdebstrap --quiet --format=tar --variant=apt --include=python3,python3-venv,ca-certificates,passwd \
        "$SUITE" "$BASE_TAR.part" \
        "deb $MIRROR/debian $SUITE main" \
        "deb $MIRROR/debian $SUITE-updates main" \
        "deb $MIRROR/debian-security $SUITE-security main"
    mv "$BASE_TAR.part" "$BASE_TAR"
else
    say "1/4 base: reusing $BASE_TAR from $(date -u -r "$BASE_TAR" +%Y-%m-%d) (--fresh-base to make it again)"
fi
run "${PODMAN[@]}" import --quiet "$BASE_TAR" "$BASE_IMAGE" >/dev/null
echo "   $BASE_IMAGE: $("${PODMAN[@]}" image inspect --format '{{.Size}}' "$BASE_IMAGE" | numfmt --to=si)B, $(elapsed "$t")"

# --- 2. the build ------------------------------------------------------------------------------
t=$SECONDS
say "2/4 build: $ROOT/Dockerfile with BASE_IMAGE=$BASE_IMAGE (buildah)"
extra=()
if [[ -n $CA_BUNDLE ]]; then
    # Only the build's RUN steps see these two files (bind mounts, not layers).
    mkdir -p "$WORK/build-extra"
    printf '[global]\ncert = /run/recordkit-build/ca.crt\n' >"$WORK/build-extra/pip.conf"
    extra=(--volume "$(readlink -f "$CA_BUNDLE"):/run/recordkit-build/ca.crt:ro"
        --volume "$WORK/build-extra/pip.conf:/etc/pip.conf:ro")
    echo "   pip trusts $CA_BUNDLE during the build (--ca-bundle)"
fi
build=("${BUILDAH[@]}" build "${BUILD_FLAGS[@]}" "${extra[@]}" --build-arg "BASE_IMAGE=$BASE_IMAGE"
    --tag "$IMAGE" --file "$ROOT/Dockerfile" "$ROOT")
show "${build[@]}"
if ((VERBOSE)); then
    "${build[@]}" 2>&1 | tee "$WORK/build.log"
else
    "${build[@]}" >"$WORK/build.log" 2>&1 || {
        tail -n 40 "$WORK/build.log" >&2
        if [[ -z $CA_BUNDLE ]] && grep -q CERTIFICATE_VERIFY_FAILED "$WORK/build.log"; then
            echo "check-image: pip could not verify PyPI's certificate; if this network's HTTPS goes" \
                "through a proxy that the host trusts, try --ca-bundle /etc/ssl/certs/ca-certificates.crt" >&2
        fi
        fail "the build failed (all of it: $WORK/build.log)"
    }
fi
grep -E '^STEP [0-9]+/[0-9]+' "$WORK/build.log" | sed 's/^/   /' || true
size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")
user=$("${PODMAN[@]}" image inspect --format '{{.Config.User}}' "$IMAGE")
echo "   $IMAGE: $(numfmt --to=si "$size")B ($size bytes), user $user, $(elapsed "$t")"
[[ $user =~ ^[0-9]+(:[0-9]+)?$ ]] || fail "the image's USER is '$user', not numeric"

# --- 3. run it ---------------------------------------------------------------------------------
t=$SECONDS
if ((PORT == 0)); then
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
say "3/4 run: $IMAGE, port 8787 published on 127.0.0.1:$PORT only (podman)"
# As deploy/kubernetes.yaml runs it: no capabilities, no privilege escalation.
run "${PODMAN[@]}" volume create "$VOLUME" >/dev/null
no_timer_noise run "${PODMAN[@]}" run -d --name "$CONTAINER" "${ULIMITS[@]}" \
    --cap-drop ALL --security-opt no-new-privileges --health-interval disable \
    -p "127.0.0.1:$PORT:8787" -v "$VOLUME:/data" \
    -e "RECORDKIT_PUBLIC_URL=http://127.0.0.1:$PORT" "$IMAGE" >/dev/null

# --- 4. wait for /readyz -----------------------------------------------------------------------
say "4/4 GET http://127.0.0.1:$PORT/readyz until 200 (at most ${TIMEOUT}s)"
code=000 body=""
deadline=$((SECONDS + TIMEOUT))
while ((SECONDS < deadline)); do
    state=$("${PODMAN[@]}" inspect --format '{{.State.Status}}' "$CONTAINER")
    if [[ $state != running ]]; then
        "${PODMAN[@]}" logs "$CONTAINER" 2>&1 | tail -n 40 >&2
        fail "the container stopped ($state) before /readyz answered 200"
    fi
    body=$(curl -s --max-time 3 -w '\n%{http_code}' "http://127.0.0.1:$PORT/readyz" || true)
    code=${body##*$'\n'}
    body=${body%$'\n'*}
    [[ $code == 200 ]] && break
    sleep 1
done
if [[ $code != 200 ]]; then
    "${PODMAN[@]}" logs "$CONTAINER" 2>&1 | tail -n 40 >&2
    fail "/readyz answered ${code:-nothing} after ${TIMEOUT}s: $body"
fi
echo "   /readyz answered $code after $(elapsed "$t"): $body"
echo "   /livez answered $(curl -s --max-time 3 "http://127.0.0.1:$PORT/livez")"
# The Dockerfile's HEALTHCHECK command, run once (--health-interval disable: no systemd for a timer).
if "${PODMAN[@]}" healthcheck run "$CONTAINER" >/dev/null 2>&1; then
    echo "   the image's HEALTHCHECK: healthy"
else
    fail "the image's HEALTHCHECK failed ($("${PODMAN[@]}" healthcheck run "$CONTAINER" 2>&1 | tail -n 1))"
fi
# shellcheck disable=SC2016  # expanded in the container
echo "   in the container: $("${PODMAN[@]}" exec "$CONTAINER" sh -c \
    'echo "uid:gid $(id -u):$(id -g)"; echo "/data $(stat -c "%u:%g %a" /data), holds: $(ls /data | tr "\n" " ")"; recordkit doctor --port 8799 | grep -E "ffmpeg|data_dir|ready"; recordkit --version 2>/dev/null || true')" \
    | sed '2,$s/^/   /'
# Its server lines only: the first start also prints the new account's token.
echo "   its log (granian's lines):"
"${PODMAN[@]}" logs "$CONTAINER" 2>&1 | grep -E '^\[(INFO|WARNING|ERROR)\]' | head -n 6 | sed 's/^/     /'
no_timer_noise run "${PODMAN[@]}" stop -t 10 "$CONTAINER" >/dev/null
say "OK: built, ran, /readyz 200; image $(numfmt --to=si "$size")B; $(elapsed "$START") in all"
