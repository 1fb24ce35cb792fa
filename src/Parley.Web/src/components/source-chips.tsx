import type { MessageSource } from '../lib/types';

/** The document chunks a reply was grounded on, as small chips "title #chunk" (chunks are numbered from 1 here). */
export function SourceChips({ sources }: { sources?: MessageSource[] | null }) {
  if (!sources || sources.length === 0) return null;
  return (
    <ul className="mt-2 flex flex-wrap gap-1.5" aria-label="Sources from your documents" data-testid="sources">
      {sources.map((source) => (
        <li
          key={`${source.documentId}:${source.chunkIndex}`}
          data-testid="source-chip"
          title={`From your document "${source.title}", part ${source.chunkIndex + 1}`}
          className="max-w-[16rem] truncate rounded-full border border-zinc-200 bg-zinc-50 px-2 py-0.5 text-xs text-zinc-600"
        >
          {`${source.title} #${source.chunkIndex + 1}`}
        </li>
      ))}
    </ul>
  );
}
