import { Fragment } from 'react';
import { parseSnippet } from '../lib/search';

/**
 * A search snippet with its matched terms (between « and ») as <mark> elements. Every part is a React text child, so a
 * snippet holding markup (`<img onerror=…>`) shows those characters and runs nothing.
 */
export function Snippet({ text }: { text: string }) {
  return (
    <>
      {parseSnippet(text).map((part, index) =>
        part.marked ? (
          <mark key={index} className="rounded-sm bg-amber-200 px-0.5 text-zinc-950">
            {part.text}
          </mark>
        ) : (
          <Fragment key={index}>{part.text}</Fragment>
        ),
      )}
    </>
  );
}
