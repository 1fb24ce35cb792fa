import { memo } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';

// Raw HTML is never rendered: without rehype-raw (and without skipHtml), react-markdown turns HTML into text, so a
// reply that shows `<script>` or mentions a tag keeps every character. Its default URL transform empties unsafe
// URLs (javascript:, data:…): such links and images are shown as their text. Nothing here uses
// dangerouslySetInnerHTML.

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
  table: ({ node: _node, ...props }) => (
    <div className="markdown-table">
      <table {...props} />
    </div>
  ),
};

const remarkPlugins = [remarkGfm];

export const Markdown = memo(function Markdown({ children }: { children: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={remarkPlugins} components={components}>
        {children}
      </ReactMarkdown>
    </div>
  );
});
