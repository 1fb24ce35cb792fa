import { expect, test } from '@playwright/test';
import { ParleyApp, uniqueUserName } from './parley-app';

// Issue 12, knowledge: a user uploads a document, turns on "Use my documents" and sees the source under the reply.

test('upload a document, use it in a conversation, and see the source chip under the reply', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.goto('/');
  await app.signUp(uniqueUserName(`${testInfo.project.name}k`));
  await app.send('hello');

  await app.byTestId('conversation-settings').click();
  await expect(app.byTestId('no-documents')).toBeVisible();
  await app.byTestId('document-file').setInputFiles({
    name: 'lighthouse.md',
    mimeType: 'text/markdown',
    buffer: Buffer.from('# Lighthouse\n\nThe Zanzibar lighthouse is painted cobalt blue.\n'),
  });
  await expect(app.byTestId('document')).toHaveCount(1);
  await expect(app.byTestId('document')).toContainText('lighthouse.md');

  await app.byTestId('use-documents').check();
  await expect(app.page.getByText('Saved; the next reply uses it.')).toBeVisible();
  await expect(app.byTestId('use-documents')).toBeChecked();
  await app.screenshot(`documents-settings-${testInfo.project.name}`);

  await app.send('What colour is the Zanzibar lighthouse?');
  const reply = app.messagesByRole('assistant').last();
  await expect(app.page.getByTestId('message-row').last().getByTestId('source-chip')).toHaveText(['lighthouse.md #1']);
  await expect(reply).toHaveAttribute('data-status', 'completed');
  await app.screenshot(`documents-reply-${testInfo.project.name}`);

  // The source is stored with the reply: it is still there after a reload.
  await page.reload();
  await expect(app.page.getByTestId('message-row').last().getByTestId('source-chip')).toHaveText(['lighthouse.md #1']);
  // The first reply, sent before the setting was on, has none.
  await expect(app.page.getByTestId('source-chip')).toHaveCount(1);
});
