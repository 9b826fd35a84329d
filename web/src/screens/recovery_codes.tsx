// The ten recovery codes, shown once: right after two-step verification is turned on (the last
// step of totp_enrol.tsx) and when they are replaced on the Account page. They can be copied and
// downloaded as a text file, and "I have saved them" must be ticked before they go; Done before
// that keeps them on screen, says why and moves the focus to the box.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { IconClipboard, announce, copyText } from '../ui';

interface HeadingProps {
  id?: string;
  level: 2 | 3;
  text: string;
}

// The heading of a step, which takes the focus when the step appears so a screen reader hears
// it: level 2 on a page of its own, 3 inside a section of the Account page.
export function StepHeading({ id, level, text }: HeadingProps) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), [text]);
  const Tag = level === 2 ? 'h2' : 'h3';
  return (
    <Tag id={id} ref={ref} tabIndex={-1}>
      {text}
    </Tag>
  );
}

interface Props {
  codes: string[];
  email: string | null; // whose codes, named in the downloaded file
  onDone: () => void;
  replaced?: boolean; // new codes for old ones, rather than the first ones
  title?: string;
  doneLabel?: string;
  headingLevel?: 2 | 3;
}

function fileText(codes: string[], email: string | null): string {
  return [
    email ? `usher recovery codes for ${email}` : 'usher recovery codes',
    '',
    'Each code signs you in once, instead of a code from your authenticator app.',
    'Keep them somewhere safe and private, away from your phone.',
    '',
    ...codes,
    '',
  ].join('\n');
}

export function RecoveryCodes(p: Props) {
  const { codes, email, onDone, replaced } = p;
  const [saved, setSaved] = useState(false);
  const [copied, setCopied] = useState(false);
  const [nudge, setNudge] = useState(false);
  const box = useRef<HTMLInputElement>(null);
  const boxId = 'recovery-saved'; // one list of codes is on screen at a time
  const text = fileText(codes, email);
  // The file to download, as a blob: address the CSP allows for a download link.
  const href = useMemo(
    () => URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' })),
    [text],
  );
  useEffect(() => () => URL.revokeObjectURL(href), [href]);
  const warn = nudge && !saved;

  async function copy() {
    if (await copyText(codes.join('\n'))) {
      setCopied(true);
    } else {
      announce('Copying is not available here: download the codes or write them down', 'error');
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
      <StepHeading level={p.headingLevel ?? 3} text={p.title ?? 'Save your recovery codes'} />
      <p class="note note-ok" role="status">
        {replaced ? 'Your old recovery codes no longer work.' : 'Two-step verification is on.'}
      </p>
      <p>
        If you lose your phone, each of these codes signs you in once instead of a code from the
        app. <strong>They are shown only now.</strong> Keep them somewhere safe and private, such as
        a password manager.
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
          <IconClipboard /> Copy
        </button>
        <a class="button" href={href} download="usher-recovery-codes.txt">
          Download .txt
        </a>
        {copied ? (
          <span class="inline-ok" role="status">
            Copied
          </span>
        ) : null}
      </div>
      <div class={`check check-confirm${warn ? ' field-invalid' : ''}`}>
        <input
          ref={box}
          type="checkbox"
          id={boxId}
          checked={saved}
          aria-invalid={warn ? 'true' : undefined}
          aria-describedby={warn ? `${boxId}-error` : undefined}
          onChange={(e) => setSaved((e.currentTarget as HTMLInputElement).checked)}
        />
        <label for={boxId}>I have saved them</label>
      </div>
      {warn ? (
        <p class="field-error" id={`${boxId}-error`}>
          Tick the box once the codes are saved: they cannot be shown again.
        </p>
      ) : null}
      <div class="actions actions-start">
        <button type="button" class="button button-primary" onClick={done}>
          {p.doneLabel ?? 'Done'}
        </button>
      </div>
    </div>
  );
}
