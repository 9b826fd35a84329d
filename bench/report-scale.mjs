// Prints the tables of `make bench-scale` from what bench/scale.sh recorded: per data set the
// start-up, memory and check figures (medians over the runs), what the large set costs over the
// small one, and the users overview of the large agency.
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
out.push('| data set | grants | start-up s | start-up CPU s | index load s | index MiB | ' +
    'RSS after start MiB | /check req/s | /check CPU µs/req | batch decisions/s | ' +
    'batch CPU µs/decision |');
out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const name of ['small', 'scale']) {
    const s = sets[name];
    const c = figures(`check_${name}`);
    const b = figures(`batch_${name}`);
    out.push(`| ${name === 'small' ? 'small' : 'large'} | ${int(s.grants)} | ` +
        `${(s.startup_ms / 1000).toFixed(2)} | ${(s.startup_cpu_ms / 1000).toFixed(2)} | ` +
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
const first = figures('overview_first');
const deep = figures('overview_deep');
out.push('');
out.push('| users overview, 100,000-member agency (one connection) | req/s | p50 ms | p99 ms |');
out.push('|---|---:|---:|---:|');
out.push(`| first page (50 members by name) | ${int(first.rps)} | ${first.p50.toFixed(2)} | ` +
    `${first.p99.toFixed(2)} |`);
out.push(`| a page 90,000 members in, by cursor | ${int(deep.rps)} | ${deep.p50.toFixed(2)} | ` +
    `${deep.p99.toFixed(2)} |`);
console.log(out.join('\n'));
