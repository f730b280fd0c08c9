// Calls to notaloned's JSON API with the session cookie. The cookie is HttpOnly, so the
// page never sees the session token; state-changing calls carry the CSRF token instead,
// which the server gives at login and in GET /api/v1/me.

export class ApiError extends Error {
    constructor(status, code, message, field = null) {
        super(message);
        this.status = status;
        this.code = code;
        this.field = field;
    }
}

let csrfToken = null;
const unauthenticatedListeners = new Set();

export function setCsrfToken(token) {
    csrfToken = token || null;
}

// fn() is called when a call is refused because the session has ended (expired, revoked).
export function onUnauthenticated(fn) {
    unauthenticatedListeners.add(fn);
    return () => unauthenticatedListeners.delete(fn);
}

export const OFFLINE_MESSAGE = 'Cannot reach the server. Check the network; the console keeps trying.';

async function readError(res) {
    let body = null;
    try {
        body = await res.json();
    } catch {
        // not JSON (a proxy's error page): the status says enough
    }
    const e = (body && body.error) || {};
    return new ApiError(res.status, e.code || `http_${res.status}`,
        e.message || `The server answered ${res.status} ${res.statusText}`, e.field || null);
}

// Sends one request; returns the parsed JSON answer, or null for 204. Throws ApiError:
// status 0 with code "offline" when the server cannot be reached.
export async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
    let res;
    try {
        res = await fetch(path, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            credentials: 'same-origin',
            cache: 'no-store',
        });
    } catch {
        throw new ApiError(0, 'offline', OFFLINE_MESSAGE);
    }
    if (!res.ok) {
        const err = await readError(res);
        if (res.status === 401 && err.code === 'unauthenticated')
            for (const fn of [...unauthenticatedListeners]) fn(err);
        throw err;
    }
    if (res.status === 204) return null;
    try {
        return await res.json();
    } catch {
        throw new ApiError(res.status, 'bad_answer', 'The server sent an answer the console cannot read.');
    }
}

// Every item of a paginated list (docs/api.md: next_after or next_before), up to max.
export async function apiList(path, { max = 1000, limit = 200 } = {}) {
    const items = [];
    const sep = path.includes('?') ? '&' : '?';
    let cursor = '';
    for (;;) {
        const page = await api('GET', `${path}${sep}limit=${limit}${cursor}`);
        items.push(...page.items);
        if (items.length >= max) return items.slice(0, max);
        if (page.next_after != null) cursor = `&after=${page.next_after}`;
        else if (page.next_before != null) cursor = `&before=${page.next_before}`;
        else return items;
    }
}

// A message for the user from any error a call threw.
export function errorText(err) {
    if (err instanceof ApiError) return err.field ? `${err.message} (${err.field})` : err.message;
    if (err instanceof Error && err.message) return err.message;
    return 'Something went wrong in the console. Reload the page.';
}
