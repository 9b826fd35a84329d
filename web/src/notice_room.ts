// Room for a notice: the notices are fixed at the bottom of the window (styles.css), so they are
// in sight wherever the page is scrolled; these functions keep them off the controls. While a
// notice shows, the page keeps room for it at its end and focus scrolling stops above it
// (--notice-room); when it appears, the box under it (the page, or a person's panel) scrolls
// just enough that no control in view is under it, or failing that at least the control in use.

// The space kept between a notice and the control just above it, in pixels.
const GAP = 8;
// At most this share of the visible height is scrolled to make room.
const MAX_SHARE = 0.5;

const CONTROLS =
  'a[href], button, input:not([type="hidden"]), select, textarea, summary, [tabindex]:not([tabindex="-1"])';

// The box whose scrolling moves el: el itself (when self) or its nearest ancestor that scrolls
// vertically, the page's scrolling element when none does, or null when el sits in a fixed box
// that does not scroll (the head of a person's panel, a menu, the notice itself). known keeps
// the answers of one pass, by element.
function scrollerOf(
  el: Element,
  known: Map<Element, Element | null>,
  self = false,
): Element | null {
  const seen: Element[] = [];
  let found: Element | null = document.scrollingElement;
  for (let p = self ? el : el.parentElement; p && p !== document.body; p = p.parentElement) {
    if (known.has(p)) {
      found = known.get(p)!;
      break;
    }
    seen.push(p);
    const style = getComputedStyle(p);
    if (/(auto|scroll)/.test(style.overflowY) && p.scrollHeight > p.clientHeight + 1) {
      found = p;
      break;
    }
    if (style.position === 'fixed') {
      found = null;
      break;
    }
  }
  for (const p of seen) known.set(p, found);
  return found;
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

// Scrolls the box under the notice (the page, or a person's panel over it) so that no control in
// view is under the notice: by the least amount that leaves one free, keeping the control in use
// in view and scrolling at most half the visible height. Where no such amount exists (a dense
// column of buttons) it lifts only the control in use above the notice; with onlyFocus, too (the
// person has scrolled since the notice appeared: the page stays where they put it otherwise).
// Nothing moves while a modal dialog is open: it lies over the notice.
export function noticeRoomMake(notice: HTMLElement, onlyFocus = false): void {
  if (document.querySelector('dialog[open]')) return;
  const n = notice.getBoundingClientRect();
  if (!n.height) return;
  const known = new Map<Element, Element | null>();
  const under = document
    .elementsFromPoint(n.left + n.width / 2, n.top + n.height / 2)
    .find((el) => !notice.contains(el) && !el.contains(notice));
  const scroller = under ? scrollerOf(under, known, true) : document.scrollingElement;
  if (!scroller) return;
  const page = scroller === document.scrollingElement;
  const box = page ? null : scroller.getBoundingClientRect();
  const viewTop = box ? Math.max(0, box.top) : 0;
  const viewBottom = box ? Math.min(window.innerHeight, box.bottom) : window.innerHeight;
  const limit = n.top - GAP; // a control's bottom edge must stay above this
  const inColumns = (r: DOMRect) => r.right > n.left && r.left < n.right;

  // The controls this box moves in the notice's columns, but not those it scrolls under a panel.
  const panels = page
    ? [...document.querySelectorAll('.panel')].map((p) => p.getBoundingClientRect())
    : [];
  const hidden = (r: DOMRect) => {
    const x = r.left + r.width / 2;
    const y = r.top + r.height / 2;
    return panels.some((p) => x >= p.left && x <= p.right && y >= p.top && y <= p.bottom);
  };
  const moving: DOMRect[] = [];
  for (const el of document.querySelectorAll<HTMLElement>(CONTROLS)) {
    // A box that holds controls (a table that scrolls sideways takes the focus) is not one.
    if (notice.contains(el) || el.closest('dialog') || el.querySelector(CONTROLS)) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2 || !inColumns(r) || hidden(r)) continue;
    if (scrollerOf(el, known) === scroller) moving.push(r);
  }
  // Whether a control's visible part is under the notice once the box is scrolled by d.
  const covered = (r: DOMRect, d: number) => {
    const top = Math.max(r.top - d, viewTop);
    const bottom = Math.min(r.bottom - d, viewBottom);
    return bottom > top && bottom > limit && top < n.bottom;
  };

  // The control in use: the focused one, when this box moves it and it is in sight. It must end
  // above the notice (when in its columns) and not above the top of the box.
  const active = document.activeElement;
  let f: DOMRect | null = null;
  if (active instanceof HTMLElement && active !== document.body && !notice.contains(active)) {
    const r = active.getBoundingClientRect();
    if (r.bottom > viewTop && r.top < viewBottom && scrollerOf(active, known) === scroller) f = r;
  }
  const least = f && inColumns(f) ? Math.max(0, f.bottom - limit) : 0;
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
