#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The bash completion of iommuctl, driven the way bash drives it: COMP_WORDS
# split at the word breaks ':' and '=' as readline splits them, the function
# called, COMPREPLY compared.
#
# test-completion.sh COMPLETION-FILE IOMMUCTL SNAPSHOT
# (SNAPSHOT: a snapshot of a machine with one unit, dmar0)
set -u
completion=$1 iommuctl=$2 snapshot=$3

N=0 FAILED=0
skip_all() { echo "1..0 # SKIP $*"; exit 77; }

bash_completion=''
for f in "$(pkg-config --variable=datadir bash-completion 2>/dev/null)/bash-completion/bash_completion" \
        /usr/share/bash-completion/bash_completion; do
        [ -f "$f" ] && { bash_completion=$f; break; }
done
[ -n "$bash_completion" ] ||
        skip_all "bash-completion is not installed (Debian package bash-completion; tools/setup installs it)"
# shellcheck disable=SC1090
. "$bash_completion"
# shellcheck disable=SC1090
. "$completion"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root/sys/bus/pci/devices" "$tmp/cwd/subdir"
for d in 0000:00:03.0 0000:00:1f.2 0001:02:00.0; do
        mkdir "$tmp/root/sys/bus/pci/devices/$d"
done
touch "$tmp/cwd/host.iommu"
cd "$tmp/cwd" || exit 1

