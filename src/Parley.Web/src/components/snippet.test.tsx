import { render } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { parseSnippet } from '../lib/search';
import { Snippet } from './snippet';

describe('parseSnippet', () => {
  it('splits at the «» marks', () => {
    expect(parseSnippet('…the «fjord» is «deep» here')).toEqual([
      { text: '…the ', marked: false },
      { text: 'fjord', marked: true },
      { text: ' is ', marked: false },
      { text: 'deep', marked: true },
      { text: ' here', marked: false },
    ]);
  });

  it('marks to the end after an unclosed «, keeps a stray » as text and drops empty parts', () => {
    expect(parseSnippet('a » b «c')).toEqual([
      { text: 'a » b ', marked: false },
      { text: 'c', marked: true },
    ]);
    expect(parseSnippet('«»x')).toEqual([{ text: 'x', marked: false }]);
    expect(parseSnippet('')).toEqual([]);
  });
});

describe('Snippet', () => {
  it('renders the marked terms as <mark> elements and the rest as text', () => {
    const { container } = render(<Snippet text="Norway's «fjords» are «deep»…" />);
    expect([...container.querySelectorAll('mark')].map((m) => m.textContent)).toEqual(['fjords', 'deep']);
    expect(container.textContent).toBe("Norway's fjords are deep…");
  });

  it('shows markup in a snippet as its characters and never runs it', () => {
    const payload = '<img src=x onerror="window.__pwned=1">';
    const { container } = render(<Snippet text={`before «${payload}» and <b>bold</b> after`} />);
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('b')).toBeNull();
    expect(container.querySelector('mark')?.textContent).toBe(payload);
    expect(container.textContent).toBe(`before ${payload} and <b>bold</b> after`);
    expect((window as { __pwned?: number }).__pwned).toBeUndefined();
  });
});
