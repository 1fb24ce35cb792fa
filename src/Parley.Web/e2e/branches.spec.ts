import { expect, test, type Locator } from '@playwright/test';
import { ParleyApp, uniqueUserName } from './parley-app';

// Issue 11: edit a message in place, regenerate the last reply, move between versions, and see the same branch after
// a reload; pin and archive conversations.

const row = (app: ParleyApp, role: 'user' | 'assistant', index: number): Locator =>
  app.page.locator(`[data-testid="message-row"][data-role="${role}"]`).nth(index);

test('edit, regenerate, switch versions back and forth, and reload to the same branch', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}b`));
  await app.send('What is a fjord?');
  await app.send('Name three in Norway.');

  // Edit the second question in place: it becomes version 2 of 2 and gets its own reply.
  const second = row(app, 'user', 1);
  await second.hover();
  await second.getByTestId('edit-message').click();
  const editor = app.byTestId('edit-message-input');
  await expect(editor).toHaveValue('Name three in Norway.');
  await editor.fill('Name three in Iceland.');
  await app.byTestId('save-edit').click();
  await expect(row(app, 'user', 1).getByTestId('version-label')).toHaveText('2/2');
  await expect(app.messagesByRole('user').nth(1)).toHaveText('Name three in Iceland.');
  await expect(app.messagesByRole('assistant')).toHaveCount(2);
  await expect(app.messagesByRole('assistant').last()).toHaveAttribute('data-status', 'completed');
  await expect(app.messagesByRole('assistant').last()).toContainText('Name three in Iceland.');

  // Regenerate the last reply: a second version of it.
  const lastReply = row(app, 'assistant', 1);
  await lastReply.hover();
  await lastReply.getByTestId('regenerate').click();
  await expect(row(app, 'assistant', 1).getByTestId('version-label')).toHaveText('2/2');
  await expect(app.messagesByRole('assistant').last()).toHaveAttribute('data-status', 'completed');
  await app.screenshot(`branches-${testInfo.project.name}`);

  // Back to the original question (and its reply), then forward to the edit again.
  await row(app, 'user', 1).getByTestId('previous-version').click();
  await expect(app.messagesByRole('user').nth(1)).toHaveText('Name three in Norway.');
  await expect(row(app, 'user', 1).getByTestId('version-label')).toHaveText('1/2');
  await expect(app.messagesByRole('assistant').last()).toContainText('Name three in Norway.');
  await expect(row(app, 'assistant', 1).getByTestId('version-picker')).toHaveCount(0);
  await row(app, 'user', 1).getByTestId('next-version').click();
  await expect(app.messagesByRole('user').nth(1)).toHaveText('Name three in Iceland.');
  await expect(row(app, 'assistant', 1).getByTestId('version-label')).toHaveText('2/2');

  // The server keeps the branch: a reload shows the same one.
  await page.reload();
  await expect(app.messagesByRole('user').nth(1)).toHaveText('Name three in Iceland.');
  await expect(row(app, 'user', 1).getByTestId('version-label')).toHaveText('2/2');
  await expect(row(app, 'assistant', 1).getByTestId('version-label')).toHaveText('2/2');
  await expect(app.messages).toHaveCount(4);
});

test('pinned conversations come first; archived ones move to the Archived view and back', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}p`));
  await app.send('Packing list for a weekend');
  await app.newConversation();
  await app.send('Recipe for pancakes');
  await app.openSidebar();
  await expect(app.conversationItems.first()).toContainText('Recipe for pancakes');

  const packing = app.conversationItem('Packing list for a weekend');
  await packing.hover();
  await packing.getByTestId('pin-conversation').click();
  await expect(app.conversationItems.first()).toContainText('Packing list for a weekend');
  await expect(packing.getByTestId('pin-conversation')).toHaveAttribute('aria-pressed', 'true');
  await app.screenshot(`pinned-${testInfo.project.name}`);

  const pancakes = app.conversationItem('Recipe for pancakes');
  await pancakes.hover();
  await pancakes.getByTestId('archive-conversation').click();
  await expect(app.conversationItem('Recipe for pancakes')).toHaveCount(0);
  await app.byTestId('show-archived').click();
  await expect(app.byTestId('archived-heading')).toBeVisible();
  await expect(app.conversationItems).toHaveCount(1);
  await expect(app.conversationItem('Recipe for pancakes')).toHaveCount(1);
  await app.conversationItem('Recipe for pancakes').hover();
  await app.conversationItem('Recipe for pancakes').getByTestId('unarchive-conversation').click();
  await expect(app.byTestId('conversations-empty')).toHaveText('No archived conversations.');
  await app.byTestId('leave-archived').click();
  await expect(app.conversationItems).toHaveCount(2);
});
