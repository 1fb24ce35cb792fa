import { expect, type Locator, type Page } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const screenshotDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');

export const PASSWORD = 'Parley#2026';

/** A user name no other test (or earlier run) used. */
export function uniqueUserName(tag: string): string {
  return `e2e_${tag}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`.slice(0, 32);
}

/** Page object for the Parley SPA; every selector is a data-testid. */
export class ParleyApp {
  constructor(readonly page: Page) {}

  static baseUrl(): string {
    const url = process.env.PARLEY_BASE_URL;
    if (!url) throw new Error('PARLEY_BASE_URL is not set: playwright.config.ts did not start the server.');
    return url;
  }

  get isNarrow(): boolean {
    return (this.page.viewportSize()?.width ?? 1280) < 768;
  }

  byTestId(id: string): Locator {
    return this.page.getByTestId(id);
  }

  get conversationItems(): Locator {
    return this.byTestId('conversation-item');
  }

  conversationItem(title: string | RegExp): Locator {
    return this.conversationItems.filter({ has: this.page.getByTestId('conversation-link').filter({ hasText: title }) });
  }

  get messages(): Locator {
    return this.byTestId('message');
  }

  messagesByRole(role: 'user' | 'assistant'): Locator {
    return this.page.locator(`[data-testid="message"][data-role="${role}"]`);
  }

  async goto(pathname = '/') {
    await this.page.goto(`${ParleyApp.baseUrl()}${pathname}`);
  }

  async screenshot(name: string) {
    fs.mkdirSync(screenshotDir, { recursive: true });
    await this.page.screenshot({ path: path.join(screenshotDir, `${name}.png`) });
  }

  async register(userName: string, password: string, email?: string) {
    await this.byTestId('register-link').click();
    await this.byTestId('register-username').fill(userName);
    if (email) await this.byTestId('register-email').fill(email);
    await this.byTestId('register-password').fill(password);
    await this.byTestId('register-submit').click();
  }

  /** Opens the app, registers a new user and ends signed in, on an empty new chat. */
  async signUp(userName: string, password = PASSWORD) {
    await this.goto('/');
    await this.register(userName, password);
    await expect(this.byTestId('token-balance')).toHaveText(/\d/);
  }

  async login(userName: string, password: string) {
    await this.byTestId('login-username').fill(userName);
    await this.byTestId('login-password').fill(password);
    await this.byTestId('login-submit').click();
    await expect(this.byTestId('token-balance')).toHaveText(/\d/);
  }

  async balance(): Promise<number> {
    await expect(this.byTestId('token-balance')).toHaveText(/\d/);
    return Number((await this.byTestId('token-balance').innerText()).replace(/\D/g, ''));
  }

  /** On a narrow screen the sidebar is a drawer behind a toggle. */
  async openSidebar() {
    if (!this.isNarrow) return;
    // The drawer's state, not its visibility: a drawer that is closing (its transition) is still visible for a moment.
    if ((await this.byTestId('sidebar-toggle').getAttribute('aria-expanded')) === 'true') return;
    await this.byTestId('sidebar-toggle').click();
    await expect(this.byTestId('sidebar-toggle')).toHaveAttribute('aria-expanded', 'true');
    await expect(this.byTestId('new-conversation')).toBeVisible();
  }

  async closeSidebar() {
    if (!this.isNarrow) return;
    if (!(await this.byTestId('new-conversation').isVisible())) return;
    await this.page.keyboard.press('Escape');
    await expect(this.byTestId('new-conversation')).toBeHidden();
  }

  async newConversation() {
    await this.openSidebar();
    await this.byTestId('new-conversation').click();
    await expect(this.page).toHaveURL(/\/$/);
    await expect(this.messages).toHaveCount(0);
  }

  async selectConversation(title: string | RegExp) {
    // On a narrow screen the drawer can shut between opening it and the tap (a reply finishing behind it moves the
    // focus to the composer), so open it and tap again until the tap lands.
    await expect(async () => {
      await this.openSidebar();
      await this.conversationItem(title).getByTestId('conversation-link').click({ timeout: 2_000 });
    }).toPass({ timeout: 20_000 });
    await expect(this.page).toHaveURL(/\/c\/[^/]+$/);
  }

  /**
   * Types a message (newlines with Shift+Enter), sends it with Enter and waits for the stored reply.
   * Returns the content type the server answered with.
   */
  async send(text: string): Promise<string> {
    const input = this.byTestId('message-input');
    await expect(input).toBeEnabled();
    await input.click();
    const lines = text.split('\n');
    for (const [i, line] of lines.entries()) {
      if (i > 0) await this.page.keyboard.press('Shift+Enter');
      await this.page.keyboard.insertText(line);
    }
    await expect(input).toHaveValue(text);
    const before = await this.messagesByRole('assistant').count();
    const [response] = await Promise.all([
      this.page.waitForResponse(
        (r) => r.request().method() === 'POST' && /\/api\/conversations\/[^/]+\/messages$/.test(new URL(r.url()).pathname),
      ),
      this.page.keyboard.press('Enter'),
    ]);
    await expect(input).toHaveValue('');
    await expect(this.messagesByRole('assistant')).toHaveCount(before + 1);
    await expect(this.messagesByRole('assistant').last()).toHaveAttribute('data-status', 'completed');
    return response.headers()['content-type'] ?? '';
  }

  async rename(from: string | RegExp, to: string) {
    await this.openSidebar();
    const item = this.conversationItem(from);
    await item.hover();
    await item.getByTestId('rename-conversation').click();
    const input = this.byTestId('conversation-title-input');
    await input.fill(to);
    await input.press('Enter');
    await expect(this.conversationItem(to)).toHaveCount(1);
  }

  async delete(title: string | RegExp) {
    await this.openSidebar();
    const item = this.conversationItem(title);
    await item.hover();
    await item.getByTestId('delete-conversation').click();
    await expect(this.page.getByRole('alertdialog')).toBeVisible();
    await this.byTestId('confirm-delete').click();
    await expect(this.conversationItem(title)).toHaveCount(0);
  }

  async logout() {
    await this.openSidebar();
    await this.byTestId('logout').click();
    await expect(this.byTestId('login-username')).toBeVisible();
  }
}
