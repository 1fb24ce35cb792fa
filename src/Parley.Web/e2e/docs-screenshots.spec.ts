import { expect, test } from '@playwright/test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ParleyApp, uniqueUserName } from './parley-app';

// Refreshes the screenshots in docs/ (light and dark, desktop and 375 px). Run on purpose only:
//   PARLEY_DOCS_SCREENSHOTS=1 npx playwright test e2e/docs-screenshots.spec.ts --project=desktop

const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs');

const REPLY = [
  'Here is a quick comparison:',
  '',
  '| | SQLite | PostgreSQL |',
  '| --- | --- | --- |',
  '| Setup | a file | a server |',
  '| Writers | one at a time | many |',
  '',
  '- [x] Start with SQLite',
  '- [ ] Move to PostgreSQL when you scale out',
  '',
  '```csharp',
  'var options = new DbContextOptionsBuilder<ParleyDbContext>()',
  '    .UseSqlite("Data Source=parley.db")',
  '    .Options;',
  '```',
].join('\n');

test('docs screenshots', async ({ page }, testInfo) => {
  test.skip(!process.env.PARLEY_DOCS_SCREENSHOTS || testInfo.project.name !== 'desktop', 'set PARLEY_DOCS_SCREENSHOTS=1');
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName('docs'));
  // First run: the empty chat with its example prompts, on a phone.
  await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'reduce' });
  await page.setViewportSize({ width: 375, height: 812 });
  await expect(app.byTestId('example-prompt')).toHaveCount(4);
  await expect(page.locator('#sidebar')).not.toBeInViewport();
  await page.screenshot({ path: path.join(docs, 'screenshot-light-375-empty.png') });
  await page.setViewportSize({ width: 1280, height: 800 });
  await app.send('Which database should a small chat server start with?');
  await app.send(REPLY);
  await page.mouse.move(0, 0);
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
    for (const [name, size] of [
      ['desktop', { width: 1280, height: 800 }],
      ['375', { width: 375, height: 812 }],
    ] as const) {
      await page.setViewportSize(size);
      await expect(app.messagesByRole('assistant').last().getByTestId('code-block')).toBeVisible();
      await page.getByTestId('messages').evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await page.screenshot({ path: path.join(docs, `screenshot-${scheme}-${name}.png`) });
    }
  }
  // The narrow drawer, dark.
  await app.byTestId('sidebar-toggle').click();
  await expect(app.byTestId('new-conversation')).toBeFocused();
  await page.screenshot({ path: path.join(docs, 'screenshot-dark-375-drawer.png') });
});
