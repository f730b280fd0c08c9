// Signing in to the console: with the keyboard alone, a wrong password, a one-time
// password that must be replaced first, and signing out.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { browserSuite, createUser, login, newAccount, PASSWORD, tabTo, unique, visit } from './support.mjs';

const suite = browserSuite();
let server;
let admin;

before(async () => {
    server = await suite.server();
    admin = await server.admin();
});

// Presses Tab until the field labelled `label` has the focus.
function tabToField(page, label) {
    return tabTo(page, page.getByLabel(label, { exact: true }), 10);
}

async function typeCredentials(page, username, password) {
    await tabToField(page, 'Username');
    await page.keyboard.type(username);
    await tabToField(page, 'Password');
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
}

test('an operator signs in with the keyboard alone and lands on the board', async (t) => {
    const operator = await newAccount(server, admin, { username: unique('olu'), displayName: 'Olu Operator', roles: ['operator'] });
    const page = await suite.open(t, server);
    await visit(page, '/');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await typeCredentials(page, operator.username, operator.password);

    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.waitForURL((url) => url.pathname === '/board');
    await page.getByRole('link', { name: 'Alarms', exact: true }).waitFor();
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'notalone_session');
    assert.ok(session, 'no session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie.includes('notalone_session')), false);

    // A reload keeps the session: the cookie, not the page's memory, holds it.
    await visit(page, '/board');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await visit(page, '/board');
    await page.getByLabel('Username', { exact: true }).waitFor();
});

test('a wrong password is said in an alert and the form stays usable', async (t) => {
    const worker = await newAccount(server, admin, { username: unique('asha'), displayName: 'Asha Patel', roles: ['worker'] });
    const page = await suite.open(t, server);
    await visit(page, '/');
    await typeCredentials(page, worker.username, 'not the password at all');

    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /\S/);
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).count(), 0);

    // The username is still there; the password is typed again over the wrong one.
    assert.equal(await page.getByLabel('Username', { exact: true }).inputValue(), worker.username);
    await tabToField(page, 'Password');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(worker.password);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    // A worker sees no alarms: home is Who is out.
    await page.waitForURL((url) => url.pathname === '/out');
    assert.equal(await page.getByRole('link', { name: 'Alarms', exact: true }).count(), 0);
    await page.getByRole('link', { name: 'Who is out', exact: true }).waitFor();
});

test('a one-time password leads to setting one\'s own, then into the console', async (t) => {
    const username = unique('nia');
    const { oneTimePassword } = await createUser(server, admin, { username, displayName: 'Nia New', roles: ['manager'] });
    const page = await suite.open(t, server);
    await visit(page, '/');
    await typeCredentials(page, username, oneTimePassword);

    const next = page.getByLabel('New password', { exact: true });
    await next.waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).count(), 0);

    // Two different passwords are refused in an alert, and nothing is changed.
    await next.fill('first choice 123');
    await page.getByLabel('Repeat new password', { exact: true }).fill('second choice 456');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('alert').waitFor();

    await next.fill(PASSWORD);
    await page.getByLabel('Repeat new password', { exact: true }).fill(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();

    // The new password is the user's now; the one-time one no longer works.
    assert.ok(await login(server, username, PASSWORD));
    const old = await server.call('POST', '/api/v1/login', { body: { username, password: oneTimePassword } });
    assert.equal(old.status, 401);
});
