// People's names for ids (who holds an alarm, who did what on its timeline, who was told),
// asked once per id for the whole console and kept: names rarely change while a board is
// open, and a board with many alarms must not ask again on every reload.
import { createStore } from '../html.js';
import { api } from '../api.js';
import { useStore } from '../store_hook.js';

const names = new Map(); // id -> display name, or null while asked
const failedAt = new Map(); // id -> when asking last failed (asked again after a while)
const RETRY_MS = 30000;
const changes = createStore(0);

export function rememberName(id, name) {
    if (id == null || !name || names.get(id) === name) return;
    names.set(id, name);
    changes.set((n) => n + 1);
}

async function ask(id) {
    names.set(id, null);
    try {
        const user = await api('GET', `/api/v1/users/${id}`);
        rememberName(id, user.display_name || user.username);
        failedAt.delete(id);
    } catch {
        names.delete(id);
        failedAt.set(id, Date.now());
        changes.set((n) => n + 1);
    }
}

function nameOf(id) {
    if (id == null) return null;
    const known = names.get(id);
    if (known) return known;
    if (known === undefined && !(Date.now() - (failedAt.get(id) || 0) < RETRY_MS)) ask(id);
    return `user ${id}`;
}

// nameOf(id): the person's name, or "user ID" until it is known (the component re-renders
// when it arrives).
export function useNames() {
    useStore(changes);
    return nameOf;
}
