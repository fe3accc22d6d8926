#!/usr/bin/env bash
# `airlock audit` end to end, as TAP: verify OK (exit 0), a tampered copy (exit 1, names
# file:line and seq), a wrong key (exit 1), show --type, keygen files and modes, usage (2).
# The log is the seed of the audit_verify fuzz corpus (segment, "===", checkpoints); its
# public key is the one its "open" record names.
set -u
A=${AIRLOCK_BUILD:?}/airlock
SRC=${AIRLOCK_SRC:?}
tmp=$(mktemp -d /tmp/al_audit_cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); if [[ $1 == 0 ]]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

mkdir -p "$tmp/log"
seed=$SRC/tests/fuzz/corpus/audit_verify/valid.txt
awk 'BEGIN{f=1} /^===$/ {f=0; next} {print > (f ? "'"$tmp"'/log/audit-000001.jsonl" : "'"$tmp"'/log/checkpoints.jsonl")}' "$seed"
grep -o '"key":"[0-9a-f]*"' "$tmp/log/audit-000001.jsonl" | head -1 | cut -d'"' -f4 > "$tmp/log.pub"

out=$("$A" audit verify "$tmp/log" --pub "$tmp/log.pub"); rc=$?
[[ $rc == 0 && $out == OK\ 8\ records\ \(5\ tokens\)* ]]; ok $? "verify an intact log: exit 0, OK with counts"

[[ $("$A" audit show "$tmp/log" --type token | wc -l) == 5 ]]; ok $? "show --type token lists the 5 tokens"
[[ $("$A" audit show "$tmp/log" --json | head -1) == *'"type":"open"'* ]]; ok $? "show --json prints records"

cp -r "$tmp/log" "$tmp/bad"
sed -i '4s/ answer/ answeR/' "$tmp/bad/audit-000001.jsonl"
out=$("$A" audit verify "$tmp/bad" --pub "$tmp/log.pub"); rc=$?
[[ $rc == 1 && $out == "FAIL audit-000001.jsonl:4: seq 4: record modified"* ]]; ok $? "a modified byte: exit 1, file:line and seq named"

"$A" audit keygen --out "$tmp/k" >/dev/null; rc=$?
[[ $rc == 0 && $(stat -c %a "$tmp/k") == 600 && -s $tmp/k.pub ]]; ok $? "keygen writes a 0600 key and a .pub"
"$A" audit keygen --out "$tmp/k" >/dev/null 2>&1
[[ $? == 2 ]]; ok $? "keygen refuses to overwrite a key"

out=$("$A" audit verify "$tmp/log" --pub "$tmp/k.pub"); rc=$?
[[ $rc == 1 && $out == *"another key"* ]]; ok $? "verify with another key: exit 1"

"$A" audit verify "$tmp/log" >/dev/null 2>&1
[[ $? == 2 ]]; ok $? "verify without --pub: usage, exit 2"

echo "1..$n"
