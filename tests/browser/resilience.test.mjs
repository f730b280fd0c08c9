// The console when things go wrong: the server restarts under a live board, a session
// ends under an open page, the API cannot be reached when the console loads.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { browserSuite, makeCrew, sendRedAlert, signIn, visit } from './support.mjs';

const suite = browserSuite();
let server;
let crew;

before(async () => {
    server = await suite.server();
    crew = await makeCrew(server);
});

const banner = (page, state) => page.locator(`[data-testid="connection"][data-state="${state}"]`);

test('the board says it is offline while the server is down and comes back live by itself', async (t) => {
    const page = await suite.open(t, server);
    await signIn(page, crew.operator);
    await visit(page, '/board');
    await page.getByRole('heading', { name: 'Alarms', exact: true }).waitFor();
    await banner(page, 'live').waitFor({ state: 'attached', timeout: 10000 });
    await page.evaluate(() => { window.notReloaded = true; });
    const port = server.port;

    await server.stop();
    await banner(page, 'offline').waitFor({ timeout: 15000 });
    assert.match(await page.getByTestId('connection').innerText(), /Offline/);
    await page.getByRole('heading', { name: 'Alarms', exact: true }).waitFor();

    await server.start();
    assert.equal(server.port, port);
    await banner(page, 'live').waitFor({ state: 'attached', timeout: 20000 });
    assert.equal(await page.evaluate(() => window.notReloaded), true);

    const alert = await sendRedAlert(server, crew.worker);
    await page.locator(`[data-testid="alarm-row"][data-alarm-id="${alert.alarm_id}"][data-unclaimed="true"]`)
        .waitFor({ timeout: 3000 });
    assert.equal(await page.evaluate(() => window.notReloaded), true);

    await server.ok(200, 'POST', `/api/v1/alarms/${alert.alarm_id}/claim`, { token: crew.operator.token, body: {} });
    await server.ok(200, 'POST', `/api/v1/alarms/${alert.alarm_id}/close`, {
        token: crew.operator.token, body: { outcome: 'test', found_safe: 'restart test' },
    });
});

// Revokes the page's session behind its back, as a logout from elsewhere with the same
// cookie would.
async function revokeCookieSession(page) {
    const cookie = (await page.context().cookies()).find((c) => c.name === 'notalone_session');
    assert.ok(cookie, 'no session cookie');
    const headers = { Cookie: `notalone_session=${cookie.value}` };
    const me = await server.ok(200, 'GET', '/api/v1/me', { headers });
    assert.match(me.csrf_token, /^[0-9a-f]{64}$/);
    await server.ok(204, 'POST', '/api/v1/logout', { headers: { ...headers, 'X-CSRF-Token': me.csrf_token } });
    assert.equal((await server.call('GET', '/api/v1/me', { headers })).status, 401);
}

test('a session that ended says so on the next action, and signing in again goes on', async (t) => {
    const page = await suite.open(t, server);
    await signIn(page, crew.operator);
    await visit(page, '/board');
    await page.getByRole('heading', { name: 'Alarms', exact: true }).waitFor();

    await revokeCookieSession(page);
    await page.getByRole('link', { name: 'Who is out', exact: true }).click();
    const alert = page.getByRole('alert').filter({ hasText: /session has expired/i });
    await alert.waitFor({ timeout: 5000 });
    assert.ok(await alert.isVisible());
    await page.getByLabel('Username', { exact: true }).fill(crew.operator.username);
    await page.getByLabel('Password', { exact: true }).fill(crew.operator.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
});

// The page, loaded with the API out of reach, says so in words (and is not blank).
async function saysUnreachable(page) {
    const alert = page.locator('main [role="alert"]').first();
    await alert.waitFor({ timeout: 5000 });
    assert.match(await alert.innerText(), /cannot reach the server/i);
}

test('a console loaded while the API cannot be reached says so', async (t) => {
    const page = await suite.open(t, server);
    await signIn(page, crew.operator);
    await page.route('**/api/**', (route) => route.abort('connectionrefused'));
    await visit(page, '/board');
    await saysUnreachable(page);
});

test('a console loaded while the API answers 503 says it cannot reach the server', async (t) => {
    const page = await suite.open(t, server);
    await signIn(page, crew.operator);
    await page.route('**/api/**', (route) => route.fulfill({
        status: 503,
        contentType: 'application/json',
        headers: { 'Retry-After': '5' },
        body: JSON.stringify({ error: { code: 'unavailable', message: 'the database is unavailable' } }),
    }));
    await visit(page, '/board');
    await saysUnreachable(page);
});
