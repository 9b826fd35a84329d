// The signed-in person's name in the header: a button that opens a small menu with their email
// address and the way to their Account page. Escape, a click elsewhere or following the link
// closes it; Escape puts the focus back on the button.
import { useEffect, useRef, useState } from 'preact/hooks';
import { fullName } from './format';
import { Link, useLocation } from './router';
import type { Me } from './types';

const IconPerson = () => (
  <svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
    <path d="M12 4a4 4 0 1 1 0 8 4 4 0 0 1 0-8zm0 2a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm0 8c4 0 7 2 7 4.5V20H5v-1.5C5 16 8 14 12 14zm0 2c-2.6 0-4.5 1-4.9 2h9.8c-.4-1-2.3-2-4.9-2z" />
  </svg>
);

export function UserMenu({ me }: { me: Me }) {
  const [open, setOpen] = useState(false);
  const { path } = useLocation();
  const box = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);

  useEffect(() => setOpen(false), [path]);
  useEffect(() => {
    if (!open) return;
    const onClick = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      setOpen(false);
      button.current?.focus();
    };
    document.addEventListener('click', onClick);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('click', onClick);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  return (
    <div class="user-menu" ref={box}>
      <button
        ref={button}
        type="button"
        class="user-menu-button"
        aria-expanded={open ? 'true' : 'false'}
        aria-controls="user-menu-list"
        onClick={() => setOpen(!open)}
      >
        <IconPerson />
        <span class="top-user-name">{fullName(me.user)}</span>
      </button>
      {open ? (
        <div class="user-menu-list" id="user-menu-list">
          <p class="user-menu-email">{me.user.email}</p>
          <Link href="/account" aria-current={path === '/account' ? 'page' : undefined}>
            Account
          </Link>
        </div>
      ) : null}
    </div>
  );
}
