// Who is signed in. The state machine the app shows:
//   loading   -> asking the server (GET /api/v1/me)
//   signed_out -> the login page; `reason` "expired" when a session ended under us
//   password  -> signed in with a one-time password: must set their own first
//   ready     -> user, organisation and roles known
//   unreachable -> the server could not be reached at load; retried by itself
import { api, ApiError, onUnauthenticated, setCsrfToken } from './api.js';
import { createStore } from './html.js';
import { useStore } from './store_hook.js';

export const sessionStore = createStore({ state: 'loading' });

let retryTimer = null;
// The one-time password typed at login, kept in memory only until the user sets their own,
// so that they are not asked for it twice.
let oneTimePassword = null;

function ready(me) {
    setCsrfToken(me.csrf_token);
    const roles = new Set(me.user.roles);
    sessionStore.set({
        state: me.user.password_change_required ? 'password' : 'ready',
        user: me.user,
        organisation: me.organisation,
        roles,
    });
}

export async function loadSession() {
    clearTimeout(retryTimer);
    try {
        ready(await api('GET', '/api/v1/me'));
    } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
            const was = sessionStore.get().state;
            sessionStore.set({ state: 'signed_out', reason: was === 'loading' ? null : 'expired' });
        } else if (err instanceof ApiError && (err.status === 0 || err.status >= 500)) {
            // A 503 (database down) is as bad as no answer for the console: say both.
            const message = err.status === 0 ? err.message : `Cannot reach the server: ${err.message}`;
            sessionStore.set({ state: 'unreachable', message });
            retryTimer = setTimeout(loadSession, 5000);
        } else {
            sessionStore.set({ state: 'unreachable', message: err.message });
        }
    }
}

onUnauthenticated(() => {
    const s = sessionStore.get();
    if (s.state === 'ready' || s.state === 'password') {
        setCsrfToken(null);
        sessionStore.set({ state: 'signed_out', reason: 'expired' });
    }
});

// Signs in with the session cookie; throws ApiError on a refusal.
export async function login(username, password) {
    const answer = await api('POST', '/api/v1/login', { username, password, cookie: true });
    setCsrfToken(answer.csrf_token);
    oneTimePassword = answer.password_change_required ? password : null;
    await loadSession();
}

// Replaces the one-time password given at login (or currentPassword when the page was
// reloaded since, and the console no longer holds it).
export async function setOwnPassword(newPassword, currentPassword = oneTimePassword) {
    await api('POST', '/api/v1/me/password', {
        current_password: currentPassword || '',
        new_password: newPassword,
    });
    oneTimePassword = null;
    await loadSession();
}

export function knowsOneTimePassword() {
    return oneTimePassword !== null;
}

export async function logout() {
    try {
        await api('POST', '/api/v1/logout');
    } finally {
        setCsrfToken(null);
        sessionStore.set({ state: 'signed_out', reason: null });
    }
}

// The session, and has(...roles): whether the user holds any of them.
export function useSession() {
    const s = useStore(sessionStore);
    return { ...s, has: (...names) => !!s.roles && names.some((n) => s.roles.has(n)) };
}
