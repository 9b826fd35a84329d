#!/usr/bin/env bash
# Checks that every module under src/ includes only headers of modules in lower layers, as the
# layer table in docs/ARCHITECTURE.md says (the table between the "layers:begin" and
# "layers:end" markers: one row per layer, highest first, modules separated by commas). A
# module may include its own headers; everything else must point strictly down. Prints each
# offending include and exits 1 when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A level=()
n=0
while IFS= read -r line; do
    # "| 6 | cli |" -> layer 6 holds cli
    layer=$(echo "$line" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }')
    mods=$(echo "$line" | awk -F'|' '{ gsub(/ /, "", $3); print $3 }')
    [[ "$layer" =~ ^[0-9]+$ ]] || continue
    IFS=',' read -ra list <<<"$mods"
    for m in "${list[@]}"; do
        level[$m]=$layer
        n=$((n + 1))
    done
done < <(sed -n '/layers:begin/,/layers:end/p' docs/ARCHITECTURE.md)

if [ "$n" -eq 0 ]; then
    echo "no layer table between layers:begin and layers:end in docs/ARCHITECTURE.md"
    exit 1
fi

bad=0
for dir in src/*/; do
    mod=$(basename "$dir")
    if [ -z "${level[$mod]:-}" ]; then
        echo "src/$mod is in no layer of docs/ARCHITECTURE.md"
        bad=1
        continue
    fi
    while IFS= read -r hit; do
        file=${hit%%:*}
        rest=${hit#*:}
        lineno=${rest%%:*}
        target=$(echo "$hit" | sed -E 's/.*#include "([a-z_]+)\/.*/\1/')
        [ "$target" = "$mod" ] && continue
        if [ -z "${level[$target]:-}" ]; then
            echo "$file:$lineno: includes $target/, which is in no layer"
            bad=1
        elif [ "${level[$target]}" -ge "${level[$mod]}" ]; then
            echo "$file:$lineno: $mod (layer ${level[$mod]}) includes $target/ (layer ${level[$target]}): dependencies point down"
            bad=1
        fi
    done < <(grep -nE '^#include "[a-z_]+/' -r "$dir" --include='*.c' --include='*.h' || true)
done
exit $bad
