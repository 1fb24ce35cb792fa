import { expect, test, type Page } from '@playwright/test';
import fs from 'node:fs';
import { ParleyApp, uniqueUserName } from './parley-app';

// Issue 12 in the browser: search and open a result at its message (also on a branch that is not the current one),
// share links opened logged-out (a snapshot; revoked → gone), import of a ChatGPT export, and export as Markdown.

type Node = { id: string; message: unknown; parent: string | null; children: string[] };

/**
 * A ChatGPT conversations.json with one conversation: a null root, a hidden system message, then `turns` question and
 * answer pairs; at turn `branchAt` an earlier version of the question (with its own reply) that is not on the current
 * branch. Every text is "Question n" / "Answer n" plus the words in `words[n]`.
 */
function chatGptExport(title: string, turns: number, branchAt: number, words: Record<string, string>): string {
  const mapping: Record<string, Node> = {};
  const add = (id: string, parent: string | null, role: string | null, text: string, time: number) => {
    mapping[id] = {
      id,
      parent,
      children: [],
      message: role === null ? null : { author: { role }, create_time: time, content: { content_type: 'text', parts: [text] }, status: 'finished_successfully' },
    };
    if (parent) mapping[parent]!.children.push(id);
  };
  const t0 = 1_700_000_000;
  add('root', null, null, '', t0);
  add('sys', 'root', 'system', '', t0);
  (mapping.sys!.message as { metadata?: unknown }).metadata = { is_visually_hidden_from_conversation: true };
  let parent = 'sys';
  for (let n = 1; n <= turns; n++) {
    if (n === branchAt) {
      add('u-old', parent, 'user', `Question ${n} ${words['old'] ?? ''}`.trim(), t0 + 2 * n);
      add('a-old', 'u-old', 'assistant', `Answer ${n} to the first version`, t0 + 2 * n + 0.5);
    }
    add(`u${n}`, parent, 'user', `Question ${n} ${words[`u${n}`] ?? ''}`.trim(), t0 + 2 * n + 1);
    add(`a${n}`, `u${n}`, 'assistant', `Answer ${n}`, t0 + 2 * n + 1.5);
    parent = `a${n}`;
  }
  return JSON.stringify([{ title, create_time: t0, update_time: t0 + 2 * turns + 2, current_node: parent, mapping }]);
}

async function importFile(app: ParleyApp, name: string, content: string) {
  await app.openSidebar();
  await app.byTestId('import-file').setInputFiles({ name, mimeType: 'application/json', buffer: Buffer.from(content) });
}

async function search(app: ParleyApp, query: string) {
  await app.openSidebar();
  await app.byTestId('search-input').fill(query);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function download(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([page.waitForEvent('download'), click()]);
  const path = await file.path();
  return { name: file.suggestedFilename(), text: fs.readFileSync(path, 'utf8') };
}

test('search opens a result at its message, loading older pages and switching to its branch', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}s`));
  await importFile(app, 'conversations.json', chatGptExport('Travel notes', 40, 20, { u2: 'about the quokka of Rottnest', old: 'about zanzibar spices' }));
  await expect(app.byTestId('toast')).toHaveText('Imported 1 conversation');
  await expect(app.byTestId('conversation-title')).toHaveText('Travel notes');
  await expect(app.messagesByRole('assistant').last()).toHaveText('Answer 40');
  await expect(app.byTestId('toast')).toHaveCount(0); // out of the screenshots

  // An early message of the current branch: older pages load until it is there, then it is scrolled to.
  await search(app, 'quokk');
  const result = app.byTestId('search-result');
  await expect(result).toHaveCount(1);
  await expect(result.getByTestId('search-result-title')).toHaveText('Travel notes');
  await expect(result.getByTestId('search-result-snippet')).toHaveText('Question 2 about the quokka of Rottnest');
  await expect(result.locator('mark')).toHaveText('quokka');
  await app.screenshot(`search-results-${testInfo.project.name}`);
  await result.click();
  const quokka = app.messagesByRole('user').filter({ hasText: 'quokka' });
  await expect(quokka).toHaveText('Question 2 about the quokka of Rottnest');
  await expect(quokka).toBeInViewport();
  await expect(page.locator(`[data-highlighted="true"]`).getByTestId('message')).toHaveText('Question 2 about the quokka of Rottnest');
  await app.screenshot(`search-opened-${testInfo.project.name}`);

  // A message on another branch: the conversation switches to it (its version 1 of 2) and shows it.
  await search(app, 'zanzibar');
  await expect(result).toHaveCount(1);
  await expect(result.getByTestId('search-result-snippet')).toHaveText('Question 20 about zanzibar spices');
  await result.click();
  const old = app.messagesByRole('user').filter({ hasText: 'zanzibar' });
  await expect(old).toHaveText('Question 20 about zanzibar spices');
  await expect(old).toBeInViewport();
  const row = page.locator('[data-highlighted="true"] [data-testid="message-row"]');
  await expect(row.getByTestId('version-label')).toHaveText('1/2');
  await expect(app.messagesByRole('assistant').last()).toHaveText('Answer 20 to the first version');
  await expect(app.messagesByRole('user').filter({ hasText: 'Question 21' })).toHaveCount(0);

  // Escape clears the search and the list comes back.
  await app.openSidebar();
  await app.byTestId('search-input').press('Escape');
  await expect(app.byTestId('search-input')).toHaveValue('');
  await expect(app.byTestId('search-results')).toHaveCount(0);
  await expect(app.conversationItem('Travel notes')).toBeVisible();
});

test('search says when nothing matches', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}n`));
  await search(app, 'nothing-like-this');
  await expect(app.byTestId('search-empty')).toHaveText('No results for “nothing-like-this”.');
});

