// What the browser tests share: a real notaloned serving the built console, accounts made
// through the API, and Debian's Chromium driven by playwright-core.
//
// Environment (set by CTest; the defaults let a file run by hand after `make test-build`):
//   NOTALONED             the server binary            (build-test/notaloned)
//   NOTALONE_SOURCE_DIR   the repository               (two folders up)
//   NOTALONE_CONSOLE_DIR  the built console            (build-test/web)
//   NOTALONE_SCREENSHOTS  where screenshots are saved  (build-test/screenshots)
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const SOURCE_DIR = process.env.NOTALONE_SOURCE_DIR || resolve(here, '..', '..');
export const NOTALONED = process.env.NOTALONED || join(SOURCE_DIR, 'build-test', 'notaloned');
export const CONSOLE_DIR = process.env.NOTALONE_CONSOLE_DIR || join(SOURCE_DIR, 'build-test', 'web');
export const SCREENSHOTS = process.env.NOTALONE_SCREENSHOTS || join(SOURCE_DIR, 'build-test', 'screenshots');

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
];

// playwright-core is a devDependency of the console: take it from web/node_modules.
const webRequire = createRequire(join(SOURCE_DIR, 'web', 'package.json'));
const { chromium } = webRequire('playwright-core');

export const ADMIN_PASSWORD = 'admin-password-0001';
export const PASSWORD = 'correct horse battery staple';

const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:'];
const READY_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 30000;

let scratch = null;
function scratchDir(prefix) {
    if (!scratch) scratch = mkdtempSync(join(tmpdir(), 'notalone-browser-'));
    return mkdtempSync(join(scratch, prefix));
}

// Removes this run's scratch folder once every server's files are gone (a server that had
// a problem keeps its data and log there for a look).
function removeScratch() {
    if (!scratch) return;
    try {
        rmdirSync(scratch);
        scratch = null;
    } catch {
        // not empty: kept
    }
}

export function sleep(ms) {
    return new Promise((done) => setTimeout(done, ms));
}

function freePort() {
    return new Promise((done, fail) => {
        const s = createServer();
        s.on('error', fail);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => done(port));
        });
    });
}

