#!/usr/bin/env bash
# Make a Docker Engine available on this machine for the docker runtime's tests, offline.
#
#   bash scripts/ci/container-engine.sh      (as root; idempotent; safe to run again)
#
# 1. installs Debian's docker.io and debootstrap with apt-get when dockerd is missing;
# 2. starts dockerd in the background when nothing answers on its socket. It runs with
#    --iptables=false --ip-forward=false --ip-masq=false: the engine leaves the host's firewall
#    and forwarding alone, and containers reach nothing but the host and each other;
#    published ports still work through docker-proxy on 127.0.0.1;
# 3. builds the base image nasiko/python-base:bookworm WITHOUT an image registry: debootstrap
#    (Debian's package mirror) into a folder, a venv at /opt/venv so `python` and `pip` behave
#    as in the python:*-slim images, then `docker import`. The root filesystem tarball is cached
#    in $NASIKO_ENGINE_CACHE (default /var/cache/nasiko), so later runs only import it.
#
# The last line printed is `DOCKER_HOST=...`: the value clients should use.
# Exits non-zero with a message saying what failed.
set -euo pipefail

CACHE_DIR="${NASIKO_ENGINE_CACHE:-/var/cache/nasiko}"
BASE_IMAGE="${NASIKO_BASE_IMAGE:-nasiko/python-base:bookworm}"
SOCKET="${NASIKO_DOCKER_SOCKET:-/var/run/docker.sock}"
LOG_DIR="${NASIKO_ENGINE_LOG_DIR:-/var/log/nasiko}"
MIRROR="${NASIKO_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
RECIPE=1 # bump when the base image recipe below changes: invalidates the cached tarball
TARBALL="$CACHE_DIR/python-base-bookworm-r$RECIPE.tar"
export DOCKER_HOST="unix://$SOCKET"

say() { printf '[container-engine] %s\n' "$*"; }
die() {
    printf '[container-engine] ERROR: %s\n' "$*" >&2
    exit 1
}
started=$(date +%s)

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts dockerd)"

# ---------------------------------------------------------------- 1. packages
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" ca-certificates >/dev/null ||
        die "apt-get install ${missing[*]} failed"
else
    say "dockerd and debootstrap already installed"
fi
command -v docker >/dev/null 2>&1 || die "no docker client on PATH after installing docker.io"

# ---------------------------------------------------------------- 2. the engine
engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

alive() { # a pid that runs (a zombie left by a killed daemon does not count)
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

start_dockerd() { # $1 = storage driver
    local pidfile=/var/run/docker.pid containerd_pid=/var/run/docker/containerd/containerd.pid
    # A dockerd killed with the previous session leaves its pid files behind: dockerd refuses to
    # start, and waits for a containerd that is gone.
    if [ -f "$pidfile" ]; then
        if alive "$(cat "$pidfile")"; then
            die "dockerd (pid $(cat "$pidfile")) runs but does not answer on $SOCKET; stop it first"
        fi
        rm -f "$pidfile"
    fi
    if [ -f "$containerd_pid" ] && ! alive "$(cat "$containerd_pid")"; then
        rm -f "$containerd_pid" /var/run/docker/containerd/containerd.sock \
            /var/run/docker/containerd/containerd.sock.ttrpc
    fi
    [ -S "$SOCKET" ] && rm -f "$SOCKET"
    mkdir -p "$LOG_DIR"
    log_offset=$(stat -c %s "$LOG_DIR/dockerd.log" 2>/dev/null || echo 0)
    say "starting dockerd (storage driver $1), log in $LOG_DIR/dockerd.log"
    setsid nohup dockerd \
        --host "unix://$SOCKET" \
        --storage-driver "$1" \
        --iptables=false --ip-forward=false --ip-masq=false \
        --log-level warn \
        >>"$LOG_DIR/dockerd.log" 2>&1 </dev/null &
    local i
    for i in $(seq 1 60); do
        engine_up && return 0
        alive $! || return 1
        sleep 0.5
    done
    return 1
}

if engine_up; then
    say "engine already answers on $DOCKER_HOST"
else
    if ! start_dockerd overlay2; then
        new_log=$(tail -c +"$((log_offset + 1))" "$LOG_DIR/dockerd.log" 2>/dev/null | tail -n 20)
        # Only a filesystem without overlay support is worth the (slow, disk-hungry) vfs driver.
        if ! grep -qi overlay <<<"$new_log"; then
            die "dockerd did not start; its last log lines:
$new_log"
        fi
        say "dockerd cannot use overlay2 here; trying vfs"
        pid=$(cat /var/run/docker.pid 2>/dev/null || true)
        if [ -n "$pid" ] && alive "$pid"; then
            kill "$pid" && sleep 2
        fi
        start_dockerd vfs || die "dockerd did not start with vfs either; its last log lines:
$(tail -n 20 "$LOG_DIR/dockerd.log" 2>/dev/null)"
    fi
fi
say "engine: $(docker version --format 'Docker Engine {{.Server.Version}}, API {{.Server.APIVersion}}')"

# ---------------------------------------------------------------- 3. the base image
if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    say "base image $BASE_IMAGE already present"
else
    mkdir -p "$CACHE_DIR"
    if [ ! -s "$TARBALL" ]; then
        rootfs="$CACHE_DIR/rootfs-build"
        rm -rf "$rootfs"
        say "debootstrap bookworm (minbase + python3, python3-venv) from $MIRROR into $rootfs"
        t0=$(date +%s)
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
            bookworm "$rootfs" "$MIRROR" >"$LOG_DIR/debootstrap.log" 2>&1 ||
            die "debootstrap failed; see $LOG_DIR/debootstrap.log:
$(tail -n 20 "$LOG_DIR/debootstrap.log")"
        # python:*-slim images put `python` and `pip` first on PATH and let pip install into
        # the image; Debian's python3 forbids that (PEP 668). A venv gives the same behaviour.
        chroot "$rootfs" /usr/bin/python3 -m venv /opt/venv ||
            die "creating /opt/venv inside the root filesystem failed"
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
            "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
        tar -C "$rootfs" --numeric-owner -cf "$TARBALL.tmp" . || die "packing $rootfs failed"
        mv "$TARBALL.tmp" "$TARBALL"
        rm -rf "$rootfs"
        say "root filesystem built in $(($(date +%s) - t0))s, cached as $TARBALL"
    else
        say "using cached root filesystem $TARBALL"
    fi
    docker import \
        --change 'ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV VIRTUAL_ENV=/opt/venv' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        "$TARBALL" "$BASE_IMAGE" >/dev/null || die "docker import of $TARBALL failed"
    say "imported $BASE_IMAGE"
fi
docker run --rm --network none "$BASE_IMAGE" python -c 'import sys, venv; print(sys.version)' \
    >/dev/null 2>&1 || die "$BASE_IMAGE does not run python; remove $TARBALL and run again"

say "ready in $(($(date +%s) - started))s"
echo "DOCKER_HOST=$DOCKER_HOST"
