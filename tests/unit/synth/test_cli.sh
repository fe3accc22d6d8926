#!/bin/sh
# `airlock synth` end to end through the CLI: generate, trace a canary back to its place,
# canary for a prompt, anonymise a CSV, usage errors. Prints TAP.
A="$AIRLOCK_BUILD/airlock"
D=$(mktemp -d /tmp/al-synth-cli-XXXXXX)
trap 'rm -rf "$D"' EXIT
S=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
n=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

"$A" synth --seed 3 --customers 25 --out "$D/a" --locale en_US,de_DE --run-secret $S >"$D/out" 2>&1
ok $? "generate exits 0"
grep -q "25 customers" "$D/out"; ok $? "summary names the customer count"
[ -s "$D/a/synth.sqlite" ] && [ -s "$D/a/customers.jsonl" ] && [ -s "$D/a/canaries.jsonl" ]; ok $? "database, JSONL and manifest written"
line=$(grep '"db:customers:1012:notes"' "$D/a/canaries.jsonl")
tok=$(echo "$line" | sed 's/.*"token":"\([^"]*\)".*/\1/')
grep -q "$tok" "$D/a/customers.jsonl"; ok $? "the notes canary is planted in customer 1012"
place=$("$A" synth trace "$tok" --run-secret $S --dir "$D/a")
[ "$place" = "db:customers:1012:notes" ]; ok $? "trace finds the place ($place)"
low=$(echo "$tok" | tr 'A-Z' 'a-z' | sed 's/-/ /g')
place=$("$A" synth trace "$low" --run-secret $S --dir "$D/a")
[ "$place" = "db:customers:1012:notes" ]; ok $? "trace normalises a disguised token"
"$A" synth trace AL-CANARY-AAAAAAAAAAAAAAAA --run-secret $S --dir "$D/a" 2>/dev/null
[ $? = 1 ]; ok $? "unknown token exits 1"
p1=$("$A" synth canary prompt:support --run-secret $S)
p2=$("$A" synth canary prompt:support --run-secret $S)
[ "$p1" = "$p2" ] && [ ${#p1} = 26 ]; ok $? "prompt canary is stable and 26 characters"
"$A" synth --seed 3 --customers 5 --out "$D/b" >/dev/null 2>&1
[ -s "$D/b/run-secret" ] && [ "$(stat -c %a "$D/b/run-secret")" = 600 ]; ok $? "random secret saved with mode 600"
printf 'name,card,phone\nAnn,4242 4242 4242 4242,(212) 555-0142\n' > "$D/in.csv"
"$A" synth anonymize --in "$D/in.csv" --out "$D/out.csv" --seed 9 >/dev/null
ok $? "anonymize exits 0"
! grep -q "4242 4242 4242 4242\|555-0142" "$D/out.csv"; ok $? "no original value in the output"
head -1 "$D/out.csv" | grep -q '^name,card,phone$'; ok $? "header kept"
"$A" synth --customers 0 --out "$D/c" 2>/dev/null; [ $? = 2 ]; ok $? "bad --customers exits 2"
"$A" synth --customers 2 --out "$D/c" --locale xx_YY 2>"$D/err"; [ $? = 2 ] && grep -q xx_YY "$D/err"; ok $? "unknown locale named in the error"
echo "1..$n"
