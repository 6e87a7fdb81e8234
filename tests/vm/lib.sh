# shellcheck shell=bash
# Shared helpers for the tests/vm scripts; sourced, never run.

VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_REPO_DIR=$(cd "$VM_LIB_DIR/../.." && pwd)
PROG=${PROG:-$(basename "$0")}

die() {
        printf '%s: error: %s\n' "$PROG" "$*" >&2
        exit "${DIE_STATUS:-1}"
}

note() {
        [ "${QUIET:-0}" = 1 ] || printf '%s: %s\n' "$PROG" "$*" >&2
}

usage_error() {
        printf '%s: error: %s (see --help)\n' "$PROG" "$*" >&2
        exit 2
}

# Everything downloaded or built lives here, never in the source tree.
vm_cache_dir() {
        local dir real repo
        dir=${IOMMUD_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommud-vm}
        real=$(realpath -m -- "$dir")
        repo=$(realpath -m -- "$VM_REPO_DIR")
        case "$real/" in
        "$repo"/*) die "cache dir $real is inside the source tree $repo; set IOMMUD_VM_CACHE elsewhere" ;;
        esac
        printf '%s\n' "$real"
}

have_pkg() {
        dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

# Install Debian packages that are missing; `apt-get update` only when the
# install fails with the lists we have (stale or absent).
apt_ensure() {
        local missing=() p
        for p in "$@"; do
                have_pkg "$p" || missing+=("$p")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        [ "$(id -u)" = 0 ] || die "missing packages ${missing[*]}; install them as root (apt-get install ${missing[*]})"
        command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get on this machine"
        note "installing ${missing[*]}"
        local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends)
        if ! "${apt[@]}" install "${missing[@]}" >&2; then
                note "install failed with the current package lists; running apt-get update"
                apt-get -q update >&2 || die "apt-get update failed"
                "${apt[@]}" install "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
        fi
}

# Read the KEY=VALUE lines fetch-kernel prints into KVER, VMLINUZ, MODULES,
# MODULE_EXT, without eval.
load_kernel_env() {
        local line key val
        while IFS= read -r line; do
                key=${line%%=*}
                val=${line#*=}
                case "$key" in
                KVER | VMLINUZ | MODULES | MODULE_EXT | KPKG) printf -v "$key" '%s' "$val" ;;
                esac
        done <<<"$1"
        if [ -z "${KVER:-}" ] || [ ! -f "${VMLINUZ:-}" ] || [ ! -d "${MODULES:-}" ]; then
                die "fetch-kernel gave no usable kernel (KVER/VMLINUZ/MODULES)"
        fi
}
