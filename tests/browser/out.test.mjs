// Who is out, the manager's whiteboard: a visit whose deadline passes (on the server's
// simulated clock) turns red and goes to the top live, and leaves only once the worker is
// safe; a visit planned through the form shows there.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { browserSuite, makeCrew, redness, signIn, startVisit, visit } from './support.mjs';

const suite = browserSuite();

const visitRow = (page, id) => page.locator(`[data-testid="visit-row"][data-visit-id="${id}"]`);

// Whether a table row, or one of its cells, is shown red.
async function rowRedness(row) {
    const own = await redness(row);
    if (own.red) return own;
    for (const cell of await row.locator('td, th').all()) {
        const r = await redness(cell);
        if (r.red) return r;
    }
    return own;
}

async function openOut(t, server, who, options) {
    const page = await suite.open(t, server, options);
    await signIn(page, who);
    await visit(page, '/out');
    await page.getByRole('heading', { name: 'Who is out', exact: true }).waitFor();
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor({ state: 'attached', timeout: 10000 });
    return page;
}

test('an overdue visit turns red and goes to the top of Who is out without a reload', async (t) => {
    const server = await suite.server({ simulatedClock: true });
    const crew = await makeCrew(server);
    const now = await server.now();
    // Ben's visit has hours to go; Asha's must check in within 10 minutes.
    const calm = await startVisit(server, crew.buddy, { now, minutes: 240, address: '3 Calm Close, Leeds' });
    const late = await startVisit(server, crew.worker, { now, minutes: 120, checkinEvery: 600, address: '12 Oak Street, Leeds' });

    const page = await openOut(t, server, crew.lm, { clockAt: now });
    const table = page.getByRole('table', { name: 'Workers out' });
    const rows = table.locator('[data-testid="visit-row"]');
    await visitRow(page, late.id).waitFor();
    await visitRow(page, calm.id).waitFor();
    assert.equal(await visitRow(page, late.id).getAttribute('data-overdue'), 'false');
    assert.equal(await visitRow(page, calm.id).getAttribute('data-overdue'), 'false');
    assert.ok((await visitRow(page, late.id).innerText()).includes('12 Oak Street, Leeds'));
    const workerLink = visitRow(page, late.id).locator(`a[href="/workers/${crew.worker.id}/day"]`);
    assert.ok((await workerLink.innerText()).includes(crew.worker.displayName));
    await page.evaluate(() => { window.notReloaded = true; });

    // The deadline passes on the server only: the page learns it from the live stream.
    await server.advance(11 * 60);
    const overdue = page.locator(`[data-testid="visit-row"][data-visit-id="${late.id}"][data-overdue="true"]`);
    await overdue.waitFor({ timeout: 5000 });
    assert.equal(await page.evaluate(() => window.notReloaded), true);
    assert.equal(await rows.first().getAttribute('data-visit-id'), String(late.id));
    assert.equal(await visitRow(page, calm.id).getAttribute('data-overdue'), 'false');
    const colour = await rowRedness(overdue);
    assert.ok(colour.red, `the overdue row is not shown red: ${JSON.stringify(colour.colours)}`);
    const calmColour = await rowRedness(visitRow(page, calm.id));
    assert.ok(!calmColour.red, `a visit on time is shown red: ${JSON.stringify(calmColour.colours)}`);

    // Still there, still red, until the worker is confirmed safe.
    await page.clock.setSystemTime(await server.advance(5 * 60));
    assert.equal(await overdue.count(), 1);
    await server.ok(200, 'POST', `/api/v1/visits/${late.id}/end`, { token: crew.worker.token, body: { outcome: 'safe' } });
    await visitRow(page, late.id).waitFor({ state: 'detached', timeout: 5000 });
    assert.equal(await visitRow(page, calm.id).count(), 1);
});

// A datetime-local value ("2026-11-23T19:05") of now + minutes, in the page's time zone.
async function localInput(page, minutes) {
    return page.evaluate((m) => {
        const d = new Date(Date.now() + m * 60000);
        const p = (n) => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    }, minutes);
}

