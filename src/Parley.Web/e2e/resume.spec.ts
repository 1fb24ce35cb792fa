import { expect, test, type Page } from '@playwright/test';
import { ParleyApp, uniqueUserName } from './parley-app';

// A reply belongs to its conversation, not to the page that asked for it: reloading or switching away mid-reply and
// coming back shows it continuing (GET /api/conversations/{id}/stream) until it finishes. The echo streams 16 chunks
// Bot__Echo__ChunkDelayMs (250 ms) apart, so a reply takes about 4 s.

const TEXT =
  'Alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november oscar papa quebec romeo ' +
  'sierra tango uniform victor whiskey xray yankee zulu one two three four five six';

/** Resolves with the status of the page's next GET /stream (the client attaching to the running turn). */
function nextFollow(page: Page) {
  return page
    .waitForResponse((r) => r.request().method() === 'GET' && /\/api\/conversations\/[^/]+\/stream$/.test(new URL(r.url()).pathname))
    .then((r) => r.status());
}

async function startReply(app: ParleyApp) {
  const input = app.byTestId('message-input');
  await input.fill(TEXT);
  await input.press('Enter');
  const reply = app.messagesByRole('assistant').last();
  await expect(reply).toContainText('Alpha'); // the reply is streaming
  expect((await reply.innerText()).length).toBeLessThan(TEXT.length);
}

test('a reload mid-reply shows the reply continuing, to the exact text', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}r`));
  await startReply(app);

  const follow = nextFollow(page);
  await page.reload();
  expect(await follow).toBe(200); // the turn was still running: the page attached to it
  const reply = app.messagesByRole('assistant').last();
  await expect(app.byTestId('stop')).toBeVisible();
  await app.screenshot(`${testInfo.project.name}-resumed-after-reload`);
  await expect(reply).toHaveAttribute('data-status', 'completed');
  await expect(reply.locator('.markdown')).toHaveText(TEXT);
  await expect(app.messagesByRole('assistant')).toHaveCount(1);
  await expect(app.byTestId('send')).toBeVisible();
});

test('switching conversations mid-reply and coming back shows the reply continuing', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}w`));
  await app.send('Other');
  await app.newConversation();
  await startReply(app);
  const url = page.url();

  await app.selectConversation('Other');
  await expect(app.messagesByRole('assistant').last().locator('.markdown')).toHaveText('Other');
  if (app.isNarrow) await expect(app.byTestId('new-conversation')).toBeHidden(); // the drawer closed after the choice
  const follow = nextFollow(page);
  await app.selectConversation(/^Alpha/);
  expect(page.url()).toBe(url);
  expect(await follow).toBe(200);
  const reply = app.messagesByRole('assistant').last();
  await expect(reply).toHaveAttribute('data-status', 'completed');
  await expect(reply.locator('.markdown')).toHaveText(TEXT);
  await expect(app.messagesByRole('assistant')).toHaveCount(1);
});

test('a follow that cannot connect shows "reconnecting", retries, and the reply finishes', async ({ page }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}o`));
  await startReply(app);

  // After a reload the page attaches to the running turn; its first attempts fail as if the network were down.
  const stream = /\/api\/conversations\/[^/]+\/stream$/;
  await page.route(stream, (route) => route.abort('internetdisconnected'));
  await page.reload();
  await expect(app.byTestId('reconnecting')).toBeVisible();
  await app.screenshot(`${testInfo.project.name}-reconnecting`);
  await page.unroute(stream);
  const reply = app.messagesByRole('assistant').last();
  await expect(reply).toHaveAttribute('data-status', 'completed');
  await expect(reply.locator('.markdown')).toHaveText(TEXT);
  await expect(app.byTestId('reconnecting')).toBeHidden();
  await expect(app.messagesByRole('assistant')).toHaveCount(1);
});

test('Stop in another tab stops the reply in both', async ({ page, context }, testInfo) => {
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}t`));
  await startReply(app);
  await expect(page).toHaveURL(/\/c\/[^/]+$/);

  const other = new ParleyApp(await context.newPage()); // same browser profile: the same session
  const follow = nextFollow(other.page);
  await other.page.goto(page.url());
  expect(await follow).toBe(200);
  const stopRequest = other.page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/stop'));
  await other.byTestId('stop').click();
  await stopRequest;

  for (const tab of [other, app]) {
    const reply = tab.messagesByRole('assistant').last();
    await expect(reply).toHaveAttribute('data-status', 'cancelled');
    await expect(tab.byTestId('send')).toBeVisible();
  }
  const stopped = (await app.messagesByRole('assistant').last().locator('.markdown').innerText()).trim();
  expect(TEXT.startsWith(stopped) && stopped.length < TEXT.length).toBe(true);
  await expect(other.messagesByRole('assistant').last().locator('.markdown')).toHaveText(stopped);
});
