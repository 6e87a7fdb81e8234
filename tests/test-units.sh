#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The systemd units as built: systemd-analyze verifies them against the built
# iommud and the project's own man pages, their security exposure stays at
# or below MAX_EXPOSURE and every exposure left is explained in iommud(8),
# the hardening that would break /dev/mem or /proc/kcore stays out, and the
# units, sysusers.d groups, example configuration and man pages agree.
#
# test-units.sh --source DIR --service FILE --sockets FILE FILE --sysusers FILE
#               --conf FILE --exec-start PATH --daemon PATH|'' --man PAGE...
set -u

# "systemd-analyze security --offline=true" of iommud.service; lower it
# when the unit gets tighter, never raise it without saying why in
# iommud(8), SECURITY.
MAX_EXPOSURE=2.6

source_dir='' service='' sockets=() sysusers='' conf='' exec_start='' daemon='' man_pages=()
while [ $# -gt 0 ]; do
        case $1 in
        --source) source_dir=$2; shift 2 ;;
        --service) service=$2; shift 2 ;;
        --sockets) sockets=("$2" "$3"); shift 3 ;;
        --sysusers) sysusers=$2; shift 2 ;;
        --conf) conf=$2; shift 2 ;;
        --exec-start) exec_start=$2; shift 2 ;;
        --daemon) daemon=$2; shift 2 ;;
        --man) shift; man_pages=("$@"); break ;;
        *) echo "test-units.sh: unknown argument '$1'" >&2; exit 2 ;;
        esac
done

N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
check() { # check DESCRIPTION COMMAND...: ok when COMMAND succeeds
        local d=$1; shift
        if "$@"; then ok "$d"; else not_ok "$d"; fi
}
note() { sed 's/^/# /'; }
skip_all() { echo "1..0 # SKIP $*"; exit 77; }

command -v systemd-analyze >/dev/null ||
        skip_all "systemd-analyze not found (Debian package systemd; tools/setup installs it)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The value of KEY= in a unit or ini FILE (the last one set).
value() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
# The value of KEY= in the example iommud.conf, set or the commented default.
conf_value() { sed -n "s/^#\?$1=//p" "$conf" | tail -n 1; }

# --- The service as configured ---------------------------------------------
check "iommud.service starts $exec_start" \
        [ "$(value "$service" ExecStart)" = "$exec_start" ]

# --- systemd-analyze verify --------------------------------------------------
# A copy whose ExecStart= is the iommud just built (verify wants an
# executable there), next to the sockets, so Service= and Requires= resolve.
units="$tmp/units"
mkdir "$units"
if [ -n "$daemon" ]; then
        run=$(realpath "$daemon") what="the built iommud"
else
        run=/bin/true what="ExecStart stubbed: this build has no iommud yet"
fi
sed "s|^ExecStart=.*|ExecStart=$run|" "$service" >"$units/iommud.service"
cp "${sockets[@]}" "$units/"