// An RFC 3339 time in whole seconds, as --simulated-clock takes it.
function wholeSeconds(ms) {
    return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

// One notaloned with its own data directory (SQLite) on a free port, kept across
// restarts. simulatedClock: run on a simulated clock starting now (POST /api/v1/test/clock
// moves it), so that deadlines pass without waiting for them.
export class Server {
    constructor({ simulatedClock = false, extraArgs = [] } = {}) {
        if (!existsSync(join(CONSOLE_DIR, 'index.html')))
            throw new Error(`no built console in ${CONSOLE_DIR}: run scripts/build-web ${CONSOLE_DIR}`);
        this.dir = scratchDir('server-');
        this.dataDir = join(this.dir, 'data');
        mkdirSync(this.dataDir);
        this.args = [...extraArgs];
        if (simulatedClock) this.args.push('--simulated-clock', wholeSeconds(Date.now()));
        this.port = null;
        this.proc = null;
        this.runs = []; // {log, exit: Promise<{code, signal}>}
        this.problems = [];
        this.adminToken = null;
    }

    get url() {
        return `http://127.0.0.1:${this.port}`;
    }

    get running() {
        return this.proc !== null;
    }

    // Starts notaloned (on the port it had before, if any) and waits until it is ready.
    async start() {
        if (this.proc) throw new Error('notaloned already running');
        if (!this.port) this.port = await freePort();
        const log = join(this.dir, `notaloned-${this.runs.length}.log`);
        const fd = openSync(log, 'w');
        const proc = spawn(NOTALONED, [
            '--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir,
            '--console-dir', CONSOLE_DIR, '--log-level', 'debug', ...this.args,
        ], { stdio: ['ignore', fd, fd] });
        closeSync(fd);
        const exit = new Promise((done) => proc.on('exit', (code, signal) => done({ code, signal })));
        const run = { log, exit, exited: null };
        exit.then((e) => { run.exited = e; });
        this.runs.push(run);
        this.proc = proc;
        await this.waitReady(run);
        return this;
    }

    async waitReady(run) {
        const deadline = Date.now() + READY_TIMEOUT_MS;
        for (;;) {
            if (run.exited) {
                this.proc = null;
                throw new Error(`notaloned exited (${run.exited.code}) before it was ready:\n${this.tail(run)}`);
            }
            try {
                const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) });
                if (res.status === 200) return;
            } catch {
                // not listening yet
            }
            if (Date.now() > deadline) throw new Error(`notaloned not ready after 20 s:\n${this.tail(run)}`);
            await sleep(50);
        }
    }

    tail(run = this.runs.at(-1), chars = 4000) {
        return readFileSync(run.log, 'utf8').slice(-chars);
    }

    // SIGTERM; fails unless notaloned exits 0 without a sanitizer report.
    async stop() {
        const proc = this.proc;
        if (!proc) return;
        const run = this.runs.at(-1);
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
        const { code, signal } = await run.exit;
        clearTimeout(timer);
        this.proc = null;
        const text = readFileSync(run.log, 'utf8');
        const found = SANITIZER_MARKERS.filter((m) => text.includes(m));
        if (code !== 0 || found.length) {
            const why = found.length ? `sanitizer reported ${found.join(', ')}` : `exit ${code ?? signal} after SIGTERM`;
            const problem = `notaloned run ${this.runs.length - 1}: ${why}:\n${text.slice(-8000)}`;
            this.problems.push(problem);
            throw new Error(problem);
        }
    }

    async restart() {
        await this.stop();
        await this.start();
    }

    // Stops the server; throws every problem any of its runs had. Removes its files when
    // there was none (kept for a look otherwise).
    async close() {
        try {
            await this.stop();
        } catch {
            // recorded in this.problems
        }
        if (this.problems.length) throw new Error(this.problems.join('\n\n'));
        rmSync(this.dir, { recursive: true, force: true });
    }

    // One request: {status, body (parsed JSON, text or null), headers}.
    async call(method, path, { token, body, raw, contentType, headers = {} } = {}) {
        const h = { ...headers };
        let data;
        if (body !== undefined) {
            data = JSON.stringify(body);
            h['Content-Type'] = 'application/json';
        } else if (raw !== undefined) {
            data = raw;
            h['Content-Type'] = contentType || 'application/octet-stream';
        }
        if (token) h.Authorization = `Bearer ${token}`;
        const res = await fetch(this.url + path, { method, headers: h, body: data, signal: AbortSignal.timeout(60000) });
        const text = await res.text();
        let parsed = text || null;
        try {
            parsed = text ? JSON.parse(text) : null;
        } catch {
            // not JSON: kept as text
        }
        return { status: res.status, body: parsed, headers: res.headers };
    }

    // The answer's body when its status is `status`; throws with the answer otherwise.
    async ok(status, method, path, options) {
        const res = await this.call(method, path, options);
        if (res.status !== status)
            throw new Error(`${method} ${path}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
        return res.body;
    }

    // A bearer token of the host administrator (its one-time password changed once).
    async admin() {
        if (!this.adminToken) {
            const otp = readFileSync(join(this.dataDir, 'initial-admin-password'), 'utf8').trim();
            this.adminToken = await activate(this, 'admin', otp, ADMIN_PASSWORD);
        }
        return this.adminToken;
    }

    // Moves the simulated clock by `seconds` and waits until everything due is handled;
    // returns the server's new time in milliseconds.
    async advance(seconds) {
        const answer = await this.ok(200, 'POST', '/api/v1/test/clock', {
            token: await this.admin(), body: { advance: seconds },
        });
        return Date.parse(answer.now);
    }

    async now() {
        return this.advance(0);
    }
}

// -- accounts -------------------------------------------------------------------------------

export async function login(server, username, password) {
    const body = await server.ok(200, 'POST', '/api/v1/login', { body: { username, password } });
    return body.token;
}

// Logs in with a one-time password and sets a real one; returns the session token.
export async function activate(server, username, oneTimePassword, password = PASSWORD) {
    const body = await server.ok(200, 'POST', '/api/v1/login', { body: { username, password: oneTimePassword } });
    if (!body.password_change_required) throw new Error(`${username}: no password change required`);
    await server.ok(204, 'POST', '/api/v1/me/password', {
        token: body.token, body: { current_password: oneTimePassword, new_password: password },
    });
    return body.token;
}

let uniqueCount = 0;
export function unique(prefix) {
    uniqueCount += 1;
    return `${prefix}${process.pid % 10000}${uniqueCount}`;
}

// POST /api/v1/users: {user, oneTimePassword}.
export async function createUser(server, token, { username, displayName, roles, ...fields }) {
    const answer = await server.ok(201, 'POST', '/api/v1/users', {
        token, body: { username, display_name: displayName, roles, ...fields },
    });
    return { user: answer.user, oneTimePassword: answer.one_time_password };
}

// A user who has set their own password: {id, username, displayName, password, token, user}.
export async function newAccount(server, token, spec) {
    const { user, oneTimePassword } = await createUser(server, token, spec);
    const session = await activate(server, user.username, oneTimePassword);
    return { id: user.id, username: user.username, displayName: user.display_name, password: PASSWORD, token: session, user };
}

export async function createTeam(server, token, name, lineManagerId) {
    return server.ok(201, 'POST', '/api/v1/teams', { token, body: { name, line_manager_id: lineManagerId } });
}

// The people of most tests: worker Asha and her buddy Ben in team A under manager Lena;
// Oscar in team B under manager Max; an operator, an LSMS and the host admin.
export async function makeCrew(server) {
    const admin = await server.admin();
    const account = (name, displayName, roles, fields = {}) =>
        newAccount(server, admin, { username: unique(name), displayName, roles, ...fields });
    const [operator, lm, otherLm, lsms] = await Promise.all([
        account('olu', 'Olu Operator', ['operator']),
        account('lena', 'Lena Lead', ['manager']),
        account('max', 'Max Other', ['manager']),
        account('lee', 'Lee Safety', ['lsms']),
    ]);
    const team = await createTeam(server, admin, unique('Community nurses '), lm.id);
    const otherTeam = await createTeam(server, admin, unique('Housing officers '), otherLm.id);
    const [worker, buddy, outsider] = await Promise.all([
        account('asha', 'Asha Patel', ['worker'], { phone: '+44 7700 900123', team_ids: [team.id] }),
        account('ben', 'Ben Buddy', ['worker'], { phone: '+44 7700 900222', team_ids: [team.id] }),
        account('oscar', 'Oscar Outsider', ['worker'], { team_ids: [otherTeam.id] }),
    ]);
    return {
        server, admin: { username: 'admin', password: ADMIN_PASSWORD, token: admin },
        operator, lm, otherLm, lsms, worker, buddy, outsider, team, otherTeam,
    };
}

// A visit of `worker` (planned by the worker themselves), started at once unless
// start: false. Times are the server's: pass its now() when it runs on a simulated clock.
export async function startVisit(server, worker, { now = Date.now(), minutes = 60, checkinEvery, ...fields } = {}) {
    const body = {
        address: '12 Oak Street, Leeds',
        people: 'Mr A (tenant)',
        expected_departure: new Date(now + minutes * 60000).toISOString(),
        transport: { mode: 'foot' },
        start: true,
        ...fields,
    };
    if (checkinEvery) body.checkin_interval = checkinEvery;
    return server.ok(201, 'POST', '/api/v1/visits', { token: worker.token, body });
}

// POST /api/v1/alerts/red as the worker: the answer ({alarm_id, opened_at, …}).
export async function sendRedAlert(server, worker, message = 'help, flat 3') {
    return server.ok(201, 'POST', '/api/v1/alerts/red', {
        token: worker.token, body: { alert_id: unique('red-'), message },
    });
}

// -- the browser ------------------------------------------------------------------------------

export async function launchBrowser() {
    return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export const LAPTOP = { width: 1366, height: 768 };
export const PHONE = { width: 390, height: 844 };

// A console session of its own (fresh cookies and storage) whose page fails the test t on
// a Content-Security-Policy violation or an uncaught error, checked when the test ends.
// clock: true installs Playwright's clock (time flows until a test moves it); clockAt: at
// that time (ms), for pages that must agree with a server on a simulated clock.
export async function openConsole(t, browser, server, { viewport = LAPTOP, clock = false, clockAt } = {}) {
    const context = await browser.newContext({ viewport, locale: 'en-GB', timezoneId: 'Europe/London' });
    // Every wait is for a condition; none should take long, so a broken page fails fast.
    context.setDefaultTimeout(10000);
    const problems = [];
    await context.exposeBinding('__reportCspViolation', (_source, text) => {
        problems.push(`Content-Security-Policy violation: ${text}`);
    });
    await context.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => {
            window.__reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
        });
    });
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`uncaught error in the page: ${err.stack || err.message}`));
    page.on('console', (msg) => {
        if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text()))
            problems.push(`console: ${msg.text()}`);
    });
    if (clock || clockAt !== undefined) await page.clock.install(clockAt !== undefined ? { time: clockAt } : {});
    page.problems = problems;
    page.server = server;
    t.after(async () => {
        await context.close();
        if (problems.length) throw new Error(problems.join('\n'));
    });
    return page;
}

// Signs `who` in through the API with the session cookie and puts the cookie in the
// page's browser, as the login form would (the form itself is tested in login.test.mjs).
export async function signIn(page, who) {
    const res = await page.server.call('POST', '/api/v1/login', {
        body: { username: who.username, password: who.password, cookie: true },
    });
    if (res.status !== 200) throw new Error(`cookie login of ${who.username}: ${res.status} ${JSON.stringify(res.body)}`);
    const set = res.headers.get('set-cookie') || '';
    const m = /notalone_session=([^;]*)/.exec(set);
    if (!m || !m[1]) throw new Error(`cookie login of ${who.username} set no notalone_session cookie: ${set}`);
    await page.context().addCookies([{
        name: 'notalone_session', value: m[1], url: page.server.url, httpOnly: true, sameSite: 'Strict',
    }]);
}

// Opens a console path and waits until the app has rendered past its loading state.
export async function visit(page, path) {
    await page.goto(page.server.url + path);
    await page.waitForFunction(() => {
        const main = document.querySelector('#app main#main');
        const loading = main && main.querySelector(':scope.centre > p[role=status]');
        return main && !loading;
    }, null, { timeout: 10000 });
}

// -- checks on a page ---------------------------------------------------------------------------

// Presses Tab until `locator` has the focus (at most `max` times): the control can be
// reached with the keyboard. Fails otherwise.
export async function tabTo(page, locator, max = 60) {
    for (let i = 0; i <= max; i++) {
        if (await locator.evaluate((el) => el === document.activeElement)) return;
        await page.keyboard.press('Tab');
    }
    throw new Error(`${max} presses of Tab never reached ${locator}`);
}

// The form controls (input, select, textarea) Chromium gives no accessible name, as
// "tag#id[name]" strings; an empty list when every one has a name.
export async function unnamedControls(page) {
    const cdp = await page.context().newCDPSession(page);
    try {
        const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
        const { nodeIds } = await cdp.send('DOM.querySelectorAll', {
            nodeId: root.nodeId, selector: 'input:not([type=hidden]), select, textarea',
        });
        const unnamed = [];
        for (const nodeId of nodeIds) {
            const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false });
            const node = nodes.find((n) => !n.ignored) || nodes[0];
            if (node && node.ignored) continue; // not shown (display: none): nothing to name
            const name = node && node.name && node.name.value ? String(node.name.value).trim() : '';
            if (!name) {
                const { node: dom } = await cdp.send('DOM.describeNode', { nodeId });
                const attrs = {};
                for (let i = 0; i + 1 < (dom.attributes || []).length; i += 2) attrs[dom.attributes[i]] = dom.attributes[i + 1];
                unnamed.push(`${dom.localName}${attrs.id ? '#' + attrs.id : ''}${attrs.name ? `[name=${attrs.name}]` : ''}${attrs.type ? `[type=${attrs.type}]` : ''}`);
            }
        }
        return { count: nodeIds.length, unnamed };
    } finally {
        await cdp.detach();
    }
}

// How wide the page is laid out: more than the viewport means it scrolls sideways.
export async function scrollWidth(page) {
    return page.evaluate(() => document.documentElement.scrollWidth);
}

// The colours an element shows (text, background, borders, outline, box shadows such as
// a bar along its side) and whether one of them is red: a hue within 20 degrees of pure
// red, saturated and neither near white nor near black. Pink tints do not count:
// "unmistakably red" is the point.
export async function redness(locator) {
    return locator.evaluate((el) => {
        const s = getComputedStyle(el);
        const colours = {
            color: s.color, background: s.backgroundColor, 'border-left': s.borderLeftColor,
            'border-top': s.borderTopColor, outline: s.outlineColor, 'box-shadow': s.boxShadow,
        };
        const widths = { 'border-left': s.borderLeftWidth, 'border-top': s.borderTopWidth, outline: s.outlineWidth };
        function isRed(text) {
            return [...text.matchAll(/rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)/g)].some(isRedColour);
        }
        function isRedColour(m) {
            if (m[4] !== undefined && Number(m[4]) < 0.5) return false;
            const [r, g, b] = [m[1], m[2], m[3]].map((v) => Number(v) / 255);
            const max = Math.max(r, g, b);
            const min = Math.min(r, g, b);
            const light = (max + min) / 2;
            if (max !== r || max - min < 0.25 || light > 0.8 || light < 0.15) return false;
            const sat = (max - min) / (1 - Math.abs(2 * light - 1));
            let hue = (60 * (g - b)) / (max - min);
            if (hue < 0) hue += 360;
            return sat > 0.45 && (hue <= 20 || hue >= 340);
        }
        const red = Object.entries(colours).filter(([k, v]) => (!widths[k] || parseFloat(widths[k]) > 0) && isRed(v)).map(([k]) => k);
        return { red: red.length > 0, which: red, colours };
    });
}

// A screenshot of the whole page, saved as NOTALONE_SCREENSHOTS/<name>-<w>x<h>.png.
export async function screenshot(page, name) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const { width, height } = page.viewportSize();
    const path = join(SCREENSHOTS, `${name}-${width}x${height}.png`);
    await page.screenshot({ path, fullPage: true });
    return path;
}

// What a test file shares: one Chromium, and the servers it started (each stopped and
// checked, exit code and sanitizer reports, when the file ends). Call at the top level.
export function browserSuite() {
    const suite = {
        browser: null,
        servers: [],
        async server(options) {
            const server = new Server(options);
            suite.servers.push(server);
            await server.start();
            return server;
        },
        open(t, server, options) {
            return openConsole(t, suite.browser, server, options);
        },
    };
    before(async () => {
        suite.browser = await launchBrowser();
    });
    after(async () => {
        if (suite.browser) await suite.browser.close();
        const problems = [];
        for (const server of suite.servers) {
            try {
                await server.close();
            } catch (err) {
                problems.push(err.message);
            }
        }
        if (problems.length) throw new Error(problems.join('\n\n'));
        removeScratch();
    });
    return suite;
}
