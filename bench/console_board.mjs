// Red alert to the operator's board in a real browser: the time from a worker's
// POST /api/v1/alerts/red to the alarm's row on the board in headless Chromium, for
// alerts that pile up unclaimed (each one makes the board reload a longer queue, up to
// ALERTS rows), and the page's JavaScript heap at the end.
//
//   node bench/console_board.mjs URL OPERATOR_PASSWORD WORKER_TOKEN [ALERTS] [GAP_MS]
//
// Run by bench/console.sh, which starts notaloned and makes the accounts.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = createRequire(join(root, 'web', 'package.json'))('playwright-core');

const [url, operatorPassword, workerToken, alertsArg, gapArg] = process.argv.slice(2);
const ALERTS = Number(alertsArg || 150);
const GAP_MS = Number(gapArg || 100);

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function percentile(sorted, p) {
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
        '--enable-precise-memory-info'],
});
try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    await page.goto(`${url}/board`);
    await page.getByLabel('Username').fill('bench-operator');
    await page.getByLabel('Password').fill(operatorPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Alarms' }).waitFor();
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor({ state: 'attached' });
    // The wall-clock moment each alarm's row first appears, seen from inside the page.
    await page.evaluate(() => {
        window.benchSeen = {};
        const note = () => {
            const now = performance.timeOrigin + performance.now();
            for (const row of document.querySelectorAll('[data-testid="alarm-row"]')) {
                const id = row.getAttribute('data-alarm-id');
                if (!(id in window.benchSeen)) window.benchSeen[id] = now;
            }
        };
        new MutationObserver(note).observe(document.body, { childList: true, subtree: true });
        note();
    });

    const sent = {};
    for (let i = 0; i < ALERTS; i++) {
        const t0 = performance.timeOrigin + performance.now();
        const res = await fetch(`${url}/api/v1/alerts/red`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${workerToken}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({ alert_id: `bench-${Date.now()}-${i}`, message: 'benchmark' }),
        });
        if (res.status !== 201) throw new Error(`red alert answered ${res.status}`);
        sent[(await res.json()).alarm_id] = t0;
        await sleep(GAP_MS);
    }
    const deadline = Date.now() + 10000;
    let seen = {};
    while (Date.now() < deadline) {
        seen = await page.evaluate(() => window.benchSeen);
        if (Object.keys(sent).every((id) => id in seen)) break;
        await sleep(100);
    }
    const missing = Object.keys(sent).filter((id) => !(id in seen));
    const latencies = Object.keys(sent).filter((id) => id in seen)
        .map((id) => seen[id] - sent[id]).sort((a, b) => a - b);
    const heap = await page.evaluate(() => performance.memory ? performance.memory.usedJSHeapSize : 0);
    const rows = await page.locator('[data-testid="alarm-row"]').count();
    const f = (v) => v.toFixed(1);
    console.log(`  ${ALERTS} red alerts, one every ${GAP_MS} ms, left unclaimed (${rows} rows at the end)`);
    console.log(`  POST to row on the board (ms): p50 ${f(percentile(latencies, 50))}` +
        ` p90 ${f(percentile(latencies, 90))} p99 ${f(percentile(latencies, 99))}` +
        ` max ${f(latencies[latencies.length - 1])}; missing ${missing.length}`);
    console.log(`  page JavaScript heap: ${(heap / 1048576).toFixed(1)} MiB`);
    if (missing.length) process.exitCode = 1;
} finally {
    await browser.close();
}
