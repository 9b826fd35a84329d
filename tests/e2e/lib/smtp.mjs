// A real SMTP server for the console tests (npm smtp-server on 127.0.0.1, a port chosen at run
// time) that parses every message it receives, and the accept link of an invitation email.
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

// Starts the server. Resolves {port, url, messages, waitFor, close}; url is the value for
// USHER_SMTP_URL.
export async function startSmtp() {
  const messages = [];
  const waiters = new Set();
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', async () => {
        try {
          const parsed = await simpleParser(Buffer.concat(chunks));
          messages.push({ to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), parsed });
          for (const w of waiters) w();
          callback();
        } catch (e) {
          callback(e);
        }
      });
    },
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.server.address().port;
  const to = (addr) => messages.filter((m) => m.to.includes(addr.toLowerCase()));

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
        reject(new Error(`message ${n} to ${addr} did not arrive within ${ms} ms`));
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
    waitFor,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// The one accept link in a message's text part.
export function linkIn(message) {
  const found = [...new Set(message.parsed.text.match(/https?:\/\/[^\s<>"]+#token=[A-Za-z0-9_-]+/g) || [])];
  if (found.length !== 1) throw new Error(`expected one accept link in the message, found ${found.length}`);
  return found[0];
}
