# The two guard policies bench/proxy measures, shared by run.sh and counts.sh (sourced):
# plain (client auth, no detectors) and all (every detector on input and output, the audit
# log without fsync). write_policies DIR BASE_URL KEY_SHA256 writes DIR/plain.yaml and
# DIR/all.yaml (the audit key is DIR/audit.key, made by the caller).
write_policies() {
  local dir=$1 base=$2 sha=$3
  cat > "$dir/plain.yaml" <<YAML
listen: 127.0.0.1:0
upstream: {base_url: "$base", max_connections: 64}
clients: [{name: bench, key_sha256: $sha}]
YAML
  cat > "$dir/all.yaml" <<YAML
listen: 127.0.0.1:0
upstream: {base_url: "$base", max_connections: 64}
clients: [{name: bench, key_sha256: $sha}]
audit: {dir: $dir/audit, key: $dir/audit.key, fsync: none}
scan: {canaries: ["AIRLOCK-CANARY-BENCH"]}
input:
  - {detectors: [pii], action: redact, reversible: true}
  - {detectors: [secret, canary], action: block}
output:
  - {detectors: [secret, canary], action: block}
  - {detectors: [pii], action: redact}
YAML
}
