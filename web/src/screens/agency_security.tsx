// An agency's two-step verification policy, on the agency's screen for its owners and those
// who may manage it: a switch that asks before it changes (PATCH /agencies/{id}
// {require_second_factor}). Shown only when the server's agency answer carries the setting.
import { useState } from 'preact/hooks';
import { patch } from '../api';
import { useAgency } from '../agency';
import type { Agency } from '../types';
import { Confirm, announce, useId } from '../ui';

export function SecondFactorPolicy() {
  const { agency, access, setAgency } = useAgency();
  const [asking, setAsking] = useState(false);
  const labelId = useId('policy-label');
  const hintId = useId('policy-hint');
  if (
    typeof agency.require_second_factor !== 'boolean' ||
    !access.shows('agency.manage', agency.id)
  )
    return null;
  // Shown to whoever holds agency.manage; while someone views the studio as them, disabled.
  const lock = access.lock();
  const on = agency.require_second_factor;

  async function change() {
    const updated = await patch<Agency>(`/agencies/${encodeURIComponent(agency.id)}`, {
      require_second_factor: !on,
    });
    setAgency(updated);
    announce(
      updated.require_second_factor
        ? `${agency.name} now requires two-step verification`
        : `${agency.name} no longer requires two-step verification`,
    );
  }

  return (
    <section class="section card policy" aria-labelledby={labelId}>
      <h2 id={labelId}>Sign-in security</h2>
      <div class="switch-row">
        <button
          type="button"
          role="switch"
          class="switch"
          aria-checked={on ? 'true' : 'false'}
          disabled={lock.disabled}
          title={lock.title}
          aria-describedby={[hintId, lock['aria-describedby']].filter(Boolean).join(' ')}
          onClick={() => setAsking(true)}
        >
          <span class="switch-track" aria-hidden="true">
            <span class="switch-thumb" />
          </span>
          <span class="switch-label">Require two-step verification</span>
        </button>
        <span class={`switch-state${on ? ' switch-state-on' : ''}`} aria-hidden="true">
          {on ? 'On' : 'Off'}
        </span>
      </div>
      <p class="hint" id={hintId}>
        {on
          ? 'Every member signs in with their password and a code from an authenticator app.'
          : 'Members choose for themselves whether to use two-step verification.'}
      </p>
      {asking ? (
        <Confirm
          title={on ? 'Stop requiring two-step verification?' : 'Require two-step verification?'}
          confirm={on ? 'Stop requiring it' : 'Require it'}
          danger={on}
          onClose={() => setAsking(false)}
          onConfirm={change}
        >
          {on ? (
            <p>
              Members of <strong>{agency.name}</strong> may then sign in with their password alone.
              Those who have two-step verification keep it.
            </p>
          ) : (
            <>
              <p>
                Every member of <strong>{agency.name}</strong> will sign in with their password and
                a code from an authenticator app on their phone.
              </p>
              <p>
                Members who have not set it up will have to, before they can do anything else in
                usher: at their next sign-in, or at once if they are signed in now. The users list
                shows who has it (2-step).
              </p>
            </>
          )}
        </Confirm>
      ) : null}
    </section>
  );
}
