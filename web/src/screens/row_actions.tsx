// A row's actions behind one button ("Actions for Mia Jansen"), so a wide table keeps them in a
// narrow column next to the name: a menu button opening a list of menu items, moved through
// with the arrow keys, closed with Escape or Tab, focus back on the button.
import { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { VIEW_AS_NOTE_ID } from '../access';
import { useId } from '../ui';

export interface RowAction {
  label: string; // what the item says ("Remove from agency")
  onSelect: () => void;
  danger?: boolean;
  disabled?: boolean; // shown but not usable (viewing as someone)
  reason?: string; // why it is disabled, shown as its tooltip
  icon?: ComponentChildren;
}

interface Props {
  name: string; // the person or thing of the row, in the button's label
  actions: RowAction[];
  note?: string; // shown instead of the button when there is nothing to do
}

export function RowActions({ name, actions, note }: Props) {
  const [open, setOpen] = useState(false);
  const [pos, setPos] = useState<{ top: number; left: number; up: boolean } | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);
  const id = useId('actions');

  // Where the menu goes: under the button, or above it near the bottom of the window, and
  // never past either side.
  function place() {
    const r = button.current?.getBoundingClientRect();
    if (!r) return;
    const width = 240;
    const left = Math.max(8, Math.min(r.right - width, window.innerWidth - width - 8));
    const height = 48 * actions.length;
    const up = r.bottom + height + 16 > window.innerHeight && r.top > height;
    setPos({ top: up ? r.top - 4 : r.bottom + 4, left, up });
  }

  function show() {
    place();
    setOpen(true);
  }

  useLayoutEffect(() => {
    if (!open) return;
    const items = menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]');
    items?.[0]?.focus();
  }, [open]);

  useEffect(() => {
    if (!open) return;
    // Closes on a click elsewhere, a resize, or a scroll of anything but the menu itself (the
    // target of a scroll or resize may be the document or the window, which are not nodes).
    const close = (e: Event) => {
      const target = e.target instanceof Node ? e.target : null;
      const inMenu = !!target && !!menu.current?.contains(target);
      const onButton = !!target && !!button.current?.contains(target);
      if (e.type === 'scroll' && inMenu) return;
      if (e.type === 'mousedown' && (inMenu || onButton)) return;
      setOpen(false);
    };
    window.addEventListener('mousedown', close);
    window.addEventListener('resize', close);
    window.addEventListener('scroll', close, true);
    return () => {
      window.removeEventListener('mousedown', close);
      window.removeEventListener('resize', close);
      window.removeEventListener('scroll', close, true);
    };
  }, [open]);

  function onMenuKey(e: KeyboardEvent) {
    const items = [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') || [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const go = (i: number) => items[(i + items.length) % items.length]?.focus();
    if (e.key === 'ArrowDown') go(at + 1);
    else if (e.key === 'ArrowUp') go(at - 1);
    else if (e.key === 'Home') go(0);
    else if (e.key === 'End') go(items.length - 1);
    else if (e.key === 'Escape' || e.key === 'Tab') {
      setOpen(false);
      button.current?.focus();
    } else return;
    e.preventDefault();
    e.stopPropagation();
  }

  if (!actions.length) return <span class="muted">{note || '—'}</span>;
  return (
    <>
      <button
        ref={button}
        type="button"
        class="button button-small row-menu-button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        aria-label={`Actions for ${name}`}
        onClick={() => (open ? setOpen(false) : show())}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' && !open) {
            e.preventDefault();
            show();
          }
        }}
      >
        Actions <span aria-hidden="true">▾</span>
      </button>
      {open ? (
        <ul
          ref={menu}
          id={id}
          role="menu"
          aria-label={`Actions for ${name}`}
          class={`row-menu${pos?.up ? ' row-menu-up' : ''}`}
          style={pos ? { top: `${pos.top}px`, left: `${pos.left}px` } : undefined}
          onKeyDown={onMenuKey}
        >
          {actions.map((a) => (
            <li key={a.label} role="none">
              <button
                type="button"
                role="menuitem"
                tabIndex={-1}
                class={a.danger ? 'row-menu-item row-menu-danger' : 'row-menu-item'}
                aria-disabled={a.disabled ? 'true' : undefined}
                title={a.disabled ? a.reason : undefined}
                aria-describedby={a.disabled && a.reason ? VIEW_AS_NOTE_ID : undefined}
                onClick={() => {
                  if (a.disabled) return;
                  setOpen(false);
                  button.current?.focus();
                  a.onSelect();
                }}
              >
                {a.icon}
                {a.label}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}
