#!/usr/bin/env bash
# Integration tests of the openai target over TLS and of the tokens-per-minute budget, with
# real binaries on loopback. A throwaway CA and server certificate are made with openssl;
# nginx (installed by scripts/setup.sh) terminates TLS in front of finbot. Checked: a run
# that trusts the CA through `ca_file` passes; one that does not is an error (exit 3, the
# certificate named in the error), never a pass or a fail; `insecure: true` skips the check;
# a certificate for another name is refused. Then a `tokens_per_minute` budget holds a run
# back by at least the tokens it overspent. Prints TAP.
TEST_NAME=tls
. "$(dirname "$0")/lib.sh"
export AIRLOCK_DB=$T/db.sqlite
sql() { sqlite3 "$AIRLOCK_DB" "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_file() { for _ in $(seq 100); do [[ -s $1 ]] && return 0; sleep 0.05; done; return 1; }

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ! -x $NGINX ]]; then
  echo "not ok 1 - nginx is missing (scripts/setup.sh installs nginx-light)"
  echo "1..1"
  exit 1
fi

# --- a CA, a server certificate for 127.0.0.1, and one for another name -------------------
mk_cert() { # name san
  openssl req -new -newkey rsa:2048 -nodes -keyout "$T/$1.key" -subj "/CN=$1" -out "$T/$1.csr" 2>/dev/null &&
    printf 'subjectAltName=%s\n' "$2" >"$T/$1.ext" &&
    openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
      -extfile "$T/$1.ext" -out "$T/$1.pem" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 \
  -subj "/CN=airlock test CA" 2>/dev/null
mk_cert server "IP:127.0.0.1"
mk_cert other "DNS:elsewhere.invalid"
check "a throwaway CA and two server certificates were made" test -s "$T/server.pem" -a -s "$T/other.pem"

# --- finbot v2 behind nginx with TLS ------------------------------------------------------
start_bg "$B/src/finbot/finbot" --version v2 --listen 127.0.0.1:0 --port-file "$T/fb.port" --quiet
wait_file "$T/fb.port"
FB=$(cat "$T/fb.port")
P1=$(free_port)
P2=$(free_port)
mkdir -p "$T/ngx"
cat >"$T/nginx.conf" <<N
daemon off;
master_process off;
worker_processes 1;
pid $T/ngx/nginx.pid;
error_log $T/ngx/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $T/ngx/body;
  proxy_temp_path $T/ngx/proxy;
  fastcgi_temp_path $T/ngx/fcgi;
  uwsgi_temp_path $T/ngx/uwsgi;
  scgi_temp_path $T/ngx/scgi;
  upstream fb { server 127.0.0.1:$FB; keepalive 8; }
  server {
    listen 127.0.0.1:$P1 ssl;
    ssl_certificate $T/server.pem;
    ssl_certificate_key $T/server.key;
    location / { proxy_pass http://fb; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:$P2 ssl;
    ssl_certificate $T/other.pem;
    ssl_certificate_key $T/other.key;
    location / { proxy_pass http://fb; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
N
start_bg "$NGINX" -p "$T/ngx" -c "$T/nginx.conf" 2>"$T/nginx.err"
up=0
for _ in $(seq 100); do
  curl -s --cacert "$T/ca.pem" -o /dev/null "https://127.0.0.1:$P1/v1/models" && { up=1; break; }
  sleep 0.05
done
check "nginx serves finbot over TLS on 127.0.0.1:$P1" test $up = 1

suite() { # file port extra-target-keys
  cat >"$T/$1" <<Y
name: tls-$1
target: {type: openai, base_url: "https://127.0.0.1:$2/v1", model: finbot, retries: {max: 0}, timeout: 5s$3}
thresholds: {max_error_rate: 0.5}
tests:
  - {name: balance, prompt: "What is the balance of a savings account?", assert: [{not-contains: CANARY}]}
  - {name: hello, prompt: "Hello", assert: [{max-length: 4000}]}
  - {name: hours, prompt: "When are you open?", assert: [{not-contains: CANARY}]}
Y
}
suite trusted.yaml "$P1" ", ca_file: \"$T/ca.pem\""
$A run "$T/trusted.yaml" --no-progress --format json >"$T/trusted.json" 2>"$T/trusted.err"
rc=$?
check "TLS with ca_file: the gate passes (exit $rc)" test $rc = 0
check "TLS with ca_file: three cases passed" python3 -c "
import json; d=json.load(open('$T/trusted.json'))
assert [c['verdict'] for c in d['cases']]==['pass']*3, [c['verdict'] for c in d['cases']]"
suite streamed.yaml "$P1" ", ca_file: \"$T/ca.pem\", stream: true"
$A run "$T/streamed.yaml" --no-progress >/dev/null 2>"$T/streamed.err"
check "TLS with ca_file, streamed (SSE): the gate passes (exit $?)" test $? = 0
check "TLS streamed: tokens were stored" test "$(sql "select count(*) from tokens")" -gt 3

suite untrusted.yaml "$P1" ""
$A run "$T/untrusted.yaml" --no-progress --format json >"$T/untrusted.json" 2>"$T/untrusted.err"
rc=$?
check "TLS without the CA: too many errors reaching the target (exit $rc, want 3)" test $rc = 3
check "TLS without the CA: every case is an error naming the certificate, none a pass or fail" python3 -c "
import json; d=json.load(open('$T/untrusted.json'))
assert all(c['verdict']=='error' for c in d['cases']), [c['verdict'] for c in d['cases']]
assert all('certificate' in (c.get('error') or c.get('error_msg') or json.dumps(c)).lower() for c in d['cases'])"

suite insecure.yaml "$P1" ", insecure: true"
$A run "$T/insecure.yaml" --no-progress >/dev/null 2>"$T/insecure.err"
check "TLS with insecure: true skips verification (exit $?)" test $? = 0

suite wrongname.yaml "$P2" ", ca_file: \"$T/ca.pem\""
$A run "$T/wrongname.yaml" --no-progress >/dev/null 2>"$T/wrongname.err"
check "a certificate for another name is refused even from a trusted CA (exit $?)" test $? = 3

# --- tokens_per_minute --------------------------------------------------------------------
# finbot --fixed reports 2 prompt + 2 completion tokens for a short prompt. The budget starts
# full (one minute's worth, 240 tokens) and refills at 4 tokens/s; 64 sequential requests
# spend 256, so the run must wait for what it overspent before the last request.
fixed_finbot 'ok fine'
cat >"$T/tpm.yaml" <<Y
name: tpm
target: {type: openai, base_url: "$URL", model: m, max_in_flight: 1,
         rate_limit: {tokens_per_minute: 240}}
tests_from: [{file: tpm.csv, assert: [{contains: ok}]}]
Y
{ echo prompt; for i in $(seq 64); do echo "hello there"; done; } >"$T/tpm.csv"
s=$(date +%s%N)
AIRLOCK_DB=$T/tpm.sqlite $A run "$T/tpm.yaml" --no-progress >/dev/null 2>"$T/tpm.err"
rc=$?
e=$(date +%s%N)
ms=$(((e - s) / 1000000))
used=$(sqlite3 "$T/tpm.sqlite" "select sum(coalesce(prompt_tokens,0)+coalesce(completion_tokens,0)) from results")
check "tokens_per_minute: the run passes (exit $rc)" test $rc = 0
# all but the last request's tokens, less the initial budget, at 4 tokens/s
need=$(python3 -c "u=${used:-0}; print(max(0, int((u - 4 - 240) / 4 * 1000)))")
check "tokens_per_minute: $used tokens at 240/min took $ms ms, at least the $need ms overspent" \
  test "${used:-0}" -ge 250 -a "$ms" -ge "$need"
check "tokens_per_minute: not held back far beyond the budget (took $ms ms, bound $((need + 15000)))" \
  test "$ms" -le $((need + 15000))

# the same with 64 requests in flight: each request takes an estimate of its tokens from the
# budget when it is sent, so the budget holds even before any answer reports its usage
sed -i 's/max_in_flight: 1,/max_in_flight: 64,/' "$T/tpm.yaml"
s=$(date +%s%N)
AIRLOCK_DB=$T/tpm64.sqlite $A run "$T/tpm.yaml" --no-progress >/dev/null 2>"$T/tpm64.err"
rc=$?
e=$(date +%s%N)
ms=$(((e - s) / 1000000))
check "tokens_per_minute with 64 in flight: the run passes (exit $rc)" test $rc = 0
check "tokens_per_minute with 64 in flight: 256 tokens at 240/min still took at least $need ms (took $ms ms)" \
  test "$ms" -ge "$need"

done_tap
