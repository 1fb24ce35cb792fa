import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, problem, testClient } from '../test/fake-fetch';
import { renderWithApi } from '../test/render';
import type { DocumentInfo } from '../lib/types';
import { DocumentsPanel } from './documents-panel';

const notes: DocumentInfo = { id: 'd1', title: 'notes.md', bytes: 2048, chunks: 3, createdAt: '2026-11-27T10:00:00Z' };

describe('DocumentsPanel', () => {
  it('lists the documents, uploads a file as multipart and deletes one', async () => {
    const uploaded: DocumentInfo = { id: 'd2', title: 'guide.txt', bytes: 12, chunks: 1, createdAt: '2026-11-27T11:00:00Z' };
    const { api, requests } = testClient((request) => {
      if (request.method === 'GET') return json([notes]);
      if (request.method === 'POST') return json(uploaded, 201);
      return new Response(null, { status: 204 });
    });
    const { user } = renderWithApi(<DocumentsPanel />, api);

    expect(await screen.findByText('notes.md')).toBeInTheDocument();
    expect(screen.getByText(/2\.0 KB · 3 parts/)).toBeInTheDocument();

    await user.upload(screen.getByTestId('document-file'), new File(['hello there'], 'guide.txt', { type: 'text/plain' }));
    await waitFor(() => expect(screen.getAllByTestId('document')).toHaveLength(2));
    const post = requests.find((r) => r.method === 'POST')!;
    expect(post.url).toMatch(/\/api\/documents$/);
    expect(post.headers.get('Content-Type')).toMatch(/^multipart\/form-data/);
    const form = await post.formData();
    expect(form.has('file')).toBe(true); // jsdom's File does not survive Node's Request intact; the e2e test uploads a real one

    await user.click(screen.getByRole('button', { name: 'Delete notes.md' }));
    await waitFor(() => expect(screen.queryByText('notes.md')).not.toBeInTheDocument());
    expect(requests.some((r) => r.method === 'DELETE' && r.url.endsWith('/api/documents/d1'))).toBe(true);
  });

  it('says why an upload was refused', async () => {
    const { api } = testClient((request) =>
      request.method === 'GET'
        ? json([])
        : problem(415, { detail: 'The file must be plain text (UTF-8, e.g. .txt or .md); binary files and PDFs are not accepted.' }),
    );
    const { user } = renderWithApi(<DocumentsPanel />, api);
    expect(await screen.findByTestId('no-documents')).toBeInTheDocument();

    await user.upload(screen.getByTestId('document-file'), new File(['binary'], 'data.txt', { type: 'text/plain' }));

    expect(await screen.findByRole('alert')).toHaveTextContent(/plain text/);
  });
});
