import { useRef, useState } from 'react';
import { useApi } from '../lib/api-context';
import { describeError } from '../lib/errors';
import { importConversations, type ImportResult } from '../lib/transfer';

/**
 * Import from a file: Parley's JSON export or ChatGPT's conversations.json, sent as is to the server, which stores all
 * of it or nothing. `onImported` gets what was stored; `onError` a sentence saying why the file was refused.
 */
export function ImportButton({ onImported, onError }: { onImported: (result: ImportResult) => void; onError: (message: string) => void }) {
  const api = useApi();
  const inputRef = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);

  async function upload(file: File) {
    setBusy(true);
    try {
      onImported(await importConversations(api, file));
    } catch (caught) {
      onError(`Could not import “${file.name}”. ${describeError(caught)}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <button
        type="button"
        className="btn-ghost text-sm"
        disabled={busy}
        onClick={() => inputRef.current?.click()}
        data-testid="import-conversations"
        title="Import a Parley export or ChatGPT’s conversations.json"
      >
        {busy ? 'Importing…' : 'Import'}
      </button>
      <input
        ref={inputRef}
        type="file"
        accept=".json,application/json"
        className="hidden"
        tabIndex={-1}
        aria-hidden="true"
        data-testid="import-file"
        onChange={(event) => {
          const file = event.target.files?.[0];
          event.target.value = ''; // the same file can be chosen again
          if (file) void upload(file);
        }}
      />
    </>
  );
}
