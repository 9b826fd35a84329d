// Room for a notice: the notices are fixed at the bottom of the window (styles.css), so they are
// in sight wherever the page is scrolled; these functions keep them off the controls. While a
// notice shows, the page keeps room for it at its end and focus scrolling stops above it
// (--notice-room); when it appears, the page scrolls just enough that no control in view is
// under it, or failing that at least the control in use.

// The space kept between a notice and the control just above it, in pixels.
const GAP = 8;
// At most this share of the visible height is scrolled to make room.
const MAX_SHARE = 0.5;

const CONTROLS =
  'a[href], button, input:not([type="hidden"]), select, textarea, summary, [tabindex]:not([tabindex="-1"])';

// The box whose scrolling moves el: its nearest ancestor that scrolls vertically, the page's
// scrolling element when none does, or null when el sits in a fixed box that does not scroll
// (the header of a person's panel, a menu, the notice itself).
function scrollerOf(el: Element): Element | null {
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const style = getComputedStyle(p);
    if (/(auto|scroll)/.test(style.overflowY) && p.scrollHeight > p.clientHeight + 1) return p;
    if (style.position === 'fixed') return null;
  }
  return document.scrollingElement;
}

// Whether the rectangle lies under a person's panel, which covers the page beside (on a phone:
// over) the list.
function underPanel(r: DOMRect, panels: DOMRect[]): boolean {
  const x = r.left + r.width / 2;
  const y = r.top + r.height / 2;
  return panels.some((p) => x >= p.left && x <= p.right && y >= p.top && y <= p.bottom);
}

// Records how much of the window's bottom the notice takes (from its top edge, with the gap),
// as --notice-room on the document: the page's end and its focus scrolling keep clear of it.
export function noticeRoomSet(notice: HTMLElement): void {
  const top = notice.getBoundingClientRect().top;
  const room = Math.max(0, Math.ceil(window.innerHeight - top + GAP));
  document.documentElement.style.setProperty('--notice-room', `${room}px`);
}

// Forgets the room once no notice shows.
export function noticeRoomClear(): void {
  document.documentElement.style.removeProperty('--notice-room');
}

// Scrolls the box that holds the control in use (the page, or a person's panel) so that no
// control in view is under the notice: by the least amount that leaves one free, keeping the
// control in use in view and scrolling at most half the visible height. Where no such amount
// exists (a dense column of buttons) it lifts only the control in use above the notice; with
// onlyFocus, too (the person has scrolled since the notice appeared: the page stays where they
// put it otherwise). Nothing moves while a modal dialog is open: it lies over the notice.
export function noticeRoomMake(notice: HTMLElement, onlyFocus = false): void {
  if (document.querySelector('dialog[open]')) return;
  const n = notice.getBoundingClientRect();
  if (!n.height) return;
  // The control in use: the focused one, when it is in sight.
  const active = document.activeElement;
  let focus =
    active instanceof HTMLElement && active !== document.body && !notice.contains(active)
      ? active
      : null;
  const inSight = (r: DOMRect) => r.bottom > 0 && r.top < window.innerHeight;
  if (focus && !inSight(focus.getBoundingClientRect())) focus = null;
  const scroller = focus ? scrollerOf(focus) : document.scrollingElement;
  if (!scroller) return;
  const page = scroller === document.scrollingElement;
  const box = page ? null : scroller.getBoundingClientRect();
  const viewTop = box ? Math.max(0, box.top) : 0;
  const viewBottom = box ? Math.min(window.innerHeight, box.bottom) : window.innerHeight;
  const limit = n.top - GAP; // a control's bottom edge must stay above this

  // The controls this box moves, in the notice's columns; the page's ones not under a panel.
  const panels = page
    ? [...document.querySelectorAll('.panel')].map((p) => p.getBoundingClientRect())
    : [];
  const moving: DOMRect[] = [];
  for (const el of document.querySelectorAll<HTMLElement>(CONTROLS)) {
    // A box that holds controls (a table that scrolls sideways takes the focus) is not one.
    if (notice.contains(el) || el.closest('dialog') || el.querySelector(CONTROLS)) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2 || r.right <= n.left || r.left >= n.right) continue;
    if (scrollerOf(el) !== scroller || underPanel(r, panels)) continue;
    moving.push(r);
  }
  // Whether a control's visible part is under the notice once the box is scrolled by d.
  const covered = (r: DOMRect, d: number) => {
    const top = Math.max(r.top - d, viewTop);
    const bottom = Math.min(r.bottom - d, viewBottom);
    return bottom > top && bottom > limit && top < n.bottom;
  };

  const f = focus?.getBoundingClientRect();
  const least = f ? Math.max(0, f.bottom - limit) : 0;
  const left = page
    ? scroller.scrollHeight - window.innerHeight - scroller.scrollTop
    : scroller.scrollHeight - scroller.clientHeight - scroller.scrollTop;
  let most = Math.min(left, (viewBottom - viewTop) * MAX_SHARE);
  if (f) most = Math.min(most, f.top - viewTop);
  if (least > most) return;

  let by = least;
  if (!onlyFocus) {
    const tries = [least, ...moving.map((r) => r.bottom - limit)]
      .filter((d) => d >= least && d <= most)
      .sort((a, b) => a - b);
    by = tries.find((d) => !moving.some((r) => covered(r, d))) ?? least;
  }
  if (by > 0) scroller.scrollTop += Math.ceil(by);
}