// Chooses the option whose text contains `text` in a select (or types it elsewhere).
async function choose(field, text) {
    if ((await field.evaluate((el) => el.tagName)) !== 'SELECT') return field.fill(text);
    const value = await field.evaluate((el, want) => {
        const option = [...el.options].find((o) => o.textContent.includes(want));
        return option ? option.value : null;
    }, text);
    assert.ok(value !== null, `no option "${text}"`);
    return field.selectOption(value);
}

test('a manager plans a visit through the form and it shows on Who is out', async (t) => {
    const server = await suite.server();
    const crew = await makeCrew(server);
    await server.ok(200, 'POST', '/api/v1/me/duty', { token: crew.buddy.token, body: { on_duty: true } });
    await server.ok(200, 'POST', '/api/v1/me/duty', { token: crew.outsider.token, body: { on_duty: false } });

    const page = await suite.open(t, server);
    await signIn(page, crew.lm);
    await visit(page, '/plan');
    await page.getByRole('heading', { name: 'Plan a visit', exact: true }).waitFor();
    const field = (label) => page.getByLabel(label, { exact: true });

    await choose(field('Worker'), crew.worker.displayName);
    await field('Address').fill('7 Elm Road, Leeds LS6 2AB');
    await field('People at the address').fill('Mrs B (tenant), a dog');
    await field('Phone numbers').fill('+44 113 496 0001');
    await field('Expected arrival').fill(await localInput(page, 5));
    await field('Expected departure').fill(await localInput(page, 125));
    await field('Check in every (minutes)').fill('30');
    await field('Travelling by').selectOption('foot');

    const buddy = field('Buddy');
    await buddy.waitFor();
    const options = await buddy.evaluate((el) => [...el.options].map((o) => ({ text: o.textContent, disabled: o.disabled })));
    const ben = options.find((o) => o.text.includes(crew.buddy.displayName));
    assert.ok(ben, `the buddy picker does not offer ${crew.buddy.displayName}: ${JSON.stringify(options)}`);
    assert.ok(ben.text.includes('(on duty)') && !ben.disabled, `an on-duty buddy: ${JSON.stringify(ben)}`);
    const oscar = options.find((o) => o.text.includes(crew.outsider.displayName));
    if (oscar) assert.ok(oscar.disabled && !oscar.text.includes('(on duty)'), `an off-duty user: ${JSON.stringify(oscar)}`);
    await choose(buddy, crew.buddy.displayName);

    await field('Notes').fill('Ring the bell twice');
    await field('Start now').check();
    await page.getByRole('button', { name: 'Plan visit', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Visit planned' }).waitFor({ timeout: 5000 });

    const active = await server.ok(200, 'GET', `/api/v1/visits?worker_id=${crew.worker.id}&state=active`, { token: crew.lm.token });
    assert.equal(active.items.length, 1, JSON.stringify(active.items));
    const planned = active.items[0];
    assert.equal(planned.address, '7 Elm Road, Leeds LS6 2AB');
    assert.equal(planned.people, 'Mrs B (tenant), a dog');
    assert.deepEqual(planned.phones, ['+44 113 496 0001']);
    assert.equal(planned.checkin_interval, 1800);
    assert.equal(planned.transport.mode, 'foot');
    assert.equal(planned.buddy_id, crew.buddy.id);
    assert.equal(planned.notes, 'Ring the bell twice');
    assert.equal(planned.created_by, crew.lm.id);
    const departure = Date.parse(planned.expected_departure) - Date.now();
    assert.ok(departure > 110 * 60000 && departure < 130 * 60000, `departure in ${departure / 60000} minutes`);

    await page.getByRole('link', { name: 'Who is out', exact: true }).click();
    await page.getByRole('heading', { name: 'Who is out', exact: true }).waitFor();
    const row = visitRow(page, planned.id);
    await row.waitFor();
    assert.ok((await row.innerText()).includes('7 Elm Road'));
    assert.equal(await row.getAttribute('data-overdue'), 'false');
});
