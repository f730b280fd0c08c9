// What each role may see in the console is what the API lets it see: a manager has no
// view of another team's visits, and no recording of an alarm; the LSMS plays it.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { browserSuite, makeCrew, sendRedAlert, signIn, startVisit, visit } from './support.mjs';

const suite = browserSuite();
let server;
let crew;

before(async () => {
    server = await suite.server();
    crew = await makeCrew(server);
});

// GET path from inside the page, with its cookie: the answer's status.
function fetchStatus(page, path) {
    return page.evaluate(async (p) => (await fetch(p, { credentials: 'same-origin' })).status, path);
}

test("a manager sees their own team's visits and not another team's", async (t) => {
    const theirs = await startVisit(server, crew.outsider, { address: '9 Other Lane, York' });
    const notTheirs = await startVisit(server, crew.worker, { address: '12 Oak Street, Leeds' });

    const page = await suite.open(t, server);
    await signIn(page, crew.otherLm);
    await visit(page, '/out');
    await page.getByRole('heading', { name: 'Who is out', exact: true }).waitFor();
    await page.locator(`[data-testid="visit-row"][data-visit-id="${theirs.id}"]`).waitFor();
    assert.equal(await page.locator(`[data-testid="visit-row"][data-visit-id="${notTheirs.id}"]`).count(), 0);
    assert.equal(await page.getByText('12 Oak Street').count(), 0);
    assert.equal(await page.getByText(crew.worker.displayName).count(), 0);

    assert.equal(await fetchStatus(page, `/api/v1/visits/${theirs.id}`), 200);
    assert.equal(await fetchStatus(page, `/api/v1/visits/${notTheirs.id}`), 404);

    // The other team's line manager sees the visit.
    const own = await suite.open(t, server);
    await signIn(own, crew.lm);
    await visit(own, '/out');
    await own.locator(`[data-testid="visit-row"][data-visit-id="${notTheirs.id}"]`).waitFor();
    assert.equal(await own.locator(`[data-testid="visit-row"][data-visit-id="${theirs.id}"]`).count(), 0);
});

// A tenth of a second of silence as a WAV file (8 kHz, 16-bit, mono) that browsers play.
function silentWav() {
    const samples = 800;
    const data = samples * 2;
    const b = Buffer.alloc(44 + data);
    b.write('RIFF', 0);
    b.writeUInt32LE(36 + data, 4);
    b.write('WAVEfmt ', 8);
    b.writeUInt32LE(16, 16);
    b.writeUInt16LE(1, 20); // PCM
    b.writeUInt16LE(1, 22); // mono
    b.writeUInt32LE(8000, 24);
    b.writeUInt32LE(16000, 28);
    b.writeUInt16LE(2, 32);
    b.writeUInt16LE(16, 34);
    b.write('data', 36);
    b.writeUInt32LE(data, 40);
    return b;
}

test('a recording is for the LSMS: the line manager gets no player and a 403, the LSMS plays it', async (t) => {
    const alert = await sendRedAlert(server, crew.worker);
    const wav = silentWav();
    const evidence = await server.ok(201, 'POST', `/api/v1/alarms/${alert.alarm_id}/evidence?name=recording.wav`, {
        token: crew.worker.token, raw: wav, contentType: 'audio/wav',
    });
    assert.equal(evidence.kind, 'audio');

    const manager = await suite.open(t, server);
    const asked = [];
    manager.on('request', (r) => {
        if (new URL(r.url()).pathname.startsWith('/api/v1/evidence')) asked.push(r.url());
    });
    await signIn(manager, crew.lm);
    await visit(manager, `/alarms/${alert.alarm_id}`);
    await manager.getByRole('heading', { name: `Alarm ${alert.alarm_id}: ${crew.worker.displayName}` }).waitFor();
    await manager.getByText('Recordings are available to the LSMS').waitFor();
    assert.equal(await manager.locator('audio').count(), 0);
    assert.deepEqual(asked, [], 'the page asked for evidence the manager may not have');
    assert.equal(await fetchStatus(manager, `/api/v1/evidence/${evidence.id}`), 403);

    const lsms = await suite.open(t, server);
    await signIn(lsms, crew.lsms);
    await visit(lsms, `/alarms/${alert.alarm_id}`);
    await lsms.getByRole('heading', { name: `Alarm ${alert.alarm_id}: ${crew.worker.displayName}` }).waitFor();
    const audio = lsms.locator('audio[controls]');
    await audio.waitFor();
    assert.equal(await audio.count(), 1);
    const src = await audio.evaluate((el) => new URL(el.currentSrc || el.src || el.querySelector('source').src).pathname);
    assert.equal(src, `/api/v1/evidence/${evidence.id}`);
    // The browser fetches the recording with the cookie and can read it (a player that
    // waits for a press to load is asked for the metadata, as a press would).
    await audio.evaluate((el) => {
        if (el.preload === 'none') {
            el.preload = 'metadata';
            el.load();
        }
    });
    await lsms.waitForFunction(() => {
        const a = document.querySelector('audio[controls]');
        return a.readyState >= 1 || a.error;
    }, null, { timeout: 10000 });
    assert.equal(await audio.evaluate((el) => el.error && el.error.code), null);
    assert.ok(await audio.evaluate((el) => el.duration > 0.05 && el.duration < 0.2));
    assert.equal(await fetchStatus(lsms, `/api/v1/evidence/${evidence.id}`), 200);
    assert.equal(await lsms.getByText('Recordings are available to the LSMS').count(), 0);
});
