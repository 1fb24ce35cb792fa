import { memo, useState, type ReactNode } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import rehypeHighlight, { type Options as HighlightOptions } from 'rehype-highlight';
import remarkGfm from 'remark-gfm';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import csharp from 'highlight.js/lib/languages/csharp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import shell from 'highlight.js/lib/languages/shell';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import 'highlight.js/styles/github-dark.css';
import { copyText } from '../lib/clipboard';
import { CheckIcon, CopyIcon } from './icons';

// Raw HTML is never rendered: without rehype-raw (and without skipHtml), react-markdown turns HTML into text, so a
// reply that shows `<script>` or mentions a tag keeps every character. Its default URL transform empties unsafe
// URLs (javascript:, data:…): such links and images are shown as their text. Nothing here uses
// dangerouslySetInnerHTML: highlight.js (through rehype-highlight/lowlight) produces elements, not HTML strings.

/** The languages highlighted (with their usual aliases: js, ts, sh, cs, html…); others are shown plain. */
const highlightOptions: HighlightOptions = {
  detect: false,
  languages: { bash, c, cpp, csharp, css, diff, go, java, javascript, json, markdown, python, rust, shell, sql, typescript, xml, yaml },
};

interface HastNode {
  type: string;
  value?: string;
  tagName?: string;
  properties?: { className?: unknown };
  children?: HastNode[];
}

function textOf(node: HastNode | undefined): string {
  if (!node) return '';
  if (node.type === 'text') return node.value ?? '';
  return (node.children ?? []).map(textOf).join('');
}

function CodeBlock({ language, code, children }: { language: string | null; code: string; children: ReactNode }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    if (await copyText(code)) {
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    }
  }
  return (
    <div className="code-block" data-testid="code-block">
      <div className="code-block-header">
        <span data-testid="code-language">{language ?? 'text'}</span>
        <button type="button" onClick={() => void copy()} className="code-copy" data-testid="copy-code">
          {copied ? <CheckIcon width={14} height={14} /> : <CopyIcon width={14} height={14} />}
          {copied ? 'Copied' : 'Copy'}
          <span className="sr-only"> code</span>
        </button>
      </div>
      <pre>{children}</pre>
    </div>
  );
}

/** Markdown headings sit under the page's h1 (the conversation title) and the reply itself: # becomes an h3. */
const heading =
  (Tag: 'h3' | 'h4' | 'h5' | 'h6', level: number): Components['h1'] =>
  ({ node: _node, ...props }) => <Tag data-level={level} {...props} />;

const components: Components = {
  a: ({ node: _node, href, children, ...props }) =>
    href ? (
      <a {...props} href={href} target="_blank" rel="noopener noreferrer nofollow">
        {children}
      </a>
    ) : (
      <span data-blocked="link">{children}</span>
    ),
  // Images from other sites are blocked by the Content-Security-Policy (and would tell them who reads the reply):
  // an image is a link to its address, or its alt text when the address was unsafe.
  img: ({ src, alt }) =>
    typeof src === 'string' && src ? (
      <a href={src} target="_blank" rel="noopener noreferrer nofollow" data-kind="image">
        {alt || src}
      </a>
    ) : (
      <span data-blocked="image">{alt}</span>
    ),
  h1: heading('h3', 1),
  h2: heading('h4', 2),
  h3: heading('h5', 3),
  h4: heading('h6', 4),
  h5: heading('h6', 5),
  h6: heading('h6', 6),
  pre: ({ node, children }) => {
    const code = (node as HastNode | undefined)?.children?.find((child) => child.tagName === 'code');
    const classes = code?.properties?.className;
    const language =
      (Array.isArray(classes) ? classes : [])
        .map(String)
        .find((name) => name.startsWith('language-'))
        ?.slice('language-'.length) ?? null;
    return (
      <CodeBlock language={language} code={textOf(code).replace(/\n$/, '')}>
        {children}
      </CodeBlock>
    );
  },
  // GFM task list items: a read-only checkbox needs a name of its own.
  input: ({ node: _node, type, checked, ...props }) =>
    type === 'checkbox' ? (
      <input {...props} type="checkbox" checked={!!checked} readOnly disabled aria-label={checked ? 'Done' : 'Not done'} />
    ) : (
      <input {...props} type={type} />
    ),
  table: ({ node: _node, ...props }) => (
    <div className="markdown-table">
      <table {...props} />
    </div>
  ),
};

const remarkPlugins = [remarkGfm];
const rehypePlugins: [typeof rehypeHighlight, HighlightOptions][] = [[rehypeHighlight, highlightOptions]];

export const Markdown = memo(function Markdown({ children }: { children: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={remarkPlugins} rehypePlugins={rehypePlugins} components={components}>
        {children}
      </ReactMarkdown>
    </div>
  );
});
