// Asks usher and Cerbos the same questions and checks that they agree, so the two peers in the
// table answer the same policy. Questions are the first COUNT lines of the mixes the seed wrote
// (line i of usher.jsonl and line i of cerbos.jsonl are one question); usher's batch endpoint
// is checked against its single one on the same lines.
//
// Usage: node verify.mjs MIX_DIR USHER_URL CERBOS_URL [COUNT]   (token in USHER_TOKEN)
import { readFileSync } from 'node:fs';

const [mixDir, usherUrl, cerbosUrl, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 2000);
const token = process.env.USHER_TOKEN;
if (!mixDir || !usherUrl || !cerbosUrl || !token) {
    console.error('usage: USHER_TOKEN=... node verify.mjs MIX_DIR USHER_URL CERBOS_URL [COUNT]');
    process.exit(2);
}

const lines = (name) => readFileSync(`${mixDir}/${name}`, 'utf8').split('\n').slice(0, count);
const usherQuestions = lines('usher.jsonl');
const cerbosQuestions = lines('cerbos.jsonl');

async function post(url, body, headers = {}) {
    const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body,
    });
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
    return res.json();
}

const usherAuth = { Authorization: `Bearer ${token}` };
let allowed = 0;
let disagreements = 0;
const single = [];
for (let i = 0; i < usherQuestions.length; i++) {
    const u = await post(`${usherUrl}/api/v1/check`, usherQuestions[i], usherAuth);
    const c = await post(`${cerbosUrl}/api/check/resources`, cerbosQuestions[i]);
    const action = JSON.parse(cerbosQuestions[i]).resources[0].actions[0];
    const cerbosAllowed = c.results[0].actions[action] === 'EFFECT_ALLOW';
    single.push(u.allowed);
    if (u.allowed) allowed++;
    if (u.allowed !== cerbosAllowed) {
        disagreements++;
        if (disagreements <= 5)
            console.error(`disagree on line ${i + 1}: usher ${u.allowed}, cerbos ${cerbosAllowed}`);
    }
}
for (let from = 0; from < usherQuestions.length; from += 100) {
    const chunk = usherQuestions.slice(from, from + 100);
    const b = await post(`${usherUrl}/api/v1/check/batch`, `{"checks":[${chunk.join(',')}]}`,
        usherAuth);
    b.results.forEach((r, k) => {
        if (r.allowed !== single[from + k]) {
            disagreements++;
            console.error(`batch and single disagree on line ${from + k + 1}`);
        }
    });
}
const share = ((100 * allowed) / usherQuestions.length).toFixed(1);
console.log(`verify: ${usherQuestions.length} questions, ${share}% allowed, ` +
    `${disagreements} disagreements`);
process.exit(disagreements === 0 ? 0 : 1);
