// The real SMTP server of the API tests (npm smtp-server on 127.0.0.1, a port chosen at run
// time, every message parsed), and the accept link of a message it received.
import { linkIn as linkInParsed } from '../../api/lib/smtp.mjs';

export { startSmtp } from '../../api/lib/smtp.mjs';

// The one accept link in a message's text part.
export function linkIn(message) {
  return linkInParsed(message.parsed);
}