# Documentation=man:... must name the project's own pages.
manpath="$tmp/man"
for page in "${man_pages[@]}"; do
        section=${page##*.}
        mkdir -p "$manpath/man$section"
        cp "$page" "$manpath/man$section/"
done
man_check=--man=yes
if ! command -v man >/dev/null; then
        man_check=--man=no what="$what; Documentation= unchecked: no man (Debian package man-db)"
fi

unit_files=("$units/iommud.service" "$units/$(basename "${sockets[0]}")" "$units/$(basename "${sockets[1]}")")
if out=$(cd "$units" && MANPATH=$manpath systemd-analyze verify $man_check "${unit_files[@]}" 2>&1) &&
        [ -z "$out" ]; then
        ok "systemd-analyze verify passes on the three units ($what)"
else
        not_ok "systemd-analyze verify passes on the three units ($what)"
        printf '%s\n' "$out" | note
fi

# --- systemd-analyze security --------------------------------------------------
security=$(cd "$units" && systemd-analyze security --offline=true iommud.service 2>&1)
score=$(printf '%s\n' "$security" | sed -n 's/.*Overall exposure level for iommud.service: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
        ok "security exposure $score is at most $MAX_EXPOSURE"
else
        not_ok "security exposure ${score:-?} is at most $MAX_EXPOSURE"
fi
# The settings still exposed, with their share of the score.
remaining=$(printf '%s\n' "$security" | grep '^✗' | awk '{ print $2, $NF }')
printf '%s\n' "$remaining" | note

# Each of them is explained in iommud(8), SECURITY: the setting's name, and
# the capability or address family it is about.
security_text=$(sed -n '/^\.SH SECURITY/,/^\.SH /p' "$source_dir/man/iommud.8")
undocumented=()
while read -r name _; do
        [ -n "$name" ] || continue
        for word in "${name%%=*}" $(printf '%s\n' "$name" | grep -o '\(CAP\|AF\)_[A-Z_]\+'); do
                grep -qF -- "$word" <<<"$security_text" || undocumented+=("$name: $word")
        done
done <<<"$remaining"
if [ ${#undocumented[@]} -eq 0 ]; then
        ok "iommud(8) SECURITY explains every remaining exposure"
else
        not_ok "iommud(8) SECURITY explains every remaining exposure"
        printf '%s\n' "${undocumented[@]}" | sed 's/^/# not mentioned: /'
fi

# --- Hardening that would break iommud ----------------------------------------
# PrivateDevices= hides /dev/mem and drops CAP_SYS_RAWIO; ProtectKernelTunables=
# and ProcSubset=pid hide /proc/kcore (the latter /proc/iomem too).
hiding=$(grep -E '^(PrivateDevices|ProtectKernelTunables|ProcSubset)=' "$service")
check "no PrivateDevices=, ProtectKernelTunables= or ProcSubset=" [ -z "$hiding" ]
[ -z "$hiding" ] || printf '%s\n' "$hiding" | note
check "devices /dev/mem (rw) and /dev/kmsg (r) alone, and exactly CAP_SYS_RAWIO CAP_SYS_ADMIN CAP_SYSLOG" \
        [ "$(sed -n 's/^DeviceAllow=//p' "$service" | sort | tr '\n' ,)" = "/dev/kmsg r,/dev/mem rw," -a \
        "$(value "$service" CapabilityBoundingSet)" = "CAP_SYS_RAWIO CAP_SYS_ADMIN CAP_SYSLOG" ]
check "Type=notify with a watchdog" \
        [ "$(value "$service" Type)" = notify -a -n "$(value "$service" WatchdogSec)" ]

# --- The sockets, the daemon and the clients agree ----------------------------
unix_socket="$units/iommud.socket" http_socket="$units/iommud-http.socket"
default_socket=$(sed -n 's/^#define PROTOCOL_DEFAULT_SOCKET "\(.*\)"$/\1/p' "$source_dir/src/shared/protocol.h")
check "iommud.socket listens on PROTOCOL_DEFAULT_SOCKET ($default_socket)" \
        [ -n "$default_socket" -a "$(value "$unix_socket" ListenStream)" = "$default_socket" ]
check "the sockets' FileDescriptorName= are iommud.socket and iommud-http.socket" \
        [ "$(value "$unix_socket" FileDescriptorName)" = iommud.socket -a \
        "$(value "$http_socket" FileDescriptorName)" = iommud-http.socket ]
check "both sockets activate iommud.service" \
        [ "$(value "$unix_socket" Service)" = iommud.service -a \
        "$(value "$http_socket" Service)" = iommud.service ]
http=$(value "$http_socket" ListenStream)
check "iommud-http.socket and ListenHTTP= of iommud.conf agree ($http, loopback)" \
        [ "$http" = "$(conf_value ListenHTTP)" -a "${http%%:*}" = 127.0.0.1 ]
check "iommud(8) and iommud.conf(5) name the HTTP port ${http##*:}" \
        grep -q "${http##*:}" "$source_dir/man/iommud.8" "$source_dir/man/iommud.conf.5"

# --- sysusers.d ------------------------------------------------------------------
# The groups it creates are the socket's and the configuration's.
if command -v systemd-sysusers >/dev/null; then
        mkdir -p "$tmp/root/etc" "$tmp/root/usr/lib/sysusers.d"
        cp "$sysusers" "$tmp/root/usr/lib/sysusers.d/iommud.conf"
        # Quiet but for "Creating group ..." lines.
        if out=$(systemd-sysusers --root="$tmp/root" 2>&1) && ! grep -qv '^Creating ' <<<"$out"; then
                ok "systemd-sysusers accepts sysusers.d/iommud.conf"
        else
                not_ok "systemd-sysusers accepts sysusers.d/iommud.conf"
                printf '%s\n' "$out" | note
        fi
        groups=$(cut -d: -f1 "$tmp/root/etc/group" 2>/dev/null)
else
        ok "systemd-sysusers accepts sysusers.d/iommud.conf # SKIP systemd-sysusers not found"
        groups=$(awk '$1 == "g" { print $2 }' "$sysusers")
fi
missing=()
for g in "$(value "$unix_socket" SocketGroup)" "$(conf_value AdminGroup)"; do
        grep -qx -- "$g" <<<"$groups" || missing+=("${g:-(none)}")
done
check "SocketGroup= and AdminGroup= are groups sysusers.d/iommud.conf creates" \
        [ ${#missing[@]} -eq 0 ]
[ ${#missing[@]} -eq 0 ] || printf '# not created: %s\n' "${missing[@]}"

# --- iommud.conf and iommud.conf(5) ---------------------------------------------
undocumented=()
while read -r key; do
        grep -q "^\.B[IR]\? $key=" "$source_dir/man/iommud.conf.5" || undocumented+=("$key=")
done < <(sed -n 's/^#\?\([A-Z][A-Za-z]*\)=.*/\1/p' "$conf")
check "iommud.conf(5) documents every key of the example iommud.conf" \
        [ ${#undocumented[@]} -eq 0 ]
[ ${#undocumented[@]} -eq 0 ] || printf '# not documented: %s\n' "${undocumented[@]}"

# ... and every key the daemon reads (its table in src/daemon/conf.c), each
# also in the example.
daemon_keys="$source_dir/src/daemon/conf.c"
if [ -f "$daemon_keys" ]; then
        undocumented=()
        while read -r key; do
                grep -q "^\.B[IR]\? $key=" "$source_dir/man/iommud.conf.5" &&
                        grep -q "^#\?$key=" "$conf" || undocumented+=("$key=")
        done < <(sed -n 's/^ *\(KEY\|CHOICE\|ENTRIES\)("[A-Za-z]*", "\([A-Za-z]*\)".*/\2/p' "$daemon_keys")
        check "iommud.conf(5) and the example iommud.conf have every key of src/daemon/conf.c" \
                [ ${#undocumented[@]} -eq 0 ]
        [ ${#undocumented[@]} -eq 0 ] || printf '# missing: %s\n' "${undocumented[@]}"
else
        ok "iommud.conf(5) and the example iommud.conf have every key of src/daemon/conf.c # SKIP no src/daemon/conf.c"
fi

echo "1..$N"
[ "$FAILED" = 0 ]
