import { useCallback, useEffect, useRef, useState } from 'react';

/** How close (px) to the bottom still counts as "at the bottom". */
const THRESHOLD = 80;

/**
 * Keeps a scroll container pinned to its bottom while content grows (a streaming reply), unless the
 * user has scrolled up: then it stays where the user put it until they come back down or call
 * scrollToBottom (e.g. on send).
 */
export function useScrollToBottom<T extends HTMLElement>() {
  const containerRef = useRef<T>(null);
  const stickRef = useRef(true);
  const [isAtBottom, setIsAtBottom] = useState(true);

  const setStick = useCallback((stick: boolean) => {
    stickRef.current = stick;
    setIsAtBottom(stick);
  }, []);

  const scrollToBottom = useCallback(() => {
    const el = containerRef.current;
    setStick(true);
    if (el) el.scrollTop = el.scrollHeight;
  }, [setStick]);

  const onScroll = useCallback(() => {
    const el = containerRef.current;
    if (!el) return;
    setStick(el.scrollHeight - el.scrollTop - el.clientHeight <= THRESHOLD);
  }, [setStick]);

  /** Stops following the bottom (the view was scrolled to something on purpose, such as a search result). */
  const release = useCallback(() => setStick(false), [setStick]);

  // Scrolling up with a wheel must win over content that arrives before the scroll event does.
  const onWheel = useCallback(
    (event: { deltaY: number }) => {
      if (event.deltaY < 0) setStick(false);
    },
    [setStick],
  );

  useEffect(() => {
    const el = containerRef.current;
    if (!el) return;
    const follow = () => {
      if (stickRef.current) el.scrollTop = el.scrollHeight;
    };
    const mutations = new MutationObserver(follow);
    mutations.observe(el, { childList: true, subtree: true, characterData: true });
    const resizes = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(follow);
    resizes?.observe(el);
    follow();
    return () => {
      mutations.disconnect();
      resizes?.disconnect();
    };
  }, []);

  return { containerRef, isAtBottom, scrollToBottom, release, onScroll, onWheel };
}
