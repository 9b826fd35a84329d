// Bulk invitations through the real binary: a CSV file checked whole before anything is sent
// (problems named by row and column, 400 and nothing sent), validate_only, sending only the
// valid rows, people already invited found before sending, rule 4 per row (a lesser admin cannot give through the file what they could not
// give one by one), the per-sender send limit reported per row, the bounds on rows and bytes,
// RFC 4180 quoting (commas, quotes and line breaks inside fields), a template file no
// spreadsheet would read as formulas, and each row's end: its own expires_at cell, else the
// request's default, held row by row to the sender's own right to give it (rule 4 in time).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { readableUtc } from './lib/dates.mjs';
import { startUsher } from './lib/harness.mjs';

const ADMIN_EMAIL = 'provider@example.com';
const PASSWORD = 'canary-bulk-password-4c1d';

function assertProblem(res, status, code) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text}`);
  assert.match(res.headers['content-type'] || '', /^application\/problem\+json/);
  assert.equal(res.json.code, code, res.text);
}

const HEADER = 'email,first_name,last_name,shortcode,environment,roles';

describe('bulk invitations', () => {
  let usher;
  const tokens = {};
  const fx = {};
  const sql = (text) => usher.sql(text);
  const count = (text) => Number(sql(text).trim());
  const env = { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD };

  const post = (key, csv, query = '') =>
    usher.api('POST', `/api/v1/agencies/${fx.A.id}/invitations/bulk${query}`, {
      token: tokens[key],
      raw: csv,
      headers: { 'Content-Type': 'text/csv' },
    });
  const admin = (method, urlPath, body) => usher.api(method, urlPath, { token: tokens.admin, body });
  const invitations = () => count(`SELECT COUNT(*) FROM invitations WHERE agency_id = '${fx.A.id}'`);
  const mails = () => count(`SELECT COUNT(*) FROM mail_outbox WHERE recipient LIKE '%@bulk.example'`);

  async function signIn(key, email) {
    const res = await usher.api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } });
    assert.ok(res.status === 200 || res.status === 201, `sign-in as ${email}: ${res.status}`);
    tokens[key] = res.json.token;
  }

  before(async () => {
    usher = await startUsher({ env });
    await signIn('admin', ADMIN_EMAIL);
    const make = async (p, name) => {
      const res = await admin('POST', p, { name });
      assert.equal(res.status, 201, res.text);
      return res.json;
    };
    fx.A = await make('/api/v1/agencies', 'Bulk agency');
    fx.E1 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'Production');
    fx.E2 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'Staging');
    const role = await admin('POST', `/api/v1/agencies/${fx.A.id}/roles`, {
      name: 'Recruiter',
      permissions: ['users.read', 'users.invite'],
    });
    assert.equal(role.status, 201, role.text);
    // A recruiter in Production only: invites, but holds no other authority.
    sql(`INSERT INTO users (id, email, password_hash, created_at)
           SELECT 'usr_bulk_rec', 'recruiter@bulk.test', password_hash, 1 FROM users
           WHERE email = '${ADMIN_EMAIL}';
         INSERT INTO memberships (agency_id, user_id, created_at) VALUES ('${fx.A.id}', 'usr_bulk_rec', 1);
         INSERT INTO grants (id, agency_id, user_id, environment_id, bot_id, scope_id, roles,
                             extra_permissions, created_at)
           VALUES ('grt_bulk_rec', '${fx.A.id}', 'usr_bulk_rec', '${fx.E1.id}', NULL, '${fx.E1.id}',
                   '${role.json.id}', '', 1);`);
    assert.equal(await usher.stop(), 0);
    usher = await startUsher({ dataDir: usher.dataDir, env });
    await signIn('admin', ADMIN_EMAIL);
    await signIn('recruiter', 'recruiter@bulk.test');
  });

  after(async () => {
    if (usher) assert.equal(await usher.stop(), 0);
  });

  it('offers a template with the columns and no cell a spreadsheet reads as a formula', async () => {
    const res = await usher.api('GET', `/api/v1/agencies/${fx.A.id}/invitations/bulk/template`, { token: tokens.admin });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers['content-type'], /^text\/csv/);
    assert.match(res.headers['content-disposition'], /attachment/);
    const lines = res.text.trim().split(/\r\n/);
    assert.equal(lines[0], `${HEADER},expires_at`);
    assert.ok(lines.length >= 3, 'example rows');
    for (const line of lines) for (const cell of line.split(',')) assert.doesNotMatch(cell, /^[=+\-@\t\r]/, cell);
    // One example has no end, one ends on a day still ahead, which the file itself accepts.
    const ends = lines.slice(1).map((l) => l.split(',')[6]);
    assert.equal(ends[0], '');
    assert.match(ends[1], /^\d{4}-12-31$/);
    assert.ok(Date.parse(`${ends[1]}T23:59:59Z`) > Date.now());
    const checked = await post('admin', res.text, '?validate_only=1');
    assert.equal(checked.status, 200, checked.text);
    assert.deepEqual(checked.json.rows.map((r) => r.expires_at), [null, `${ends[1]}T23:59:59.000Z`]);
  });

  it('names every problem by row and column and sends nothing while the file is invalid', async () => {
    const csv = [
      HEADER,
      'ana@bulk.example,Ana,Silva,,Production,Agent',
      'not-an-address,Bo,,,Production,Agent',
      'cy@bulk.example,Cy,,,Nowhere,Agent',
      'di@bulk.example,Di,,,Staging,Agent;Astronaut',
      'ANA@bulk.example,Ana,Again,,Staging,Operator',
      'ed@bulk.example,Ed,,,production,',
    ].join('\r\n');
    for (const query of ['', '?validate_only=1', '?send=all']) {
      const res = await post('admin', csv, query);
      assertProblem(res, 400, 'invalid_rows');
      const got = res.json.problems.map((p) => `${p.row}:${p.column}`).sort();
      assert.deepEqual(got, ['3:email', '4:environment', '5:roles', '6:email', '7:roles'], res.text);
      assert.match(res.json.problems.find((p) => p.row === 6).message, /row 2/);
      assert.match(res.json.problems.find((p) => p.row === 5).message, /Astronaut/);
      assert.equal(res.json.row_count, 6);
      assert.equal(res.json.valid_count, 1);
      assert.equal(res.json.rows.length, 6);
      assert.equal(invitations(), 0, 'nothing was created');
      assert.equal(mails(), 0, 'nothing was sent');
    }
  });

  it('checks the header row: unknown, repeated and missing columns', async () => {
    let res = await post('admin', 'email,colour,environment,email\r\nx@bulk.example,red,Production,y@bulk.example\r\n');
    assertProblem(res, 400, 'invalid_rows');
    assert.deepEqual(res.json.problems.map((p) => `${p.row}:${p.column}`).sort(), ['1:colour', '1:email', '1:roles']);
    res = await post('admin', `${HEADER}\r\n`);
    assertProblem(res, 400, 'invalid_rows');
    assert.equal(res.json.problems[0].row, 0);
    res = await post('admin', `${HEADER}\r\nfi@bulk.example,Fi,,,Production\r\n`);
    assertProblem(res, 400, 'invalid_rows');
    assert.match(res.json.problems[0].message, /5 fields; the header row has 6/);
    assert.equal(invitations(), 0);
  });

  it('reads RFC 4180 quoting: commas, doubled quotes and line breaks inside fields', async () => {
    const csv =
      `${HEADER}\r\n` +
      '"quote@bulk.example","Olaf, Jr.","O""Brien",,"Production","Agent|Operator"\r\n' +
      'broken@bulk.example,"Line\nbreak",,,Production,Agent\r\n' +
      'open@bulk.example,"never closed,,,Production,Agent\r\n';
    let res = await post('admin', csv, '?validate_only=1');
    assertProblem(res, 400, 'invalid_rows');
    const rows = Object.fromEntries(res.json.rows.map((r) => [r.row, r]));
    assert.equal(rows[2].first_name, 'Olaf, Jr.');
    assert.equal(rows[2].last_name, "O'Brien".replace("'", '"'));
    assert.equal(rows[2].valid, true);
    assert.deepEqual(res.json.problems.map((p) => `${p.row}:${p.column}`), ['3:first_name', '4:null']);
    assert.match(res.json.problems[1].message, /not closed/);
    // A quote inside an unquoted field is refused, not guessed at.
    res = await post('admin', `${HEADER}\r\nq@bulk.example,Ol"af,,,Production,Agent\r\n`, '?validate_only=1');
    assertProblem(res, 400, 'invalid_rows');
    assert.match(res.json.problems[0].message, /quoted whole/);
    assert.equal(invitations(), 0);
  });

  it('validates without sending, then sends the whole file with a result per row', async () => {
    const csv = `\uFEFF${HEADER}\r\n"gi@bulk.example",Gi,"Ng, Li",GN1,Production,Agent;Operator\r\nhu@bulk.example,Hu,,,staging,environment manager\r\n`;
    let res = await post('admin', csv, '?validate_only=1');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.sent, false);
    assert.equal(res.json.valid_count, 2);
    assert.equal(invitations(), 0);
    res = await post('admin', csv);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.created, 2);
    assert.deepEqual(res.json.rows.map((r) => r.result), ['created', 'created']);
    const gi = await admin('GET', `/api/v1/invitations/${res.json.rows[0].invitation_id}`);
    assert.equal(gi.json.last_name, 'Ng, Li');
    assert.equal(gi.json.shortcode, 'GN1');
    assert.equal(gi.json.grants.length, 1);
    assert.equal(gi.json.grants[0].environment_id, fx.E1.id);
    assert.deepEqual(gi.json.grants[0].roles, ['agent', 'operator']);
    const hu = await admin('GET', `/api/v1/invitations/${res.json.rows[1].invitation_id}`);
    assert.equal(hu.json.grants[0].environment_id, fx.E2.id);
    assert.deepEqual(hu.json.grants[0].roles, ['environment_manager']);
    assert.equal(invitations(), 2);
    assert.equal(mails(), 2);
    assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'invitation.created' AND agency_id = '${fx.A.id}'`), 2);
    // The same file again: both are already invited, which validation says by row and
    // column, and nothing new is sent.
    res = await post('admin', csv.replace('GN1', ''));
    assertProblem(res, 400, 'invalid_rows');
    assert.deepEqual(res.json.problems.map((p) => `${p.row}:${p.column}`), ['2:email', '3:email']);
    assert.match(res.json.problems[0].message, /already invited: their invitation to this agency is still waiting/);
    assert.equal(res.json.valid_count, 0);
    assert.equal(invitations(), 2);
  });

  it('finds in validation a person whose invitation is still waiting, and sends the others', async () => {
    // gi was invited above; qu's invitation is past its expiry, which sending sets aside.
    const old = await admin('POST', `/api/v1/agencies/${fx.A.id}/invitations`, {
      email: 'qu@bulk.example', send_email: false, grants: [{ environment_id: fx.E1.id, roles: ['agent'] }],
    });
    assert.equal(old.status, 201, old.text);
    sql(`UPDATE invitations SET expires_at = 1 WHERE id = '${old.json.id ?? old.json.invitation?.id}'`);
    const csv = [
      HEADER,
      'ra@bulk.example,Ra,,,Production,Agent',
      'GI@bulk.example,Gi,,,Staging,Agent',
      'qu@bulk.example,Qu,,,Production,Agent',
    ].join('\r\n');
    const before = invitations();
    let res = await post('admin', csv, '?validate_only=1');
    assertProblem(res, 400, 'invalid_rows');
    assert.deepEqual(res.json.problems.map((p) => `${p.row}:${p.column}`), ['3:email']);
    assert.match(res.json.problems[0].message, /already invited/);
    assert.equal(res.json.valid_count, 2);
    assert.equal(invitations(), before);
    res = await post('admin', csv, '?send=valid');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.rows.map((r) => r.result), ['created', 'skipped', 'created']);
    assert.equal(invitations(), before + 2);
  });

  it('sends only the valid rows when asked to', async () => {
    const csv = `${HEADER}\r\nja@bulk.example,Ja,,,Production,Agent\r\nbad@,Ka,,,Production,Agent\r\n`;
    assertProblem(await post('admin', csv), 400, 'invalid_rows');
    const res = await post('admin', csv, '?send=valid');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.rows.map((r) => r.result), ['created', 'skipped']);
    assert.equal(res.json.problems.length, 1);
    assert.equal(res.json.problems[0].row, 3);
    // The JSON form says the same thing.
    const json = await usher.api('POST', `/api/v1/agencies/${fx.A.id}/invitations/bulk`, {
      token: tokens.admin,
      body: { csv: `${HEADER}\r\nla@bulk.example,La,,,Production,Agent\r\nbad@,Ma,,,Production,Agent\r\n`, send: 'valid' },
    });
    assert.equal(json.status, 200, json.text);
    assert.deepEqual(json.json.rows.map((r) => r.result), ['created', 'skipped']);
    assertProblem(await post('admin', csv, '?send=some'), 400, 'invalid_input');
  });

  it('holds every row to what the sender may give (rule 4), row by row', async () => {
    const before = invitations();
    const csv = [
      HEADER,
      'na@bulk.example,Na,,,Production,Agent',
      'ob@bulk.example,Ob,,,Production,Environment manager',
      'pe@bulk.example,Pe,,,Staging,Agent',
      'recruiter@bulk.test,Me,,,Production,Agent',
    ].join('\r\n');
    const res = await post('recruiter', csv);
    assertProblem(res, 400, 'invalid_rows');
    assert.deepEqual(res.json.problems.map((p) => `${p.row}:${p.column}`).sort(), ['3:roles', '4:environment', '5:email']);
    // Staging is not named: the recruiter cannot tell it from an environment that does not exist.
    assert.match(res.json.problems.find((p) => p.row === 4).message, /no environment of this name where you may invite/);
    assert.equal(invitations(), before);
    const sent = await post('recruiter', csv, '?send=valid');
    assert.equal(sent.status, 200, sent.text);
    assert.deepEqual(sent.json.rows.map((r) => r.result), ['created', 'skipped', 'skipped', 'skipped']);
    assert.equal(invitations(), before + 1);
    const g = JSON.parse(sql(`SELECT grants FROM invitations WHERE email = 'na@bulk.example'`).trim());
    assert.equal(g[0].environment_id, fx.E1.id);
  });

  it('reports the per-sender send limit on each row past it', async () => {
    const sentBefore = count(`SELECT COUNT(*) FROM audit_log WHERE actor_id = 'usr_bulk_rec'
      AND action IN ('invitation.created', 'invitation.resent')`);
    const rows = [HEADER];
    for (let i = 0; i < 101; i++) rows.push(`lim${i}@bulk.example,,,,Production,Agent`);
    const res = await post('recruiter', rows.join('\n'));
    assert.equal(res.status, 200, res.text);
    const allowed = 100 - sentBefore;
    assert.equal(res.json.created, allowed);
    assert.equal(res.json.refused, 101 - allowed);
    const refused = res.json.rows.filter((r) => r.result === 'refused');
    for (const r of refused) {
      assert.equal(r.code, 'rate_limited');
      assert.match(r.message, /too many invitation emails by you/);
    }
    assert.equal(refused[0].row, allowed + 2);
  });

  it('bounds a file to 1,000 people and 1 MiB', async () => {
    const rows = [HEADER];
    for (let i = 0; i < 1001; i++) rows.push(`big${i}@bulk.example,,,,Production,Agent`);
    const before = invitations();
    let res = await post('admin', rows.join('\r\n'));
    assertProblem(res, 413, 'too_large');
    assert.match(res.json.detail, /1000 people/);
    res = await post('admin', `${HEADER}\r\n${'x'.repeat(1048577)}`);
    assert.equal(res.status, 413, res.text.slice(0, 200));
    assert.equal(invitations(), before);
  });

  it('takes a CSV or JSON body only, and keeps other agencies out', async () => {
    const res = await usher.api('POST', `/api/v1/agencies/${fx.A.id}/invitations/bulk`, {
      token: tokens.admin,
      raw: 'email=x',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assertProblem(res, 400, 'unsupported_media_type');
    const other = await usher.api('POST', '/api/v1/agencies/agc_nope/invitations/bulk', {
      token: tokens.recruiter,
      raw: `${HEADER}\r\n`,
      headers: { 'Content-Type': 'text/csv' },
    });
    assert.equal(other.status, 404, other.text);
  });
});

// Each row's end. A lead whose own right to invite ends on one day in Production and later in
// Staging: rows without an end of their own end where the lead's right ends for them, a row may
// ask for an earlier end, and a row asking past the lead's end is a problem of its expires_at
// cell naming that end. The request's expires_at is the default of rows without their own,
// itself held to each row's ceiling.
describe('bulk invitations: each row ends where the sender’s right to give it ends', () => {
  const DAY = 86400e3;
  const iso = (ms) => new Date(ms).toISOString();
  const dayOf = (ms) => iso(ms).slice(0, 10);
  const endOfDay = (ms) => Date.parse(`${dayOf(ms)}T23:59:59Z`);
  // The lead's ends, at a time of day that is not midnight and with milliseconds of their own,
  // so an end rounded to the second or to the day would show.
  const soon = Math.floor((Date.now() + 10 * DAY) / DAY) * DAY + 12 * 3600e3 + 34 * 60e3 + 56250;
  const later = soon + 30 * DAY;
  const COLS = `${HEADER},expires_at`;
  let usher;
  const tokens = {};
  const fx = {};
  const env = { USHER_ADMIN_EMAIL: ADMIN_EMAIL, USHER_ADMIN_PASSWORD: PASSWORD };

  const post = (key, csv, query = '') =>
    usher.api('POST', `/api/v1/agencies/${fx.A.id}/invitations/bulk${query}`, {
      token: tokens[key],
      raw: csv,
      headers: { 'Content-Type': 'text/csv' },
    });
  const admin = (method, urlPath, body) => usher.api(method, urlPath, { token: tokens.admin, body });
  const where = (res) => res.json.problems.map((p) => `${p.row}:${p.column}`);
  const ends = (res) => res.json.rows.map((r) => [r.expires_at && Date.parse(r.expires_at), r.expires_at_source]);
  // The end of the grant of the invitation a row created, in ms (null: none).
  async function endOf(row) {
    assert.equal(row.result, 'created', JSON.stringify(row));
    const inv = await admin('GET', `/api/v1/invitations/${row.invitation_id}`);
    assert.equal(inv.status, 200, inv.text);
    const at = inv.json.grants[0].expires_at;
    return at ? Date.parse(at) : null;
  }

  before(async () => {
    usher = await startUsher({ env });
    const signIn = async (key, email) => {
      const res = await usher.api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } });
      assert.ok(res.status === 200 || res.status === 201, `sign-in as ${email}: ${res.status}`);
      tokens[key] = res.json.token;
    };
    await signIn('admin', ADMIN_EMAIL);
    const make = async (p, name) => {
      const res = await admin('POST', p, { name });
      assert.equal(res.status, 201, res.text);
      return res.json;
    };
    fx.A = await make('/api/v1/agencies', 'Ends agency');
    fx.E1 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'Production');
    fx.E2 = await make(`/api/v1/agencies/${fx.A.id}/environments`, 'Staging');
    const inv = await admin('POST', `/api/v1/agencies/${fx.A.id}/invitations`, {
      email: 'lead@ends.test',
      send_email: false,
      grants: [
        { environment_id: fx.E1.id, roles: ['environment_manager'], expires_at: iso(soon) },
        { environment_id: fx.E2.id, roles: ['environment_manager'], expires_at: iso(later) },
      ],
    });
    assert.equal(inv.status, 201, inv.text);
    const token = new URL(inv.json.url).hash.replace(/^#token=/, '');
    const acc = await usher.api('POST', '/api/v1/invitations/accept', { body: { token, password: PASSWORD } });
    assert.equal(acc.status, 201, acc.text);
    tokens.lead = acc.json.token;
  });

  after(async () => {
    if (usher) assert.equal(await usher.stop(), 0);
  });

  it('reads the expires_at column: a date ends with its day in UTC, a time as written; a bad or past end is named by row and column', async () => {
    const day = Date.now() + 30 * DAY;
    const time = Math.floor((Date.now() + 45 * DAY) / 1000) * 1000 + 125;
    const csv = [
      COLS,
      `day@ends.example,Day,,,Production,Agent,${dayOf(day)}`,
      `time@ends.example,Time,,,Staging,Agent,${iso(time)}`,
      'none@ends.example,None,,,Production,Agent,',
      'slash@ends.example,Slash,,,Production,Agent,31/01/2027',
      'past@ends.example,Past,,,Production,Agent,2020-01-31',
      'feb@ends.example,Feb,,,Production,Agent,2027-02-30',
      `far@ends.example,Far,,,Production,Agent,${dayOf(Date.now() + 6 * 365 * DAY)}`,
      'zone@ends.example,Zone,,,Production,Agent,2027-01-31T17:00:00+02:00',
    ].join('\r\n');
    const res = await post('admin', csv, '?validate_only=1');
    assertProblem(res, 400, 'invalid_rows');
    assert.deepEqual(where(res), ['5:expires_at', '6:expires_at', '7:expires_at', '8:expires_at', '9:expires_at']);
    const message = (row) => res.json.problems.find((p) => p.row === row).message;
    assert.match(message(5), /write a date like 2027-01-31/);
    assert.match(message(6), /already passed/);
    assert.match(message(7), /write a date like/);
    assert.match(message(8), /five years/);
    assert.match(message(9), /RFC 3339 time in UTC/);
    // A platform admin's rows are held to no ceiling: each gets its own end, or none.
    assert.deepEqual(ends(res).slice(0, 3), [[endOfDay(day), 'row'], [time, 'row'], [null, null]]);
    assert.equal(res.json.valid_count, 3);
    const sent = await post('admin', csv, '?send=valid');
    assert.equal(sent.status, 200, sent.text);
    assert.deepEqual(sent.json.rows.map((r) => r.result), ['created', 'created', 'created', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
    assert.equal(Date.parse(sent.json.rows[0].expires_at), endOfDay(day), 'the result carries the end too');
    assert.equal(await endOf(sent.json.rows[0]), endOfDay(day));
    assert.equal(await endOf(sent.json.rows[1]), time);
    assert.equal(await endOf(sent.json.rows[2]), null);
  });

  it('ends each row where the sender’s own right ends in its environment, and refuses a row asking past it naming row, column and that end', async () => {
    const own = soon + 5 * DAY; // past Production's end, within Staging's
    const csv = [
      COLS,
      'p1@ends.example,P,One,,Production,Agent,',
      's1@ends.example,S,One,,Staging,Operator,',
      `s2@ends.example,S,Two,,Staging,Agent,${dayOf(own)}`,
      `p2@ends.example,P,Two,,Production,Agent,${dayOf(soon)}`,
      `p3@ends.example,P,Three,,Production,Agent,${iso(soon + 1)}`,
      `s3@ends.example,S,Three,,Staging,Agent,${dayOf(later + DAY)}`,
      `p4@ends.example,P,Four,,Production,Agent,${dayOf(own)}`,
    ].join('\r\n');
    const res = await post('lead', csv, '?validate_only=1');
    assertProblem(res, 400, 'invalid_rows');
    assert.deepEqual(where(res), ['6:expires_at', '7:expires_at', '8:expires_at']);
    const message = (row) => res.json.problems.find((p) => p.row === row).message;
    // Each refusal names the end that holds for its row, in words, not the lead's latest one.
    assert.match(message(6), new RegExp(`in Production ends on ${readableUtc(iso(soon))}: give an end no later than that`));
    assert.match(message(7), new RegExp(`in Staging ends on ${readableUtc(iso(later))}`));
    assert.match(message(8), new RegExp(`ends on ${readableUtc(iso(soon))}`));
    assert.deepEqual(ends(res), [
      [soon, 'ceiling'],
      [later, 'ceiling'],
      [endOfDay(own), 'row'],
      [soon, 'ceiling'], // the date of the lead's last day: the lead's end itself
      [null, null],
      [null, null],
      [null, null],
    ]);
    assert.equal(res.json.valid_count, 4);
    // The whole file is refused while any row asks too far.
    assertProblem(await post('lead', csv), 400, 'invalid_rows');
    const sent = await post('lead', csv, '?send=valid');
    assert.equal(sent.status, 200, sent.text);
    assert.deepEqual(sent.json.rows.map((r) => r.result), ['created', 'created', 'created', 'created', 'skipped', 'skipped', 'skipped']);
    assert.deepEqual(await Promise.all(sent.json.rows.slice(0, 4).map(endOf)), [soon, later, endOfDay(own), soon]);
    // A grant of the invitation ending at the lead's end is one the lead may give: accepting
    // it works (the ceiling is asked again at accept).
    const inv = await admin('GET', `/api/v1/invitations/${sent.json.rows[0].invitation_id}`);
    assert.equal(inv.json.grants[0].environment_id, fx.E1.id);
  });

  it('takes ?expires_at= as the default for rows without their own, held to each row’s ceiling', async () => {
    const mid = soon + 15 * DAY; // after Production's end, before Staging's
    const own = soon + 20 * DAY;
    const csv = [
      COLS,
      'dp@ends.example,,,,Production,Agent,',
      'ds@ends.example,,,,Staging,Agent,',
      `do@ends.example,,,,Staging,Agent,${iso(own)}`,
    ].join('\r\n');
    const res = await post('lead', csv, `?validate_only=1&expires_at=${encodeURIComponent(iso(mid))}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(ends(res), [[soon, 'ceiling'], [mid, 'default'], [own, 'row']]);
    // A date is read as in the file; the JSON member says the same as the parameter.
    const asDay = await post('lead', csv, `?validate_only=1&expires_at=${dayOf(mid)}`);
    assert.equal(asDay.status, 200, asDay.text);
    assert.deepEqual(ends(asDay)[1], [endOfDay(mid), 'default']);
    const json = await usher.api('POST', `/api/v1/agencies/${fx.A.id}/invitations/bulk`, {
      token: tokens.lead,
      body: { csv, validate_only: true, expires_at: iso(mid) },
    });
    assert.equal(json.status, 200, json.text);
    assert.deepEqual(ends(json), ends(res));
    // A default that is not an end is refused whole, naming the parameter.
    for (const bad of ['soon', '2020-01-31', iso(Date.now() - 1000), dayOf(Date.now() + 6 * 365 * DAY)]) {
      const r = await post('lead', csv, `?validate_only=1&expires_at=${encodeURIComponent(bad)}`);
      assertProblem(r, 400, 'invalid_input');
      assert.equal(r.json.field, 'expires_at', r.text);
    }
    const sent = await post('lead', csv, `?expires_at=${encodeURIComponent(iso(mid))}`);
    assert.equal(sent.status, 200, sent.text);
    assert.deepEqual(await Promise.all(sent.json.rows.map(endOf)), [soon, mid, own]);
    // For a platform admin the default holds as given.
    const adm = await post('admin', `${COLS}\r\nda@ends.example,,,,Production,Agent,\r\n`, `?validate_only=1&expires_at=${encodeURIComponent(iso(later + 90 * DAY))}`);
    assert.equal(adm.status, 200, adm.text);
    assert.deepEqual(ends(adm), [[later + 90 * DAY, 'default']]);
  });
});
