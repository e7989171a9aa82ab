#!/bin/bash
# relay_next.fbs = relay.fbs in namespace relay.schema_next, plus Domain.numa_node and
# Domain.balloon (a new table BalloonState), both "since_minor 2".
set -euo pipefail
in="$1"
out="$2"
anchor='  tsc_frequency_khz: ulong;      // the guest'"'"'s TSC frequency'
grep -qF "$anchor" "$in" || { echo "make_next_schema.sh: Domain's last field moved; update the anchor" >&2; exit 1; }
sed -e 's/^namespace relay\.schema;$/namespace relay.schema_next;/' \
    -e "/^  tsc_frequency_khz: ulong;      \/\/ the guest's TSC frequency$/a\\
  numa_node: uint (since_minor: \"2\");\\
  balloon: BalloonState (since_minor: \"2\");" \
    -e 's/^root_type HostState;$/table BalloonState {\n  target_kib: ulong;\n  current_kib: ulong;\n}\n\nroot_type HostState;/' \
    "$in" >"$out"
grep -q 'numa_node' "$out" && grep -q 'table BalloonState' "$out" && grep -q 'namespace relay.schema_next;' "$out"
