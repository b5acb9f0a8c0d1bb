// Summarise bench/compare.sh's JSON lines into one Markdown table: the median
// of each figure over the runs, its spread (min-max) and the ratio between
// the two servers.
//   node bench/table.mjs results.jsonl "<machine>" "<switchboard rev>" "<node versions>" <smoke 0|1> "<setup>"
import { readFileSync } from 'node:fs';

const [file, machine, sbRev, nodeVer, smoke, setup] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
const rows = lines.map((l) => JSON.parse(l));

// bench, label, unit, which way is better, how to read the figure from a result
const FIGURES = [
  ['relay', 'relay 20k msgs/s: one-way p50', 'ms', 'lower', (r) => r.oneway_p50_ms],
  ['relay', 'relay 20k msgs/s: one-way p99', 'ms', 'lower', (r) => r.oneway_p99_ms],
  ['relay', 'relay 20k msgs/s: server CPU per relayed message', 'us', 'lower', (r) => r.server_cpu_ms_per_1k_msgs],
  ['relay', 'relay 20k msgs/s: messages not delivered', '', 'lower', (r) => r.undelivered],
  ['relaycpu', 'relay 3k msgs/s: server CPU per relayed message', 'us', 'lower', (r) => r.server_cpu_ms_per_1k_msgs],
  ['relaycpu', 'relay 3k msgs/s: one-way p99', 'ms', 'lower', (r) => r.oneway_p99_ms],
  ['sweep', 'highest relay rate with p99 <= 5 ms', 'msgs/s', 'higher', (r) => r.max_rate_meeting_target ?? 0],
  ['storm', 'authenticated connects/s (kept open)', '/s', 'higher', (r) => r.connects_per_s],
  ['storm', 'connect p99', 'ms', 'lower', (r) => r.connect_p99_ms],
  ['storm', 'server CPU per connect', 'us', 'lower', (r) => r.server_cpu_ms_per_1k_connects],
  ['idle', 'idle RSS per authenticated socket in a room', 'KiB', 'lower', (r) => r.server_rss_per_socket_kib],
  ['fanout', 'fan-out: join to last of the receivers (median)', 'ms', 'lower', (r) => r.sizes?.[0]?.join_to_last_receiver_ms_median],
  ['fanout', 'fan-out: server CPU per delivery', 'us', 'lower', (r) => r.sizes?.[0]?.server_cpu_ms_per_1k_deliveries],
  ['fanout', 'fan-out: deliveries/s while fanning out', '/s', 'higher', (r) => r.sizes?.[0]?.deliveries_per_s],
];

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x) => {
  if (x == null || Number.isNaN(x)) return 'n/a';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
};
const cell = (v) => {
  if (!v.length) return 'not run';
  const m = median(v);
  const spread = v.length > 1 ? ` (${fmt(Math.min(...v))}-${fmt(Math.max(...v))})` : '';
  return `${fmt(m)}${spread}`;
};

const values = (server, bench, get) =>
  rows
    .filter((r) => r.server === server && r.bench === bench)
    .map((r) => get(r.result))
    .filter((x) => typeof x === 'number' && Number.isFinite(x));

const out = [];
out.push(`Switchboard ${sbRev} vs ${nodeVer}${smoke === '1' ? ' (SMOKE sizes: not figures)' : ''}`);
out.push(`Machine: ${machine}; ${setup}`);
const loads = rows.flatMap((r) => [r.load_before, r.load_after]).filter((x) => typeof x === 'number');
const runq = rows.map((r) => r.result.server_runq_wait_pct).filter((x) => typeof x === 'number');
out.push(
  `Load while measuring: 1-minute load average ${fmt(Math.min(...loads))}-${fmt(Math.max(...loads))}` +
    (runq.length ? `; server run-queue wait up to ${fmt(Math.max(...runq))} % of the time` : ''),
);
out.push('');
out.push('| figure | Switchboard: median (min-max) | Node socket.io: median (min-max) | Switchboard / Node | better by |');
out.push('| --- | --- | --- | --- | --- |');
const benches = new Set(rows.map((r) => r.bench));
for (const [bench, label, unit, better, get] of FIGURES) {
  if (!benches.has(bench)) continue;
  const sb = values('switchboard', bench, get);
  const nd = values('node', bench, get);
  let ratio = 'n/a';
  let by = 'n/a';
  if (sb.length && nd.length) {
    const s = median(sb);
    const n = median(nd);
    if (n !== 0) ratio = fmt(s / n);
    const f = better === 'higher' ? (n ? s / n : Infinity) : s ? n / s : Infinity;
    if (Number.isFinite(f)) by = `${fmt(f)}x`;
  }
  const u = unit ? ` (${unit})` : '';
  out.push(`| ${label}${u} | ${cell(sb)} | ${cell(nd)} | ${ratio} | ${by} |`);
}
const problems = rows.filter((r) => r.result.ok === false);
if (problems.length) {
  out.push('');
  out.push('Runs that reported problems:');
  for (const r of problems) {
    out.push(`- ${r.bench} / ${r.server} / run ${r.run}: ${(r.result.problems || []).join('; ')}`);
  }
}
console.log(out.join('\n'));
// A smoke run (CI) fails when a scenario reported a problem against Switchboard.
if (smoke === '1' && problems.some((r) => r.server === 'switchboard')) process.exit(1);
