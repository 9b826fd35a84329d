// The names of the environments and bots that grants point at, for screens whose grants carry
// ids only (GET /me, the users overview). Each place is asked for at most every 30 seconds; a
// place the signed-in person may not see keeps a neutral wording instead of its id.
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api';
import type { Grant } from '../types';

export interface PlaceNames {
  environments: Record<string, string>;
  bots: Record<string, { name: string; environment_id?: string }>;
  pending?: boolean; // some names are still being asked for
}

type BotFacts = { name: string; environment_id?: string };
// Answers are kept a short while: a place renamed on another screen shows its new name soon.
const KEEP_MS = 30_000;
const envCache = new Map<string, { at: number; name: Promise<string | null> }>();
const botCache = new Map<string, { at: number; bot: Promise<BotFacts | null> }>();

function environmentOf(id: string): Promise<string | null> {
  const hit = envCache.get(id);
  if (hit && Date.now() - hit.at < KEEP_MS) return hit.name;
  const name = get<{ name: string }>(`/environments/${encodeURIComponent(id)}`).then(
    (e) => e.name,
    () => null,
  );
  envCache.set(id, { at: Date.now(), name });
  return name;
}

function botOf(id: string): Promise<BotFacts | null> {
  const hit = botCache.get(id);
  if (hit && Date.now() - hit.at < KEEP_MS) return hit.bot;
  const bot = get<BotFacts>(`/bots/${encodeURIComponent(id)}`).then(
    (b) => ({ name: b.name, environment_id: b.environment_id }),
    () => null,
  );
  botCache.set(id, { at: Date.now(), bot });
  return bot;
}

// Looks up the places of grants that are not named yet; known: environment names already at
// hand (the agency's list); given: the names an answer carried (an invitation's "places").
// Answers what is known so far and re-renders as names arrive.
export function usePlaceNames(
  grants: Grant[],
  known: { id: string; name: string }[] = [],
  given?: Pick<PlaceNames, 'environments' | 'bots'>,
): PlaceNames {
  const [names, setNames] = useState<PlaceNames & { key: string }>({
    environments: {},
    bots: {},
    key: '|',
  });
  const envIds = new Set<string>();
  const botIds = new Set<string>();
  // An answer that names places named all that still exist: nothing is asked for then.
  for (const g of given ? [] : grants) {
    if (g.bot_id) botIds.add(g.bot_id);
    else if (g.environment_id && !known.some((e) => e.id === g.environment_id))
      envIds.add(g.environment_id);
  }
  const key = [...envIds].sort().join(',') + '|' + [...botIds].sort().join(',');
  // key stands for the ids asked for: the look-up runs again only when they change.
  useEffect(() => {
    if (key === '|') return;
    let live = true;
    Promise.all([
      Promise.all([...envIds].map(async (id) => [id, await environmentOf(id)] as const)),
      Promise.all([...botIds].map(async (id) => [id, await botOf(id)] as const)),
    ])
      .then(async ([envs, bots]) => {
        // A bot's environment, named too where the person may read it.
        const more = bots
          .map(([, b]) => b?.environment_id)
          .filter((id): id is string => !!id && !known.some((e) => e.id === id))
          .filter((id) => !envs.some(([e]) => e === id));
        const extra = await Promise.all(
          [...new Set(more)].map(async (id) => [id, await environmentOf(id)] as const),
        );
        return [[...envs, ...extra], bots] as const;
      })
      .then(([envs, bots]) => {
        if (!live) return;
        const out = {
          environments: {} as PlaceNames['environments'],
          bots: {} as PlaceNames['bots'],
          key,
        };
        for (const [id, name] of envs) if (name) out.environments[id] = name;
        for (const [id, bot] of bots) if (bot) out.bots[id] = bot;
        setNames(out);
      });
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  const environments: Record<string, string> = {};
  for (const e of known) environments[e.id] = e.name;
  return {
    environments: { ...environments, ...given?.environments, ...names.environments },
    bots: { ...given?.bots, ...names.bots },
    pending: key !== '|' && names.key !== key,
  };
}
