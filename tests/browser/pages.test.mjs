// Every main page at a laptop's size and a phone's: each form control has a name a screen
// reader can read, nothing scrolls sideways, and a screenshot of each is saved for a
// reviewer (NOTALONE_SCREENSHOTS/<page>-<width>x<height>.png).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
    browserSuite, LAPTOP, makeCrew, PHONE, screenshot, scrollWidth, sendRedAlert, signIn, startVisit,
    unnamedControls, visit,
} from './support.mjs';

const suite = browserSuite();
let server;
let crew;
let alarmId;
let now;

// A day worth showing: Ben on a visit with time to spare, Asha overdue (her check-in
// missed on the server's simulated clock), an unclaimed red alarm.
before(async () => {
    server = await suite.server({ simulatedClock: true });
    crew = await makeCrew(server);
    now = await server.now();
    await server.ok(200, 'POST', '/api/v1/me/duty', { token: crew.buddy.token, body: { on_duty: true } });
    await startVisit(server, crew.buddy, { now, minutes: 180, address: '3 Calm Close, Leeds LS2 7AA' });
    const late = await startVisit(server, crew.worker, {
        now, minutes: 120, checkinEvery: 600, address: '12 Oak Street, Leeds LS6 1AA',
        phones: ['+44 113 496 0000'], buddy_id: crew.buddy.id,
    });
    await server.ok(200, 'POST', `/api/v1/visits/${late.id}/buddy/accept`, { token: crew.buddy.token });
    await server.ok(200, 'POST', `/api/v1/visits/${late.id}/checkin`, { token: crew.worker.token, body: {} });
    now = await server.advance(11 * 60);
    alarmId = (await sendRedAlert(server, crew.outsider, 'man with a knife at the door')).alarm_id;
});

// Each main page: its path, what shows it is there, and what its screenshot must show.
const PAGES = [
    { name: 'board', path: () => '/board', heading: 'Alarms', ready: () => `[data-testid="alarm-row"][data-alarm-id="${alarmId}"][data-unclaimed="true"]` },
    { name: 'alarm', path: () => `/alarms/${alarmId}`, heading: () => `Alarm ${alarmId}: ${crew.outsider.displayName}`, ready: () => '[data-testid="alarm-state"]' },
    { name: 'out', path: () => '/out', heading: 'Who is out', ready: () => '[data-testid="visit-row"][data-overdue="true"]' },
    { name: 'worker-day', path: () => `/workers/${crew.worker.id}/day`, heading: () => new RegExp(`^${crew.worker.displayName}: day of `), ready: () => null },
    { name: 'plan', path: () => '/plan', heading: 'Plan a visit', ready: () => null },
    { name: 'people', path: () => '/people', heading: 'People', ready: () => null },
    { name: 'policy', path: () => '/policy', heading: 'Escalation policies', ready: () => null },
];

const value = (v) => (typeof v === 'function' ? v() : v);

// Checks the page on screen and saves its screenshot; returns what was wrong, if anything.
async function checkPage(page, name, viewport) {
    const wrong = [];
    const { unnamed } = await unnamedControls(page);
    if (unnamed.length) wrong.push(`${name}: controls without an accessible name: ${unnamed.join(', ')}`);
    const width = await scrollWidth(page);
    if (width > viewport.width) wrong.push(`${name}: ${width} px wide in a ${viewport.width} px window (scrolls sideways)`);
    await screenshot(page, name);
    return wrong;
}

for (const viewport of [LAPTOP, PHONE]) {
    const size = `${viewport.width}x${viewport.height}`;

    test(`the login page at ${size}`, async (t) => {
        const page = await suite.open(t, server, { viewport });
        await visit(page, '/');
        await page.getByRole('button', { name: 'Sign in' }).waitFor();
        assert.deepEqual(await checkPage(page, 'login', viewport), []);
    });

    test(`every page of an administrator at ${size}`, async (t) => {
        const page = await suite.open(t, server, { viewport, clockAt: now });
        await signIn(page, crew.admin);
        const wrong = [];
        for (const p of PAGES) {
            await t.test(p.name, async () => {
                await visit(page, p.path());
                const heading = value(p.heading);
                await page.getByRole('heading', { name: heading, exact: typeof heading === 'string' }).first().waitFor();
                const ready = p.ready();
                if (ready) await page.locator(ready).first().waitFor();
                // Lists and tables fill in after the heading: the picture waits for them.
                await page.waitForFunction(() => {
                    const main = document.querySelector('main');
                    return main && !main.querySelector('[aria-busy="true"]') && !/Loading/.test(main.innerText);
                }, null, { timeout: 5000 });
                const found = await checkPage(page, p.name, viewport);
                wrong.push(...found);
                assert.deepEqual(found, []);
            });
        }
        assert.deepEqual(wrong, []);
    });
}

test('the forms of the People page name their fields', async (t) => {
    const page = await suite.open(t, server, { clockAt: now });
    await signIn(page, crew.admin);
    await visit(page, '/people');
    await page.getByRole('heading', { name: 'People', exact: true }).waitFor();
    for (const button of ['New user', 'New team']) {
        await page.getByRole('button', { name: button, exact: true }).click();
        const { count, unnamed } = await unnamedControls(page);
        assert.ok(count > 0, `${button} shows no form field`);
        assert.deepEqual(unnamed, [], `${button}: controls without an accessible name`);
    }
});
