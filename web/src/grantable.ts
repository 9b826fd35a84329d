// What the signed-in person may give at each scope a dialog works with, as the server answers
// it (GET /agencies/{id}/grantable): asked once per scope and kept while the dialog is open.
// The server decides every grant anyway; this only offers what it will accept, and says why
// the rest is missing.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, messageOf, withQuery } from './api';
import type { Grantable } from './types';

// invite: the answer for an invitation (users.invite); manage: for changing grants (users.manage).
export type GrantPurpose = 'invite' | 'manage';

// One scope's answer: data once it came, error when it failed, neither while it is asked.
export interface ScopeOffer {
  data?: Grantable;
  error?: ApiError;
}

export interface GrantableCache {
  offer: (scope: string) => ScopeOffer;
  retry: (scope: string) => void;
}

// scopes: the scopes in use, '' for the whole agency, else an environment id. Each is asked
// as soon as it appears; a scope chosen while another answer is on its way is asked at once.
export function useGrantable(
  agencyId: string,
  purpose: GrantPurpose,
  scopes: string[],
): GrantableCache {
  const [answers, setAnswers] = useState<Record<string, ScopeOffer>>({});
  const asked = useRef(new Set<string>());
  const live = useRef(true);
  const [tick, setTick] = useState(0);
  const key = [...new Set(scopes)].sort().join('\n');

  useEffect(() => {
    live.current = true;
    return () => {
      live.current = false;
    };
  }, []);

  useEffect(() => {
    for (const scope of new Set(scopes)) {
      if (asked.current.has(scope)) continue;
      asked.current.add(scope);
      const path = withQuery(`/agencies/${encodeURIComponent(agencyId)}/grantable`, {
        environment_id: scope,
        for: purpose,
      });
      get<Grantable>(path).then(
        (data) => live.current && setAnswers((a) => ({ ...a, [scope]: { data } })),
        (e) => {
          const error =
            e instanceof ApiError ? e : new ApiError(0, 'error', messageOf(e), null, null);
          if (live.current) setAnswers((a) => ({ ...a, [scope]: { error } }));
        },
      );
    }
    // key stands for the scopes asked about: the look-ups run again only when they change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [agencyId, purpose, key, tick]);

  const offer = useCallback((scope: string) => answers[scope] || {}, [answers]);
  const retry = useCallback((scope: string) => {
    asked.current.delete(scope);
    setAnswers((a) => {
      const rest = { ...a };
      delete rest[scope];
      return rest;
    });
    setTick((t) => t + 1);
  }, []);
  return { offer, retry };
}
