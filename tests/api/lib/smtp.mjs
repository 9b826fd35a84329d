// A real SMTP server for the black-box tests (npm smtp-server on 127.0.0.1, a port chosen at
// run time) that parses every message it receives (npm mailparser), and the pieces of an
// invitation email the tests follow: the accept link and the token in its fragment.
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

// Starts the server. Resolves {port, url, messages, rejected, errors, to, waitFor, refuseNext,
// close}:
// messages are {to, from, raw, parsed} in arrival order; rejected holds the messages refused
// with a temporary failure (see refuseNext); url is the value for USHER_SMTP_URL. port (default
// 0: any free port) lets a test bring a stopped server back on the address usher knows;
// delayMs (default 0) holds every message that long after its data arrived before accepting it,
// as a slow mail server does, so a test can stop a sender in the middle of a delivery.
export async function startSmtp({ port: wantPort = 0, delayMs = 0 } = {}) {
  const messages = [];
  const rejected = [];
  const waiters = new Set();
  let refusals = 0;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        try {
          const parsed = await simpleParser(raw);
          if (refusals > 0) {
            refusals--;
            rejected.push({ raw, parsed });
            for (const w of waiters) w();
            const e = new Error('mailbox busy, try again later');
            e.responseCode = 451;
            callback(e);
            return;
          }
          messages.push({
            from: session.envelope.mailFrom.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            parsed,
          });
          for (const w of waiters) w();
          callback();
        } catch (e) {
          callback(e);
        }
      });
    },
  });
  // A client that goes away mid-message (a killed server) is the client's problem, not ours.
  const errors = [];
  server.on('error', (e) => errors.push(e));
  await new Promise((resolve) => server.listen(wantPort, '127.0.0.1', resolve));
  const port = server.server.address().port;

  // The messages to one address (all when to is omitted).
  const to = (addr) => messages.filter((m) => !addr || m.to.includes(addr.toLowerCase()));

  // Resolves with the n-th (1-based) message to addr once it has arrived, waiting up to ms.
  function waitFor(addr, n = 1, ms = 15000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const got = to(addr);
        if (got.length >= n) {
          done();
          resolve(got[n - 1]);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`message ${n} to ${addr} did not arrive within ${ms} ms (got ${to(addr).length})`));
      }, ms);
      function done() {
        clearTimeout(timer);
        waiters.delete(check);
      }
      waiters.add(check);
      check();
    });
  }

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    rejected,
    errors,
    // The next n messages are refused with "451" after their data was read.
    refuseNext: (n) => {
      refusals = n;
    },
    to,
    waitFor,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// The accept link in a parsed message's text part; fails when there is not exactly one.
export function linkIn(parsed) {
  const found = [...new Set(parsed.text.match(/https?:\/\/[^\s<>"]+#token=[A-Za-z0-9_-]+/g) || [])];
  if (found.length !== 1) throw new Error(`expected one accept link in the message, found ${found.length}`);
  return found[0];
}

// The token in the fragment of an accept link.
export function tokenOf(url) {
  const m = /#token=([A-Za-z0-9_-]+)$/.exec(url);
  if (!m) throw new Error('the link has no #token= fragment');
  return m[1];
}
