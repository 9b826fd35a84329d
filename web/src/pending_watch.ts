// Keeps the signed-in person's pending invitations current without a reload: GET /me again when
// the page comes back into view or the window gets focus, and every 30 seconds while it is
// visible; the session is refreshed only when the set of pending invitations changed.
import { useEffect, useRef } from 'preact/hooks';
import { get } from './api';
import { useSession } from './session';
import type { Me } from './types';

export const PENDING_POLL_MS = 30_000;

const idsOf = (m: Me | null) =>
  (m?.pending_invitations || [])
    .map((i) => `${i.id}:${i.status}`)
    .sort()
    .join(',');

export function usePendingInvitationsWatch(): void {
  const { me, refresh } = useSession();
  const known = useRef('');
  known.current = idsOf(me);
  // Viewing as someone shows none of their invitations; the enrolment page needs nothing.
  const active = !!me && !me.impersonator && !me.second_factor_required;

  useEffect(() => {
    if (!active) return;
    let busy = false;
    async function check() {
      if (busy || document.visibilityState === 'hidden') return;
      busy = true;
      try {
        const fresh = await get<Me>('/me', { quietAuth: true });
        if (idsOf(fresh) !== known.current) await refresh();
      } catch {
        // A missed check changes nothing; the next one, or a reload, will tell.
      } finally {
        busy = false;
      }
    }
    const onVisible = () => {
      if (document.visibilityState === 'visible') check();
    };
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('focus', check);
    const timer = setInterval(check, PENDING_POLL_MS);
    return () => {
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('focus', check);
      clearInterval(timer);
    };
  }, [active, refresh]);
}
