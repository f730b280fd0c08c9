// The operator's board: a red alert sent through the API shows within a second without a
// reload, unmistakably red with a timer counting up; claimed and closed from the alarm
// page, it leaves the board; the sound is muted for a minute only.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { browserSuite, makeCrew, redness, sendRedAlert, signIn, startVisit, tabTo, unnamedControls, visit } from './support.mjs';

const suite = browserSuite();
let server;
let crew;

before(async () => {
    server = await suite.server();
    crew = await makeCrew(server);
});

const row = (page, id) => page.locator(`[data-testid="alarm-row"][data-alarm-id="${id}"]`);

// The operator's board, open and live (the stream connected).
async function openBoard(t, who = crew.operator) {
    const page = await suite.open(t, server, { clock: true });
    await signIn(page, who);
    await visit(page, '/board');
    await page.getByRole('heading', { name: 'Alarms', exact: true }).waitFor();
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor({ state: 'attached', timeout: 10000 });
    return page;
}

// Seconds shown by "Unclaimed 0:12" or "Unclaimed 1:02:03".
async function unclaimedSeconds(locator) {
    const m = /Unclaimed\s+(?:(\d+):)?(\d+):(\d\d)/.exec(await locator.innerText());
    assert.ok(m, `no "Unclaimed m:ss" timer in ${JSON.stringify(await locator.innerText())}`);
    return Number(m[1] || 0) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

test('a red alert appears on the board within a second, red and unclaimed, its timer counting up', async (t) => {
    const page = await openBoard(t);
    const list = page.getByRole('list', { name: 'Open alarms' });
    await page.getByText('No open alarms').waitFor();

    const alert = await sendRedAlert(server, crew.worker);
    const sent = Date.now();
    const item = row(page, alert.alarm_id);
    await item.waitFor({ state: 'visible', timeout: 1000 });
    const elapsed = Date.now() - sent;
    t.diagnostic(`the alarm showed ${elapsed} ms after the API answered`);
    assert.ok(elapsed <= 1000, `the alarm took ${elapsed} ms to show`);
    assert.equal(await list.locator('[data-testid="alarm-row"]').count(), 1);
    assert.equal(await page.getByText('No open alarms').count(), 0);

    assert.equal(await item.getAttribute('data-state'), 'open');
    assert.equal(await item.getAttribute('data-kind'), 'red');
    assert.equal(await item.getAttribute('data-unclaimed'), 'true');
    const colour = await redness(item);
    assert.ok(colour.red, `the unclaimed alarm is not shown red: ${JSON.stringify(colour.colours)}`);
    const link = item.locator(`a[href="/alarms/${alert.alarm_id}"]`);
    assert.ok((await link.innerText()).trim().startsWith(crew.worker.displayName));

    const before = await unclaimedSeconds(item);
    assert.ok(before < 60, `a new alarm shows ${before} s unclaimed`);
    await page.clock.fastForward(5000);
    await page.waitForFunction(([sel, was]) => {
        const m = /Unclaimed\s+(?:(\d+):)?(\d+):(\d\d)/.exec(document.querySelector(sel).innerText);
        return m && Number(m[1] || 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) >= was + 4;
    }, [`[data-testid="alarm-row"][data-alarm-id="${alert.alarm_id}"]`, before], { timeout: 3000 });

    // Leave the queue empty for the next tests.
    await server.ok(200, 'POST', `/api/v1/alarms/${alert.alarm_id}/claim`, { token: crew.operator.token, body: {} });
    await server.ok(200, 'POST', `/api/v1/alarms/${alert.alarm_id}/close`, {
        token: crew.operator.token, body: { outcome: 'test', found_safe: 'a test of the board' },
    });
    await item.waitFor({ state: 'detached', timeout: 3000 });
});

test('an operator claims and closes an alarm from its page; the board follows live', async (t) => {
    await startVisit(server, crew.worker, { address: '12 Oak Street, Leeds' });
    await server.ok(200, 'PUT', '/api/v1/me/alert-profile', { token: crew.worker.token, body: { location_consent: true } });
    const alert = await server.ok(201, 'POST', '/api/v1/alerts/red', {
        token: crew.worker.token, body: { message: 'help', latitude: 53.8008, longitude: -1.5491, accuracy: 20 },
    });
    const board = await openBoard(t);
    const item = row(board, alert.alarm_id);
    await item.waitFor();

    // A second session of the same operator works the alarm; the first keeps the board.
    const page = await suite.open(t, server);
    await signIn(page, crew.operator);
    await visit(page, '/board');
    await row(page, alert.alarm_id).getByRole('link').click();
    await page.waitForURL((url) => url.pathname === `/alarms/${alert.alarm_id}`);
    await page.getByRole('heading', { name: `Alarm ${alert.alarm_id}: ${crew.worker.displayName}` }).waitFor();
    const state = page.getByTestId('alarm-state');
    assert.equal((await state.innerText()).trim(), 'open');

    const pack = page.locator('section', { has: page.getByRole('heading', { name: 'Information pack' }) });
    await pack.getByText(crew.worker.user.phone).first().waitFor();
    await pack.getByText('12 Oak Street, Leeds').first().waitFor();
    // No map tiles configured: coordinates with a link instead of a map.
    const mapLink = pack.getByRole('link', { name: 'Open in map' });
    await mapLink.waitFor();
    assert.match(await mapLink.getAttribute('href'), /53\.80/);

    // With the keyboard: Tab to the button, Enter.
    await tabTo(page, page.getByRole('button', { name: 'Claim', exact: true }));
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-testid="alarm-state"]').innerText.trim() === 'claimed');
    await board.locator(`[data-testid="alarm-row"][data-alarm-id="${alert.alarm_id}"][data-state="claimed"]`).waitFor({ timeout: 3000 });
    assert.notEqual(await item.getAttribute('data-unclaimed'), 'true');

    await page.getByRole('button', { name: 'Close alarm' }).first().click();
    const form = page.locator('form', { has: page.getByLabel('Outcome', { exact: true }) });
    await form.waitFor();
    assert.deepEqual((await unnamedControls(page)).unnamed, [], 'form controls without an accessible name');
    await form.getByLabel('Outcome', { exact: true }).selectOption('false_accidental');
    await form.getByLabel('How the worker was confirmed safe', { exact: true }).fill('Spoke to Asha on her mobile: she is safe');
    await form.getByLabel('Note', { exact: true }).fill('pressed in her bag');
    await form.getByRole('button', { name: 'Close alarm' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="alarm-state"]').innerText.trim() === 'closed');

    const closed = await server.ok(200, 'GET', `/api/v1/alarms/${alert.alarm_id}`, { token: crew.operator.token });
    assert.equal(closed.state, 'closed');
    assert.equal(closed.outcome, 'false_accidental');
    assert.equal(closed.found_safe, 'Spoke to Asha on her mobile: she is safe');
    assert.equal(closed.closed_by, crew.operator.id);

    await item.waitFor({ state: 'detached', timeout: 3000 });
    await board.getByText('No open alarms').waitFor();
    await page.getByRole('link', { name: 'Alarms', exact: true }).click();
    await page.getByRole('heading', { name: 'Alarms', exact: true }).waitFor();
    await page.getByText('No open alarms').waitFor();
    assert.equal(await row(page, alert.alarm_id).count(), 0);
});

// "HH:MM:SS" as seconds of the day.
function secondsOfDay(text) {
    const [h, m, s] = text.split(':').map(Number);
    return h * 3600 + m * 60 + s;
}

test('the sound is muted for one minute and comes back by itself', async (t) => {
    const page = await openBoard(t);
    const alert = await sendRedAlert(server, crew.buddy);
    await row(page, alert.alarm_id).waitFor({ timeout: 3000 });

    await page.getByRole('button', { name: 'Mute sound for 1 minute' }).click();
    const muted = page.getByRole('button', { name: /^Sound muted until \d\d:\d\d:\d\d$/ });
    await muted.waitFor();
    const until = /(\d\d:\d\d:\d\d)/.exec(await muted.innerText())[1];
    const expected = await page.evaluate(() => new Date(Date.now() + 60000).toLocaleTimeString('en-GB'));
    assert.ok(Math.abs(secondsOfDay(until) - secondsOfDay(expected)) <= 3, `muted until ${until}, expected about ${expected}`);
    assert.equal(await page.getByRole('button', { name: 'Mute sound for 1 minute' }).count(), 0);

    await page.clock.fastForward(30000);
    assert.equal(await muted.count(), 1, 'unmuted before the minute was over');
    await page.clock.fastForward(32000);
    await page.getByRole('button', { name: 'Mute sound for 1 minute' }).waitFor({ timeout: 3000 });
    assert.equal(await muted.count(), 0);
});
