import { useCallback, useEffect, useRef, useState, type ChangeEvent } from 'react';
import { useApi } from '../lib/api-context';
import { describeError } from '../lib/errors';
import type { DocumentInfo } from '../lib/types';

function formatSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The user's documents for "Use my documents": upload a text or Markdown file, see them, delete them. */
export function DocumentsPanel() {
  const api = useApi();
  const input = useRef<HTMLInputElement>(null);
  const [documents, setDocuments] = useState<DocumentInfo[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setDocuments(await api.listDocuments());
    } catch (caught) {
      setError(describeError(caught));
    }
  }, [api]);

  useEffect(() => {
    void load();
  }, [load]);

  async function upload(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      const created = await api.uploadDocument(file);
      setDocuments((current) => [created, ...(current ?? [])]);
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  }

  async function remove(document: DocumentInfo) {
    setBusy(true);
    setError(null);
    try {
      await api.deleteDocument(document.id);
      setDocuments((current) => (current ?? []).filter((d) => d.id !== document.id));
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="documents-heading" data-testid="documents-panel" className="flex flex-col gap-2">
      <div className="flex items-center justify-between gap-2">
        <h2 id="documents-heading" className="text-xs font-medium text-zinc-700">
          My documents
        </h2>
        <button type="button" className="btn-secondary h-8 px-3" data-testid="upload-document" disabled={busy} onClick={() => input.current?.click()}>
          {busy ? 'Working…' : 'Upload'}
        </button>
        <input
          ref={input}
          type="file"
          accept=".txt,.md,.markdown,.csv,.json,.html,.xml,.yaml,.yml,text/*"
          className="hidden"
          data-testid="document-file"
          aria-label="Upload a text or Markdown document"
          onChange={(event) => void upload(event)}
        />
      </div>
      {documents === null && !error && <p>Loading…</p>}
      {documents?.length === 0 && <p data-testid="no-documents">No documents yet. Upload plain text or Markdown.</p>}
      {documents && documents.length > 0 && (
        <ul className="flex flex-col gap-1" data-testid="document-list">
          {documents.map((document) => (
            <li key={document.id} data-testid="document" className="flex items-center justify-between gap-2">
              <span className="truncate text-zinc-800" title={document.title}>
                {document.title}
                <span className="ml-2 text-zinc-500">
                  {formatSize(document.bytes)} · {document.chunks} {document.chunks === 1 ? 'part' : 'parts'}
                </span>
              </span>
              <button
                type="button"
                className="touch-target text-red-700 underline-offset-2 hover:underline"
                aria-label={`Delete ${document.title}`}
                data-testid="delete-document"
                disabled={busy}
                onClick={() => void remove(document)}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p role="alert" className="text-red-700" data-testid="documents-error">
          {error}
        </p>
      )}
    </section>
  );
}