# offer LINE: what <TAB> at the end of LINE offers, sorted, on one line.
offer() {
        local line=$1 w rest
        COMP_LINE=$line COMP_POINT=${#line} COMP_WORDS=()
        for w in $line; do
                rest=$w
                while [[ $rest =~ ^([^:=]*)([:=])(.*)$ ]]; do
                        [ -n "${BASH_REMATCH[1]}" ] && COMP_WORDS+=("${BASH_REMATCH[1]}")
                        COMP_WORDS+=("${BASH_REMATCH[2]}")
                        rest=${BASH_REMATCH[3]}
                done
                [ -n "$rest" ] && COMP_WORDS+=("$rest")
        done
        [[ $line == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _iommuctl iommuctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
        printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}

# is LINE EXPECTED: <TAB> offers exactly EXPECTED (sorted, space-separated).
is() {
        local got
        got=$(offer "$iommuctl $1")
        N=$((N + 1))
        if [ "$got" = "$2" ]; then
                echo "ok $N - '$1' offers ${2:-nothing}"
        else
                echo "not ok $N - '$1' offers ${2:-nothing}"
                echo "# got: ${got:-nothing}"
                FAILED=$((FAILED + 1))
        fi
}

# has LINE WORD... / lacks LINE WORD...: the offer includes / excludes each WORD.
has() { contains yes "$@"; }
lacks() { contains no "$@"; }
contains() {
        local want=$1 line=$2 got w bad=()
        shift 2
        got=" $(offer "$iommuctl $line") "
        for w in "$@"; do
                if [[ $got == *" $w "* ]]; then
                        [ "$want" = yes ] || bad+=("$w")
                else
                        [ "$want" = no ] || bad+=("$w")
                fi
        done
        N=$((N + 1))
        local what="offers"
        [ "$want" = yes ] || what="does not offer"
        if [ ${#bad[@]} -eq 0 ]; then
                echo "ok $N - '$line' $what $*"
        else
                echo "not ok $N - '$line' $what $*"
                echo "# wrong: ${bad[*]}; got:$got"
                FAILED=$((FAILED + 1))
        fi
}

N=$((N + 1))
if [[ $(complete -p iommuctl 2>&1) == "complete -F _iommuctl iommuctl" ]]; then
        echo "ok $N - the file registers _iommuctl for iommuctl"
else
        echo "not ok $N - the file registers _iommuctl for iommuctl"
        FAILED=$((FAILED + 1))
fi
is '' 'attach decode detach devices dmar domain domains faults info invalidate map mappings power snapshot unmap'
is 'd' 'decode detach devices dmar domain domains'
is 'ma' 'map mappings'
is 'mapp' 'mappings'
has '-' -j --json -p --pretty --socket --direct --snapshot --sysroot -h --help --version
lacks '-' --device --file --follow
has 'mappings --' --device --domain --pasid --json
lacks 'mappings --' --file --follow --clear
has 'mapp --d' --device --domain --direct
is 'dmar --f' '--file'
is 'faults --' '--clear --direct --follow --help --json --output --pretty --snapshot --socket --sysroot --version'
lacks 'info --' --device --file --follow
is 'mappings --domain ' ''

# BDFs, below --sysroot; ':' is a word break, so only the rest of the word
# after the last ':' is offered, as readline inserts it.
is "--sysroot $tmp/root mappings --device " '0000:00:03.0 0000:00:1f.2 0001:02:00.0 00:03.0 00:1f.2'
is "--sysroot=$tmp/root mappings --device 00" '0000:00:03.0 0000:00:1f.2 0001:02:00.0 00:03.0 00:1f.2'
is "--sysroot=$tmp/root mappings --device 0000" '0000:00:03.0 0000:00:1f.2'
is "--sysroot $tmp/root mappings --device 0000:00:1" '1f.2'
is "mappings --sysroot $tmp/root --device 0001:0" '02:00.0'

# Register names, from iommuctl decode itself.
has 'decode ' ver cap ecap gsts fsts frcd root context sm-context pasid ss-pte fs-pte irte
is 'decode ecm' 'ecmd'
is 'decode cap ' ''
is 'decode cap 0x1 ' ''

# Columns for --output, from iommuctl itself, the last after a comma, in
# the case typed; sub-verbs, by prefix too.
is 'devices --output ' 'BDF CLASS DOMAIN DRIVER GROUP ID NAME TRANSLATION UNIT help'
is 'devices -o d' 'domain driver'
is 'devices --output=bdf,d' 'bdf,domain bdf,driver'
is 'dev --output BDF,T' 'BDF,TRANSLATION'
is 'faults --output=+t' '+time'
is 'mappings --output p' 'page perm physical'
has 'domains -' --output -o
lacks 'info -' --output -o
lacks 'decode --' --output
is 'snap' 'snapshot'
is 'snapshot s' 'save'
is 'snap sa ' 'host.iommu subdir'
is 'mappings --output iova ' ''

# The completion knows every command of iommuctl --help and each one's
# options.
commands=$("$iommuctl" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]\+\).*/\1/p' | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//')
is '' "$commands"
while IFS=$'\t' read -r cmd opts; do
        # shellcheck disable=SC2086
        [ -n "$opts" ] && has "$cmd --" $opts
done < <("$iommuctl" --help | sed -n '/^Commands:/,/^$/p' | grep '^  [a-z]' |
        sed 's/  \{2,\}.*//; s/^  //' |
        awk '{ c = $1; for (i = 2; i <= NF && $i ~ /^[a-z]+$/; i++) c = c " " $i
               o = ""; for (i = 1; i <= NF; i++) if ($i ~ /^\[--/) o = o " " substr($i, 2); gsub(/\]/, "", o); print c "\t" o }')

# The commands that change state: sub-verbs, domain types, options by
# sub-verb, BDFs, units from iommuctl info.
is 'power ' 'off on'
is 'domain ' 'create destroy'
is 'invalidate ' 'domain global page'
is 'inv p' 'page'
is 'domain create --type ' 'blocked identity paging passthrough'
is 'dom cr --type p' 'paging passthrough'
is 'domain create --id ' ''
has 'domain create --' --unit --type --id --socket
lacks 'domain destroy --' --type --id
lacks 'domain --' --type --id
has 'invalidate page 1 0x1000 --' --order --unit
lacks 'invalidate global --' --order
is 'invalidate page 1 0x1000 --order ' ''
has 'map 1 0x1000 --' --alloc --read --write --unit
lacks 'unmap --' --alloc --read --write --order
lacks 'attach --' --unit --alloc
is "--sysroot $tmp/root attach " '0000:00:03.0 0000:00:1f.2 0001:02:00.0 00:03.0 00:1f.2'
is "--sysroot $tmp/root detach 0000:00:1" '1f.2'
is "--sysroot $tmp/root attach 00:03.0 " ''
is "--snapshot $snapshot power on --unit " 'dmar0'
is "--snapshot=$snapshot map 1 0 --alloc 0x1000 --unit d" 'dmar0'
is "--sysroot $tmp/root power on --unit " ''

# Files.
is 'snapshot ' 'save'
is 'snapshot save ' 'host.iommu subdir'
is 'snapshot save host.iommu ' ''
is '--snapshot ' 'host.iommu subdir'
is '--snapshot=h' 'host.iommu'
is 'dmar --file h' 'host.iommu'
is '--sysroot s' 'subdir'

echo "1..$N"
[ "$FAILED" = 0 ]
