// Prints the tables of `make bench-scale` from what bench/scale.sh recorded: per data set and
// database the start-up, memory and check figures (medians over the runs), what the large set
// costs over the small one, PostgreSQL against SQLite, and the users overview of the large
// agency.
//
// Usage: node report-scale.mjs SCALE.jsonl RESULTS.jsonl
import { readFileSync } from 'node:fs';

const [scalePath, resultsPath] = process.argv.slice(2);
const lines = (p) => readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const sets = Object.fromEntries(lines(scalePath).map((s) => [s.set, s]));
const runs = lines(resultsPath);

const median = (values) => {
    const s = [...values].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const figures = (target) => {
    const rs = runs.filter((r) => r.target === target);
    const per = rs.map((r) => ({
        rps: r.wrk.requests / (r.wrk.duration_us / 1e6),
        cpu: ((r.cpu_ticks / r.clk_tck) * 1e6) / r.wrk.requests,
        p50: r.wrk.p50_us / 1000,
        p99: r.wrk.p99_us / 1000,
        per: r.per_request,
    }));
    const pick = (k) => median(per.map((x) => x[k]));
    return { rps: pick('rps'), cpu: pick('cpu'), p50: pick('p50'), p99: pick('p99'), per: per[0].per };
};

const int = (x) => Math.round(x).toLocaleString('en-US');
const MiB = (kb) => (kb / 1024).toFixed(1);
const out = [];
out.push('| data set | database | grants | start-up s | start-up CPU s | PostgreSQL CPU s | ' +
    'index load s | index MiB | RSS after start MiB | /check req/s | /check CPU µs/req | ' +
    'batch decisions/s | batch CPU µs/decision |');
out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
const names = { small: 'small', scale: 'large', small_pg: 'small', scale_pg: 'large' };
for (const name of ['small', 'scale', 'small_pg', 'scale_pg']) {
    const s = sets[name];
    if (!s) continue;
    const isPg = name.endsWith('_pg');
    const c = figures(`check_${name}`);
    const b = figures(`batch_${name}`);
    out.push(`| ${names[name]} | ${isPg ? 'PostgreSQL' : 'SQLite'} | ${int(s.grants)} | ` +
        `${(s.startup_ms / 1000).toFixed(2)} | ${(s.startup_cpu_ms / 1000).toFixed(2)} | ` +
        `${isPg ? (s.db_cpu_ms / 1000).toFixed(2) : '–'} | ` +
        `${(s.load_ms / 1000).toFixed(2)} | ` +
        `${(s.index_bytes / 1048576).toFixed(1)} | ${MiB(s.rss_start_kb)} | ${int(c.rps)} | ` +
        `${c.cpu.toFixed(1)} | ${int(b.rps * b.per)} | ${(b.cpu / b.per).toFixed(2)} |`);
}
const small = sets.small;
const large = sets.scale;
const extraGrants = large.grants - small.grants;
const perGrant = ((large.rss_start_kb - small.rss_start_kb) * 1024) / extraGrants;
const base = small.rss_start_kb * 1024 - perGrant * small.grants;
const cpuSmall = figures('check_small').cpu;
const cpuLarge = figures('check_scale').cpu;
out.push('');
out.push(`- /check CPU per request at ${int(large.grants)} grants (runs alternating with the ` +
    `small set's): ` +
    `${((cpuLarge / cpuSmall - 1) * 100).toFixed(1)}% over the small set ` +
    `(${cpuLarge.toFixed(1)} against ${cpuSmall.toFixed(1)} µs).`);
const largeEnd = sets.scale_end;
out.push(`- Memory: ${perGrant.toFixed(0)} bytes of RSS per grant over a fixed base of ` +
    `${(base / 1048576).toFixed(1)} MiB; the index itself holds ` +
    `${(large.index_bytes / large.grants).toFixed(0)} bytes per grant (users, places and ids ` +
    `included). Peak RSS of the large server: ${MiB(large.hwm_kb)} MiB at start, ` +
    `${MiB(largeEnd.hwm_kb)} MiB after every run.`);
const largePg = sets.scale_pg;
if (largePg) {
    const seed = sets.scale_pg_seed;
    const loads = (s) => s.load_runs_ms.map((x) => (x / 1000).toFixed(2)).join(', ');
    out.push(`- Start-up index load at ${int(largePg.grants)} grants, PostgreSQL against SQLite ` +
        `(starts alternating): ${(largePg.load_ms / 1000).toFixed(2)} s against ` +
        `${(large.load_ms / 1000).toFixed(2)} s, ${(largePg.load_ms / large.load_ms).toFixed(2)}× ` +
        `(each start: ${loads(largePg)} s against ${loads(large)} s); whole start-up ` +
        `${(largePg.startup_ms / large.startup_ms).toFixed(2)}×. CPU: usher ` +
        `${(largePg.startup_cpu_ms / 1000).toFixed(2)} s and PostgreSQL ` +
        `${(largePg.db_cpu_ms / 1000).toFixed(2)} s, against usher on SQLite ` +
        `${(large.startup_cpu_ms / 1000).toFixed(2)} s.`);
    const cpuPg = figures('check_scale_pg').cpu;
    out.push(`- /check CPU per request at ${int(large.grants)} grants, PostgreSQL against SQLite: ` +
        `${cpuPg.toFixed(1)} against ${cpuLarge.toFixed(1)} µs ` +
        `(${(cpuPg / cpuLarge).toFixed(2)}×).`);
    if (seed) {
        out.push(`- Seeding the large set into PostgreSQL (COPY, one transaction): ` +
            `${(seed.seed_ms / 1000).toFixed(1)} s.`);
    }
}
out.push('');
out.push('| users overview, 100,000-member agency (one connection) | database | req/s | p50 ms | ' +
    'p99 ms |');
out.push('|---|---|---:|---:|---:|');
for (const [suffix, db] of [['', 'SQLite'], ['_pg', 'PostgreSQL']]) {
    if (!runs.some((r) => r.target === `overview_first${suffix}`)) continue;
    const first = figures(`overview_first${suffix}`);
    const deep = figures(`overview_deep${suffix}`);
    out.push(`| first page (50 members by name) | ${db} | ${int(first.rps)} | ` +
        `${first.p50.toFixed(2)} | ${first.p99.toFixed(2)} |`);
    out.push(`| a page 90,000 members in, by cursor | ${db} | ${int(deep.rps)} | ` +
        `${deep.p50.toFixed(2)} | ${deep.p99.toFixed(2)} |`);
}
console.log(out.join('\n'));
