import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { ParleyApp, uniqueUserName } from './parley-app';

// axe-core over the pages a new user sees first: no serious or critical violation, in light and dark.

const MARKDOWN_REPLY = [
  '## Results',
  '',
  '| name | score |',
  '| --- | ---: |',
  '| alpha | 1 |',
  '| bravo | 2 |',
  '',
  '- [x] done item',
  '- [ ] open item',
  '',
  'Inline `code`, a [link](https://example.com/) and a block:',
  '',
  '```python',
  'def greet(name):',
  '    return f"Hello, {name}"',
  '```',
].join('\n');

async function seriousViolations(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

for (const scheme of ['light', 'dark'] as const) {
  test(`axe finds no serious or critical violation (${scheme})`, async ({ page }, testInfo) => {
    const app = new ParleyApp(page);
    await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });

    await app.goto('/');
    await expect(app.byTestId('login-username')).toBeVisible();
    expect(await seriousViolations(page), 'login').toEqual([]);

    await app.byTestId('register-link').click();
    await app.byTestId('register-password').fill('weak');
    await app.byTestId('register-submit').click();
    await expect(app.byTestId('register-password')).toHaveAttribute('aria-invalid', 'true');
    expect(await seriousViolations(page), 'register').toEqual([]);

    await app.byTestId('login-link').click();
    await app.signUp(uniqueUserName(`${testInfo.project.name}${scheme[0]}x`));
    await expect(app.byTestId('example-prompt').first()).toBeVisible();
    expect(await seriousViolations(page), 'empty chat').toEqual([]);

    await app.send(MARKDOWN_REPLY);
    const reply = app.messagesByRole('assistant').last();
    await expect(reply.locator('table')).toBeVisible();
    await expect(reply.locator('input[type="checkbox"]')).toHaveCount(2);
    await expect(reply.getByTestId('code-block')).toBeVisible();
    expect(await seriousViolations(page), 'chat with a markdown reply').toEqual([]);

    if (app.isNarrow) {
      await app.openSidebar();
      expect(await seriousViolations(page), 'narrow drawer').toEqual([]);
    }
  });
}

test('touch targets are at least 44 px on a narrow screen', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== 'mobile', 'narrow screens only');
  const app = new ParleyApp(page);
  await app.signUp(uniqueUserName(`${testInfo.project.name}t`));
  await app.send('Hello');
  const small = await page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('main button, main a, main textarea'))
      .filter((el) => el.offsetParent !== null && !el.classList.contains('skip-link'))
      .map((el) => ({ el, box: el.getBoundingClientRect() }))
      .filter(({ box }) => box.width < 44 || box.height < 44)
      .map(({ el, box }) => `${el.tagName} ${el.getAttribute('aria-label') ?? el.textContent?.trim()} ${box.width}×${box.height}`),
  );
  expect(small).toEqual([]);
  await app.openSidebar();
  const smallInDrawer = await page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('#sidebar button, #sidebar a'))
      .filter((el) => el.offsetParent !== null)
      .map((el) => ({ el, box: el.getBoundingClientRect() }))
      .filter(({ box }) => box.width < 44 || box.height < 44)
      .map(({ el, box }) => `${el.tagName} ${el.getAttribute('aria-label') ?? el.textContent?.trim()} ${box.width}×${box.height}`),
  );
  expect(smallInDrawer).toEqual([]);
});
