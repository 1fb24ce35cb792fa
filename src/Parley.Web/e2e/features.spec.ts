import { expect, test } from '@playwright/test';
import { ParleyApp, uniqueUserName } from './parley-app';

// Issue 17 features: dark mode, code blocks, copying, keyboard shortcuts, first-run details.

const bodyBackground = (app: ParleyApp) => app.page.evaluate(() => getComputedStyle(document.body).backgroundColor);

test('dark mode follows the system, and a Light / Dark / System choice persists', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await page.emulateMedia({ colorScheme: 'dark' });
  // No white flash: the stylesheet alone (before any script runs) follows the system.
  const scripts = /\/assets\/.*\.js$/;
  await page.route(scripts, (route) => route.abort());
  await app.goto('/');
  expect(await bodyBackground(app)).toBe('rgb(30, 30, 33)');
  await page.unroute(scripts);
  await app.goto('/');
  await expect(app.byTestId('login-username')).toBeVisible();
  await expect.poll(() => bodyBackground(app)).toBe('rgb(30, 30, 33)');
  await page.emulateMedia({ colorScheme: 'light' });
  await expect.poll(() => bodyBackground(app)).toBe('rgb(255, 255, 255)');

  await app.signUp(uniqueUserName(`${testInfo.project.name}d`));
  await app.openSidebar();
  await expect(app.byTestId('theme-system')).toHaveAttribute('aria-pressed', 'true');
  await app.byTestId('theme-dark').click();
  await expect.poll(() => bodyBackground(app)).toBe('rgb(30, 30, 33)');
  await page.reload();
  await expect.poll(() => bodyBackground(app)).toBe('rgb(30, 30, 33)');

  // Light wins over a dark system once chosen; System follows it again.
  await page.emulateMedia({ colorScheme: 'dark' });
  await app.openSidebar();
  await app.byTestId('theme-light').click();
  await page.reload();
  await expect.poll(() => bodyBackground(app)).toBe('rgb(255, 255, 255)');
  await app.openSidebar();
  await expect(app.byTestId('theme-light')).toHaveAttribute('aria-pressed', 'true');
  await app.byTestId('theme-system').click();
  await expect.poll(() => bodyBackground(app)).toBe('rgb(30, 30, 33)');
});

test('a code block has a language header, highlighting and a Copy button; a message can be copied', async ({
  page,
  context,
}, testInfo) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ParleyApp.baseUrl() });
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}c`));
  const code = 'const answer: number = 42;\nconsole.log(answer);';
  await app.send(`Here:\n\n\`\`\`ts\n${code}\n\`\`\``);
  const reply = app.messagesByRole('assistant').last();
  const block = reply.getByTestId('code-block');
  await expect(block.getByTestId('code-language')).toHaveText('ts');
  await expect(block.locator('code .hljs-keyword').first()).toHaveText('const');
  await block.getByTestId('copy-code').click();
  await expect(block.getByTestId('copy-code')).toContainText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(code);

  await reply.hover();
  await app.byTestId('copy-message').last().click();
  await expect(app.byTestId('toast')).toHaveText('Copied to clipboard');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`Here:\n\n\`\`\`ts\n${code}\n\`\`\``);
  await expect(app.byTestId('message-time').last()).toBeVisible();
});

test('keyboard: skip link, Ctrl+K, Ctrl+Shift+O and Escape to stop', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}k`));
  await app.send('first chat');
  const firstUrl = page.url();

  // The skip link is the first stop on the page, shown when focused, and leads to the composer.
  const skip = page.getByRole('link', { name: 'Skip to message box' });
  const firstStop = await page.evaluate(() => document.querySelector('a[href], button, input, textarea')?.textContent);
  expect(firstStop).toBe('Skip to message box');
  const width = async () => (await skip.boundingBox())?.width ?? 0;
  expect(await width()).toBeLessThanOrEqual(1); // visually hidden until focused
  await skip.focus();
  await expect.poll(width).toBeGreaterThan(40);
  await page.keyboard.press('Enter');
  await expect(app.byTestId('message-input')).toBeFocused();

  // Ctrl+K: to the conversation list (on a narrow screen, the drawer opens with focus inside it).
  await page.keyboard.press('Control+k');
  if (app.isNarrow) {
    await expect(app.byTestId('new-conversation')).toBeFocused();
    await page.keyboard.press('Escape');
  } else {
    await expect(app.conversationItem('first chat').getByTestId('conversation-link')).toBeFocused();
  }

  // Ctrl+Shift+O: a new chat, with the composer focused.
  await page.keyboard.press('Control+Shift+O');
  await expect(page).toHaveURL(/\/$/);
  expect(page.url()).not.toBe(firstUrl);
  await expect(app.byTestId('message-input')).toBeFocused();

  // Escape stops a running reply.
  const input = app.byTestId('message-input');
  await input.fill('Alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima');
  await input.press('Enter');
  const reply = app.messagesByRole('assistant').last();
  await expect(reply).toContainText('Alpha');
  await page.keyboard.press('Escape');
  await expect(reply).toHaveAttribute('data-status', 'cancelled');
});

test('a reply is announced once, when complete; markdown headings add no h1', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}h`));
  await expect(page.getByRole('log')).toHaveCount(0);
  const input = app.byTestId('message-input');
  await input.fill('# Big title\n\n## Smaller\n\nBody text');
  await input.press('Enter');
  const reply = app.messagesByRole('assistant').last();
  await expect(reply).toContainText('Big');
  await expect(reply).toHaveAttribute('data-status', 'pending');
  await expect(app.byTestId('reply-announcement')).toHaveText('');
  await expect(page.getByRole('log')).toHaveAttribute('aria-live', 'off');
  await expect(reply).toHaveAttribute('data-status', 'completed');
  await expect(app.byTestId('reply-announcement')).toHaveText('Reply: # Big title\n\n## Smaller\n\nBody text');
  await expect(page.locator('h1')).toHaveCount(1);
  await expect(reply.getByRole('heading', { name: 'Big title' })).toHaveJSProperty('tagName', 'H3');
});

test('an example prompt starts the first chat', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}e`));
  await app.byTestId('example-prompt').filter({ hasText: 'Compare options' }).click();
  const reply = app.messagesByRole('assistant').last();
  await expect(reply).toHaveAttribute('data-status', 'completed');
  await expect(reply).toContainText('Compare SQLite and PostgreSQL');
  await expect(page).toHaveURL(/\/c\/[^/]+$/);
});
