// Prints the tables of `make bench` from the JSON lines bench/run.sh recorded: per target the
// median over its runs of each figure, then the ratios usher/Cerbos and usher/ceiling, usher on
// PostgreSQL against usher on SQLite (decisions and writes), then the sign-in storm.
//
// Usage: node report.mjs RESULTS.jsonl [STORM.json]
import { existsSync, readFileSync } from 'node:fs';

const [resultsPath, stormPath] = process.argv.slice(2);
const runs = readFileSync(resultsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

const median = (values) => {
    const s = [...values].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const labels = {
    ceiling: 'ceiling: bare libmicrohttpd, 100-byte POST',
    ceiling_headers: 'ceiling with usher\'s response headers',
    usher: 'usher POST /check',
    usher_batch: 'usher POST /check/batch (100 checks)',
    usher_pg: 'usher on PostgreSQL POST /check',
    usher_pg_batch: 'usher on PostgreSQL POST /check/batch (100 checks)',
    cerbos: 'Cerbos /api/check/resources (1 resource)',
    cerbos_batch: 'Cerbos /api/check/resources (10 resources)',
};

const writeLabels = {
    invite: 'invitation create (POST /agencies/{id}/invitations)',
    grants: 'grant replace (PUT /agencies/{id}/users/{id}/grants)',
};

const figures = {};
const targets = [...Object.keys(labels)];
for (const w of Object.keys(writeLabels)) targets.push(`${w}_sqlite`, `${w}_pg`);
for (const target of targets) {
    const rs = runs.filter((r) => r.target === target);
    if (rs.length === 0) continue;
    const perRun = rs.map((r) => {
        const seconds = r.wrk.duration_us / 1e6;
        const rps = r.wrk.requests / seconds;
        return {
            rps,
            dps: rps * r.per_request,
            p50: r.wrk.p50_us / 1000,
            p99: r.wrk.p99_us / 1000,
            cpu: ((r.cpu_ticks / r.clk_tck) * 1e6) / r.wrk.requests,
            dbCpu: (((r.db_cpu_ticks ?? 0) / r.clk_tck) * 1e6) / r.wrk.requests,
            rss: r.rss_kb / 1024,
        };
    });
    const pick = (k) => median(perRun.map((x) => x[k]));
    figures[target] = {
        runs: rs.length,
        rps: pick('rps'),
        dps: pick('dps'),
        p50: pick('p50'),
        p99: pick('p99'),
        cpu: pick('cpu'),
        dbCpu: pick('dbCpu'),
        rss: pick('rss'),
    };
}

const int = (x) => Math.round(x).toLocaleString('en-US');
const fixed = (x, d) => x.toFixed(d);
const lines = [];
lines.push('| target | req/s | decisions/s | p50 ms | p99 ms | server CPU µs/req | RSS MiB |');
lines.push('|---|---:|---:|---:|---:|---:|---:|');
for (const [target, f] of Object.entries(figures)) {
    if (!labels[target]) continue;
    const isCeiling = target.startsWith('ceiling');
    lines.push(`| ${labels[target]} | ${int(f.rps)} | ${isCeiling ? '–' : int(f.dps)} | ` +
        `${fixed(f.p50, 2)} | ${fixed(f.p99, 2)} | ${fixed(f.cpu, 1)} | ${fixed(f.rss, 1)} |`);
}
const ratio = (a, b, k) => (figures[a] && figures[b] ? `${fixed(figures[a][k] / figures[b][k], 1)}×` : 'n/a');
const ratio2 = (a, b, k) => (figures[a] && figures[b] ? `${fixed(figures[a][k] / figures[b][k], 2)}×` : 'n/a');
lines.push('');
lines.push('| ratio | value |');
lines.push('|---|---:|');
lines.push(`| usher /check ÷ Cerbos single, req/s | ${ratio('usher', 'cerbos', 'rps')} |`);
lines.push(`| usher /check/batch ÷ Cerbos batch, decisions/s | ${ratio('usher_batch', 'cerbos_batch', 'dps')} |`);
lines.push(`| usher /check ÷ ceiling, req/s | ${ratio2('usher', 'ceiling', 'rps')} |`);
lines.push(`| usher /check ÷ ceiling, CPU per request | ${ratio2('usher', 'ceiling', 'cpu')} |`);
lines.push(`| usher /check ÷ ceiling with usher's headers, req/s | ` +
    `${ratio2('usher', 'ceiling_headers', 'rps')} |`);
lines.push(`| usher on PostgreSQL ÷ on SQLite, /check req/s | ${ratio2('usher_pg', 'usher', 'rps')} |`);
lines.push(`| usher on PostgreSQL ÷ on SQLite, /check server CPU per request | ` +
    `${ratio2('usher_pg', 'usher', 'cpu')} |`);
lines.push(`| usher on PostgreSQL ÷ on SQLite, /check/batch decisions/s | ` +
    `${ratio2('usher_pg_batch', 'usher_batch', 'dps')} |`);
if (figures.usher_pg) {
    lines.push('');
    lines.push(`While usher on PostgreSQL answered /check the PostgreSQL server used ` +
        `${fixed(figures.usher_pg.dbCpu, 2)} µs of CPU per request (the change feed's poll; ` +
        `decisions never reach the database).`);
}

const writes = Object.keys(writeLabels).filter((w) => figures[`${w}_sqlite`] && figures[`${w}_pg`]);
if (writes.length) {
    const first = runs.find((r) => r.target === `${writes[0]}_sqlite`);
    lines.push('');
    lines.push(`| write (${first.connections} connections) | SQLite writes/s | PostgreSQL writes/s | ` +
        'PostgreSQL ÷ SQLite | SQLite p50 ms | PostgreSQL p50 ms | usher CPU µs/write, SQLite | ' +
        'usher CPU µs/write, PostgreSQL | PostgreSQL server CPU µs/write |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const w of writes) {
        const a = figures[`${w}_sqlite`];
        const b = figures[`${w}_pg`];
        lines.push(`| ${writeLabels[w]} | ${int(a.rps)} | ${int(b.rps)} | ${fixed(b.rps / a.rps, 2)}× | ` +
            `${fixed(a.p50, 2)} | ${fixed(b.p50, 2)} | ${fixed(a.cpu, 0)} | ${fixed(b.cpu, 0)} | ` +
            `${fixed(b.dbCpu, 0)} |`);
    }
}

if (stormPath && existsSync(stormPath)) {
    const s = JSON.parse(readFileSync(stormPath, 'utf8'));
    const seconds = s.wrk.duration_us / 1e6;
    const ok = s.wrk.requests - s.wrk.errors_status;
    const MiB = (kb) => fixed(kb / 1024, 1);
    const growth = (s.peak_kb - s.connected_kb) / 1024;
    const bound = s.workers * 19;
    lines.push('');
    lines.push(`Sign-in storm, ${s.connections} connections for ${fixed(seconds, 0)} s: ` +
        `${int(ok / seconds)} sign-ins/s, ${int(s.wrk.errors_status)} answered busy, ` +
        `p50 ${fixed(s.wrk.p50_us / 1000, 0)} ms. Peak memory: ${MiB(s.idle_kb)} MiB idle, ` +
        `${MiB(s.connected_kb)} MiB with ${s.connections} connections open, ` +
        `${MiB(s.peak_kb)} MiB in the storm: +${fixed(growth, 1)} MiB, against the hashing ` +
        `pool's ${s.workers} × 19 MiB = ${bound} MiB of argon2id memory ` +
        `(${fixed(growth - bound, 1)} MiB besides: sessions written, the database's page cache).`);
}
console.log(lines.join('\n'));
