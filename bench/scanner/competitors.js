// Run a competitor PII detector over the benchmark corpus and write its findings.
//   node competitors.js openredaction|guardrails CORPUS OUT.jsonl
// Prints {"tool","bytes","wall_s","cpu_s","mb_per_s","findings"}. Only the detection
// calls are timed (module loading and file reading are not). The corpus is handed over in
// pieces of ~PIECE bytes (env, default 4096: prompt-sized) cut at newlines (planted values never span lines); offsets are mapped
// back. openredaction reports positions; guardrails' public check reports the detected
// values per entity only, so its findings carry no offsets.
'use strict';
const fs = require('fs');
const [tool, corpusPath, outPath] = process.argv.slice(2);
const text = fs.readFileSync(corpusPath, 'latin1');
const PIECE = Number(process.env.PIECE || 4096);
const pieces = [];
for (let at = 0; at < text.length;) {
  let end = Math.min(text.length, at + PIECE);
  if (end < text.length) {
    const nl = text.indexOf('\n', end);
    end = nl < 0 ? text.length : nl + 1;
  }
  pieces.push([at, text.slice(at, end)]);
  at = end;
}
const out = [];

async function main() {
  let seconds = 0, cpu = 0;
  if (tool === 'openredaction') {
    const { OpenRedaction } = require('@openredaction/openredaction');
    // The same task as the other tools: the six entity kinds planted in the corpus. With
    // all 558 default patterns it runs at ~0.07 MB/s and reports every word as a username.
    const shield = new OpenRedaction({ patterns: ['EMAIL', 'PHONE_US', 'PHONE_INTERNATIONAL',
      'SSN', 'CREDIT_CARD', 'IBAN', 'IPV4'], includeNames: false, includeAddresses: false });
    const t0 = process.hrtime.bigint();
    const u0 = process.cpuUsage();
    for (const [base, piece] of pieces) {
      const r = shield.detect(piece);
      for (const d of r.detections || []) {
        out.push({ type: d.type, start: base + d.position[0], end: base + d.position[1], value: d.value });
      }
    }
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const u = process.cpuUsage(u0);
    cpu = (u.user + u.system) / 1e6;
  } else if (tool === 'guardrails') {
    const { pii } = require('@openai/guardrails/dist/checks/pii.js');
    const config = { entities: ['CREDIT_CARD', 'EMAIL_ADDRESS', 'IBAN_CODE', 'IP_ADDRESS',
      'PHONE_NUMBER', 'US_SSN'], block: false, detect_encoded_pii: false };
    const t0 = process.hrtime.bigint();
    const u0 = process.cpuUsage();
    for (const [, piece] of pieces) {
      const r = await pii({}, piece, config);
      const ents = r.info.detected_entities || {};
      for (const type of Object.keys(ents)) for (const value of ents[type]) out.push({ type, value });
    }
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const u = process.cpuUsage(u0);
    cpu = (u.user + u.system) / 1e6;
  } else {
    throw new Error('unknown tool ' + tool);
  }
  fs.writeFileSync(outPath, out.map((o) => JSON.stringify(o)).join('\n') + '\n');
  // mb_per_s: per CPU second of the process (includes V8's GC threads, as for a user)
  console.log(JSON.stringify({ tool, bytes: text.length, wall_s: +seconds.toFixed(3),
    cpu_s: +cpu.toFixed(3), mb_per_s: +(text.length / 1e6 / cpu).toFixed(2),
    findings: out.length }));
}
main().catch((e) => { console.error(e); process.exit(1); });
