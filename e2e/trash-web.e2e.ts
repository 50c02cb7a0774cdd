import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWebApp } from '../src/cli/build-web';
import { signTestToken } from '../test/helpers/auth';
import { startTestServer, type TestServer } from '../test/helpers/test-server';

/**
 * The example web app (examples/web) in Debian's Chromium, headless, against
 * a started server: the Users screen's delete and Undo, and the Trash screen's
 * live update and restore with rename. Assertions are on the DOM; a
 * screenshot of each step goes to test-results/e2e/.
 */
const SCREENSHOTS = path.resolve(__dirname, '..', 'test-results', 'e2e');
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let server: TestServer;
let origin: string;
let profile: string;
let context: BrowserContext;
let usersTab: Page;
const username = `ada_${Date.now().toString(36)}`;

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const row = (page: Page, name: string) => page.locator(`[data-testid="user-row"][data-username="${name}"]`);

beforeAll(async () => {
  buildWebApp();
  server = await startTestServer({ config: { serveWebApp: true } });
  origin = new URL(server.url).origin;
  await rm(SCREENSHOTS, { recursive: true, force: true });
  await mkdir(SCREENSHOTS, { recursive: true });
  // A fresh profile every run: no token or cache left from a previous one.
  profile = await mkdtemp(path.join(os.tmpdir(), 'trash-e2e-profile-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS });
  context.setDefaultTimeout(20_000);
});
afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  await server?.stop();
});

describe('the Trash web app in Chromium', () => {
  it('flow 1: sign in as admin, create a user with posts, delete it with a reason, Undo restores it', async () => {
    usersTab = context.pages()[0] ?? (await context.newPage());
    await usersTab.goto(origin);
    await expect.poll(() => usersTab.getByTestId('token-hint').textContent()).toContain('npm run token');
    await shot(usersTab, '01-sign-in');

    await usersTab.getByTestId('token-input').fill(await signTestToken({ role: 'admin' }));
    await usersTab.getByTestId('sign-in').click();
    await usersTab.getByTestId('users-total').waitFor();
    expect(await usersTab.getByTestId('role').textContent()).toBe('admin');

    await usersTab.getByTestId('new-username').fill(username);
    await usersTab.getByTestId('new-email').fill(`${username}@example.com`);
    await usersTab.getByTestId('create-user').click();
    await row(usersTab, username).waitFor();
    await row(usersTab, username).getByTestId('add-post').click();
    await expect.poll(() => row(usersTab, username).getByTestId('user-posts').textContent()).toBe('1');
    await row(usersTab, username).getByTestId('add-post').click();
    await expect.poll(() => row(usersTab, username).getByTestId('user-posts').textContent()).toBe('2');
    await shot(usersTab, '02-user-with-posts');

    await row(usersTab, username).getByTestId('delete-user').click();
    await usersTab.getByTestId('delete-reason').fill('left the team');
    await shot(usersTab, '03-delete-with-reason');
    await usersTab.getByTestId('confirm-delete').click();
    await row(usersTab, username).waitFor({ state: 'detached' });
    await usersTab.getByTestId('undo-toast').waitFor();
    expect(await usersTab.getByTestId('undo-toast').textContent()).toContain(username);
    await shot(usersTab, '04-deleted-undo-toast');

    await usersTab.getByTestId('undo').click();
    await row(usersTab, username).waitFor();
    await expect.poll(() => row(usersTab, username).getByTestId('user-posts').textContent()).toBe('2');
    await shot(usersTab, '05-undone');
  });

  it('flow 2: delete again, a second tab sees it in the Trash live, a clashing user appears, restore with rename', async () => {
    const trashTab = await context.newPage();
    await trashTab.goto(`${origin}/#trash`);
    await trashTab.getByTestId('trash-total').waitFor();
    await trashTab.locator('[data-live="connected"]').waitFor();
    // The subscription is sent right after the connection is acknowledged; give the server a moment to register it.
    await trashTab.waitForTimeout(1000);
    expect(await trashTab.locator(`[data-testid="trash-row"][data-label="${username}"]`).count()).toBe(0);
    await shot(trashTab, '06-second-tab-trash');

    await usersTab.bringToFront();
    await row(usersTab, username).getByTestId('delete-user').click();
    await usersTab.getByTestId('delete-reason').fill('left again');
    await usersTab.getByTestId('confirm-delete').click();
    await row(usersTab, username).waitFor({ state: 'detached' });

    // Live: no reload, no navigation in the second tab.
    const trashed = trashTab.locator(`[data-testid="trash-row"][data-label="${username}"]`);
    await trashed.waitFor({ timeout: 5000 });
    expect(await trashTab.getByTestId('last-event').textContent()).toContain('DELETE User');
    await shot(trashTab, '07-trash-live');

    await usersTab.getByTestId('new-username').fill(username);
    await usersTab.getByTestId('new-email').fill(`${username}.second@example.com`);
    await usersTab.getByTestId('create-user').click();
    await row(usersTab, username).waitFor();
    await shot(usersTab, '08-clashing-user');

    await trashTab.bringToFront();
    await trashed.getByTestId('restore').click();
    const conflict = trashTab.getByTestId('restore-conflict');
    await conflict.waitFor();
    expect(await conflict.textContent()).toContain(`username “${username}”`);
    await trashTab.getByTestId('restore-rename').waitFor();
    expect(await trashTab.getByTestId('restore-rename').textContent()).toContain(`${username} → ${username}-restored`);
    expect(await trashTab.getByTestId('restore-confirm').count()).toBe(0);
    await shot(trashTab, '09-restore-preview-conflict');

    await trashTab.getByTestId('restore-rename-confirm').click();
    await trashTab.getByTestId('restore-dialog').waitFor({ state: 'detached' });
    await trashed.waitFor({ state: 'detached' });
    await trashTab.getByTestId('nav-users').click();
    await row(trashTab, `${username}-restored`).waitFor();
    expect(await row(trashTab, `${username}-restored`).getByTestId('user-posts').textContent()).toBe('2');
    await row(trashTab, username).waitFor();
    await shot(trashTab, '10-renamed-user-listed');
  });
});
