#!/usr/bin/env bash
# Install bubblewrap (Debian package `bubblewrap`), the sandbox of the grader (grading/).
# Idempotent: does nothing when `bwrap` is already on the PATH. Needs root (or sudo) for
# apt-get. Then checks that it can create the namespaces the grader uses; if it cannot
# (a container without user namespaces, say), it says so: the grader still runs, with
# resource limits only, and prints a warning (see chapters/instructors.md).
set -euo pipefail
if ! command -v bwrap >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update
    $SUDO apt-get install -y bubblewrap
fi
if bwrap --unshare-all --unshare-user --uid 65534 --gid 65534 --die-with-parent \
        --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib \
        --symlink usr/lib64 /lib64 --proc /proc --dev /dev /bin/true 2>/dev/null; then
    echo "install_bubblewrap: $(command -v bwrap) works (user, PID and network namespaces)"
else
    echo "install_bubblewrap: bwrap is installed but cannot create namespaces here;" \
         "the grader will fall back to resource limits only (and say so)" >&2
fi
