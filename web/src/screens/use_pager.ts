// Keyset paging for a list screen: the cursor of the page shown and the cursors of the pages
// before it, so "Previous page" goes back exactly. Spread pager.props(next) into <Pager>.
import { useCallback, useState } from 'preact/hooks';

export interface PagerState {
  cursor: string | null;
  // Back to the first page (after a change of filters).
  reset: () => void;
  props: (next: string | null | undefined) => {
    hasPrevious: boolean;
    next: string | null;
    onPrevious: () => void;
    onNext: (c: string) => void;
  };
}

export function usePager(): PagerState {
  const [cursor, setCursor] = useState<string | null>(null);
  const [trail, setTrail] = useState<(string | null)[]>([]);
  const reset = useCallback(() => {
    setCursor(null);
    setTrail([]);
  }, []);
  return {
    cursor,
    reset,
    props: (next) => ({
      hasPrevious: trail.length > 0,
      next: next || null,
      onPrevious: () => {
        setCursor(trail[trail.length - 1] ?? null);
        setTrail(trail.slice(0, -1));
      },
      onNext: (c) => {
        setTrail([...trail, cursor]);
        setCursor(c);
      },
    }),
  };
}
