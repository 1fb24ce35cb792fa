import { expect, test } from '@playwright/test';
import { PASSWORD, ParleyApp, uniqueUserName } from './parley-app';

test('an admin tops up a user who is out of tokens, who can then send again', async ({ browser, request }, testInfo) => {
  // This project's administrator, named in the server's Admin__Users (playwright.config.ts), registered here.
  const ADMIN = `e2e_admin_${testInfo.project.name}`;
  const registered = await request.post(`${process.env.PARLEY_BASE_URL}/api/auth/register`, { data: { userName: ADMIN, password: PASSWORD } });
  expect(registered.status()).toBe(201);
  const userName = uniqueUserName('broke');

  // The user spends the 1,000 tokens (4 messages at 250) and is stopped.
  const userContext = await browser.newContext({ viewport: testInfo.project.use.viewport ?? undefined });
  const user = new ParleyApp(await userContext.newPage());
  await user.signUp(userName);
  for (let i = 1; i <= 4; i++) await user.send(`message ${i}`);
  expect(await user.balance()).toBe(0);
  await expect(user.byTestId('out-of-tokens')).toBeVisible();

  // The admin finds the user, tops them up, and sees the new balance.
  const adminContext = await browser.newContext({ viewport: testInfo.project.use.viewport ?? undefined });
  const admin = new ParleyApp(await adminContext.newPage());
  await admin.goto('/');
  await admin.login(ADMIN, PASSWORD);
  await admin.openSidebar();
  await admin.byTestId('admin-link').click();
  await expect(admin.page).toHaveURL(/\/admin$/);
  await admin.byTestId('admin-search').fill(userName);
  const row = admin.page.locator(`[data-testid="admin-user"][data-user="${userName}"]`);
  await expect(row).toHaveCount(1);
  await expect(admin.byTestId('admin-user')).toHaveCount(1);
  await expect(row.getByTestId('admin-user-balance')).toHaveText('0');
  await row.getByTestId('admin-topup-amount').fill('500');
  await row.getByTestId('admin-topup').click();
  await expect(row.getByTestId('admin-user-balance')).toHaveText(/^500$/);
  await admin.screenshot(`admin-${testInfo.project.name}`);

  // The user can send again (the page refreshes the balance after a reload).
  await user.page.reload();
  expect(await user.balance()).toBe(500);
  await user.send('thanks for the tokens');
  expect(await user.balance()).toBe(250);

  // The account page shows where the tokens came from.
  await user.openSidebar();
  await user.byTestId('account-link').click();
  await expect(user.page).toHaveURL(/\/account$/);
  await expect(user.page.locator('[data-testid="transaction"][data-kind="topup"]')).toHaveCount(1);
  await expect(user.byTestId('session').first()).toBeVisible();
  await user.screenshot(`account-${testInfo.project.name}`);

  await userContext.close();
  await adminContext.close();
});