test('a share link shows the snapshot logged-out, without later turns, until it is revoked', async ({ page, browser }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}h`));
  await app.send('What is a fjord?');
  const title = await app.byTestId('conversation-title').innerText();

  await app.byTestId('conversation-menu').click();
  await app.byTestId('share-conversation').click();
  const url = app.byTestId('share-url');
  await expect(url).toHaveValue(new RegExp(`^${ParleyApp.baseUrl()}/s/[A-Za-z0-9_-]{24}$`));
  const link = await url.inputValue();
  await app.screenshot(`share-dialog-${testInfo.project.name}`);
  await app.byTestId('close-share').click();
  await expect(app.byTestId('share-dialog')).toHaveCount(0);
  await app.send('Name three in Norway.');

  const context = await browser.newContext({ viewport: page.viewportSize() });
  try {
    const visitor = await context.newPage();
    await visitor.goto(link);
    const shared = new ParleyApp(visitor);
    await expect(shared.byTestId('shared-title')).toHaveText(title);
    await expect(shared.byTestId('shared-banner')).toContainText('Shared conversation');
    await expect(shared.messages).toHaveText(['What is a fjord?', 'What is a fjord?']);
    await expect(shared.messagesByRole('assistant')).toHaveCount(1);
    await expect(shared.byTestId('login-username')).toHaveCount(0);
    await expect(shared.byTestId('shared-signup')).toHaveText('Sign up or log in');
    await expect(visitor).toHaveURL(link);
    await shared.screenshot(`shared-page-${testInfo.project.name}`);

    // Revoke it on the account page: the page says the link is gone.
    await app.openSidebar();
    await app.byTestId('account-link').click();
    const item = app.byTestId('share-item');
    await expect(item).toHaveCount(1);
    await expect(item).toContainText(title);
    await item.getByTestId('revoke-share').click();
    await app.byTestId('confirm-delete').click();
    await expect(app.byTestId('shares-empty')).toBeVisible();

    await visitor.reload();
    await expect(shared.byTestId('shared-not-found')).toContainText('This link was revoked or never existed');
    await expect(shared.messages).toHaveCount(0);
  } finally {
    await context.close();
  }
});

test('import a ChatGPT export; a file that is not one says why', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}i`));
  const file = JSON.stringify([
    {
      title: 'From ChatGPT',
      create_time: 1700000000.5,
      current_node: 'a2',
      mapping: {
        root: { id: 'root', message: null, parent: null, children: ['sys'] },
        sys: { id: 'sys', message: { author: { role: 'system' }, content: { content_type: 'text', parts: [''] }, metadata: { is_visually_hidden_from_conversation: true } }, parent: 'root', children: ['u1'] },
        u1: { id: 'u1', message: { author: { role: 'user' }, create_time: 1700000001.25, content: { content_type: 'text', parts: ['Hello there'] } }, parent: 'sys', children: ['a1', 'a2'] },
        a1: { id: 'a1', message: { author: { role: 'assistant' }, create_time: 1700000002, content: { content_type: 'text', parts: ['First answer'] } }, parent: 'u1', children: [] },
        a2: { id: 'a2', message: { author: { role: 'assistant' }, create_time: 1700000003, content: { content_type: 'text', parts: ['Second answer'] } }, parent: 'u1', children: [] },
      },
    },
  ]);
  const balance = await app.balance();
  await importFile(app, 'conversations.json', file);
  await expect(app.byTestId('toast')).toHaveText('Imported 1 conversation');
  await expect(app.byTestId('conversation-title')).toHaveText('From ChatGPT');
  await expect(app.messages).toHaveText(['Hello there', 'Second answer']);
  await expect(page.locator('[data-testid="message-row"][data-role="assistant"]').getByTestId('version-label')).toHaveText('2/2');
  await app.openSidebar();
  await expect(app.conversationItem('From ChatGPT')).toHaveCount(1);
  expect(await app.balance()).toBe(balance); // nothing charged

  await importFile(app, 'notes.json', '{"hello":"world"}');
  await expect(app.byTestId('error')).toContainText(
    'Could not import “notes.json”. The file is neither a Parley export nor a ChatGPT conversations.json.',
  );
});

test('export a conversation as Markdown and all data as JSON', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}x`));
  await app.send('What is a fjord?');
  const title = await app.byTestId('conversation-title').innerText();
  const id = new URL(page.url()).pathname.split('/').at(-1);

  const markdown = await download(page, async () => {
    await app.byTestId('conversation-menu').click();
    await app.byTestId('export-markdown').click();
  });
  expect(markdown.name).toBe(`parley-${id}.md`);
  const stamp = '\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC';
  expect(markdown.text).toMatch(
    new RegExp(`^# ${escapeRegExp(title)}\\n\\n## User — ${stamp}\\n\\nWhat is a fjord\\?\\n\\n## Assistant \\(echo\\) — ${stamp}\\n\\nWhat is a fjord\\?\\n\\n$`),
  );
  await expect(app.byTestId('toast')).toHaveText(`Downloaded parley-${id}.md`);

  await app.openSidebar();
  await app.byTestId('account-link').click();
  const all = await download(page, () => app.byTestId('export-all').click());
  expect(all.name).toBe('parley-export.json');
  const document = JSON.parse(all.text) as { conversations: { id: string; title: string; messages: { role: string; content: string }[] }[] };
  expect(document.conversations.map((c) => [c.id, c.title])).toEqual([[id, title]]);
  expect(document.conversations[0]?.messages.map((m) => [m.role, m.content])).toEqual([
    ['user', 'What is a fjord?'],
    ['assistant', 'What is a fjord?'],
  ]);
});
