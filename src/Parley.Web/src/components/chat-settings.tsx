import { useEffect, useState } from 'react';
import { useApi } from '../lib/api-context';
import { describeError } from '../lib/errors';
import type { ModelInfo } from '../lib/types';
import { DocumentsPanel } from './documents-panel';

interface ModelPickerProps {
  models: ModelInfo[];
  value: string;
  onChange: (model: string) => void;
  disabled?: boolean;
}

/** The model of a new conversation (from GET /api/models). */
export function ModelPicker({ models, value, onChange, disabled = false }: ModelPickerProps) {
  if (models.length === 0) return null;
  return (
    <label className="mx-auto mb-2 flex w-full max-w-3xl items-center gap-2 text-xs text-zinc-500">
      Model
      <select
        data-testid="model-picker"
        className="touch-target rounded-md border border-zinc-300 bg-white px-2 py-1 text-xs text-zinc-800"
        value={value}
        disabled={disabled}
        onChange={(event) => onChange(event.target.value)}
      >
        {models.map((model) => (
          <option key={model.id} value={model.id}>
            {model.id}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A conversation's settings: its system prompt (saved with PATCH; the next reply uses it). */
export function ConversationSettings({ conversationId }: { conversationId: string }) {
  const api = useApi();
  const [open, setOpen] = useState(false);
  const [systemPrompt, setSystemPrompt] = useState('');
  const [model, setModel] = useState<string | null>(null);
  const [useDocuments, setUseDocuments] = useState(false);
  const [state, setState] = useState<{ kind: 'idle' | 'loading' | 'saving' | 'saved' } | { kind: 'error'; message: string }>({
    kind: 'idle',
  });

  useEffect(() => {
    if (!open) return;
    let active = true;
    setState({ kind: 'loading' });
    api.getConversation(conversationId).then(
      (conversation) => {
        if (!active) return;
        setSystemPrompt(conversation.systemPrompt ?? '');
        setModel(conversation.model ?? null);
        setUseDocuments(conversation.useDocuments ?? false);
        setState({ kind: 'idle' });
      },
      (caught: unknown) => active && setState({ kind: 'error', message: describeError(caught) }),
    );
    return () => {
      active = false;
    };
  }, [api, conversationId, open]);

  async function toggleDocuments(on: boolean) {
    setUseDocuments(on);
    setState({ kind: 'saving' });
    try {
      setUseDocuments((await api.updateConversation(conversationId, { useDocuments: on })).useDocuments ?? on);
      setState({ kind: 'saved' });
    } catch (caught) {
      setUseDocuments(!on);
      setState({ kind: 'error', message: describeError(caught) });
    }
  }

  async function save() {
    setState({ kind: 'saving' });
    try {
      await api.updateConversation(conversationId, { systemPrompt });
      setState({ kind: 'saved' });
    } catch (caught) {
      setState({ kind: 'error', message: describeError(caught) });
    }
  }

  return (
    <div className="mx-auto mb-2 w-full max-w-3xl text-xs text-zinc-500">
      <button
        type="button"
        data-testid="conversation-settings"
        className="touch-target underline-offset-2 hover:underline"
        aria-expanded={open}
        onClick={() => setOpen((value) => !value)}
      >
        {open ? 'Hide settings' : 'Conversation settings'}
      </button>
      {open && (
        <div className="mt-2 flex flex-col gap-2 rounded-xl border border-zinc-200 p-3">
          {model && <p data-testid="conversation-model">Model: {model}</p>}
          <label className="flex flex-col gap-1" htmlFor="system-prompt">
            System prompt (empty for none)
          </label>
          <textarea
            id="system-prompt"
            data-testid="system-prompt"
            className="min-h-16 rounded-md border border-zinc-300 p-2 text-sm text-zinc-900"
            maxLength={8000}
            value={systemPrompt}
            disabled={state.kind === 'loading' || state.kind === 'saving'}
            onChange={(event) => setSystemPrompt(event.target.value)}
          />
          <label className="flex items-center gap-2 text-zinc-700">
            <input
              type="checkbox"
              data-testid="use-documents"
              checked={useDocuments}
              disabled={state.kind === 'loading' || state.kind === 'saving'}
              onChange={(event) => void toggleDocuments(event.target.checked)}
            />
            Use my documents (replies quote the most relevant parts)
          </label>
          <div className="flex items-center gap-2">
            <button
              type="button"
              data-testid="save-settings"
              className="btn-primary h-8 px-3"
              disabled={state.kind === 'loading' || state.kind === 'saving'}
              onClick={() => void save()}
            >
              Save
            </button>
            {state.kind === 'saved' && <span role="status">Saved; the next reply uses it.</span>}
            {state.kind === 'error' && (
              <span role="alert" className="text-red-700">
                {state.message}
              </span>
            )}
          </div>
          <DocumentsPanel />
        </div>
      )}
    </div>
  );
}
