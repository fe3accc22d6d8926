#!/usr/bin/env bash
# `airlock guard` without serving, as TAP: the commented example policy checks OK, a bad
# policy is refused with file:line:col (exit 2), hash-key prints the SHA-256 of the key.
set -u
A=${AIRLOCK_BUILD:?}/airlock
SRC=${AIRLOCK_SRC:?}
tmp=$(mktemp -d /tmp/al_guard_cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); if [[ $1 == 0 ]]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

out=$("$A" guard check --policy "$SRC/examples/guard/policy.yaml"); rc=$?
[[ $rc == 0 && $out == *": OK" ]]; ok $? "examples/guard/policy.yaml checks OK"

printf 'listen: 127.0.0.1:0\nupstream:\n  base_url: http://x/v1\n  retries: 3\n' > "$tmp/bad.yaml"
out=$("$A" guard check --policy "$tmp/bad.yaml" 2>&1); rc=$?
[[ $rc == 2 && $out == *"bad.yaml:4:3: unknown key 'retries' in upstream"* ]]; ok $? "unknown key: exit 2 with file:line:col"

[[ $("$A" guard hash-key sk-test) == $(printf %s sk-test | sha256sum | cut -d' ' -f1) ]]; ok $? "hash-key prints sha256 hex"

"$A" guard >/dev/null 2>&1
[[ $? == 2 ]]; ok $? "no policy: usage, exit 2"
echo "1..$n"
