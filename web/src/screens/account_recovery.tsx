// The ten recovery codes, shown once right after two-step verification is turned on: to copy, to
// download as a text file, and an "I have saved them" box that must be ticked before they go.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { announce, copyText } from '../ui';

interface Props {
  codes: string[];
  email: string;
  onDone: () => void;
  replaced?: boolean; // new codes for old ones, rather than the first ones
}

function fileText(codes: string[], email: string): string {
  return [
    `usher recovery codes for ${email}`,
    '',
    'Each code signs you in once, instead of a code from your authenticator app.',
    'Keep them somewhere safe and private, away from your phone.',
    '',
    ...codes,
    '',
  ].join('\n');
}

export function RecoveryCodes({ codes, email, onDone, replaced }: Props) {
  const [saved, setSaved] = useState(false);
  const [copied, setCopied] = useState(false);
  const [nudge, setNudge] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const box = useRef<HTMLInputElement>(null);
  const text = fileText(codes, email);
  // The file to download, as a blob: address the CSP allows for a download link.
  const href = useMemo(() => URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' })), [text]);
  useEffect(() => () => URL.revokeObjectURL(href), [href]);
  useEffect(() => heading.current?.focus(), []);

  async function copy() {
    if (await copyText(codes.join('\n'))) {
      setCopied(true);
    } else {
      announce('Copying is not available here: select the codes and copy them, or download them', 'error');
    }
  }

  function done() {
    if (!saved) {
      setNudge(true);
      box.current?.focus();
      return;
    }
    onDone();
  }

  return (
    <div class="recovery">
      <h3 ref={heading} tabIndex={-1}>
        Save your recovery codes
      </h3>
      <p>
        {replaced ? 'Your old recovery codes no longer work.' : 'Two-step verification is on.'} If you lose your phone, each
        of these codes signs you in once instead of a code from the app. <strong>They are shown only now.</strong> Keep them
        somewhere safe and private.
      </p>
      <ol class="recovery-codes" aria-label="Recovery codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <div class="actions actions-start">
        <button type="button" class="button" onClick={copy}>
          Copy
        </button>
        <a class="button" href={href} download="usher-recovery-codes.txt">
          Download .txt
        </a>
        {copied ? (
          <span class="copied" role="status">
            Copied
          </span>
        ) : null}
      </div>
      <div class={`check recovery-saved${nudge && !saved ? ' field-invalid' : ''}`}>
        <input
          ref={box}
          type="checkbox"
          id="recovery-saved"
          checked={saved}
          aria-invalid={nudge && !saved ? 'true' : undefined}
          aria-describedby={nudge && !saved ? 'recovery-saved-error' : undefined}
          onChange={(e) => setSaved((e.currentTarget as HTMLInputElement).checked)}
        />
        <label for="recovery-saved">I have saved them</label>
      </div>
      {nudge && !saved ? (
        <p class="field-error" id="recovery-saved-error">
          Tick the box once the codes are saved: they cannot be shown again.
        </p>
      ) : null}
      <div class="actions actions-start">
        <button type="button" class="button button-primary" onClick={done}>
          Done
        </button>
      </div>
    </div>
  );
}
