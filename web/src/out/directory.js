// The organisation's users and teams as the caller may see them, shared by the pages
// (names for ids, the buddy picker, team filters). Read once and kept for a minute; the
// pages that change users or teams reload it, and signing out forgets it.
import { apiList } from '../api.js';
import { createStore, useEffect } from '../html.js';
import { useStore } from '../store_hook.js';
import { sessionStore } from '../session.js';

const FRESH_MS = 60000;
const EMPTY = { users: new Map(), teams: [], loadedAt: 0, error: null };
const directoryStore = createStore(EMPTY);
let inFlight = null;
let generation = 0;

sessionStore.subscribe((s) => {
    if (s.state !== 'ready') {
        generation++;
        directoryStore.set(EMPTY);
    }
});

async function fetchDirectory() {
    const mine = generation;
    try {
        const [users, teams] = await Promise.all([
            apiList('/api/v1/users', { max: 20000 }),
            apiList('/api/v1/teams', { max: 5000 }),
        ]);
        if (mine !== generation) return;
        teams.sort((a, b) => a.name.localeCompare(b.name));
        directoryStore.set({ users: new Map(users.map((u) => [u.id, u])), teams, loadedAt: Date.now(), error: null });
    } catch (err) {
        if (mine === generation) directoryStore.set({ ...directoryStore.get(), error: err });
    }
}

// Reads the directory unless a fresh copy is held; force: read it again now.
export function loadDirectory({ force = false } = {}) {
    const d = directoryStore.get();
    if (!force && d.loadedAt && Date.now() - d.loadedAt < FRESH_MS) return Promise.resolve();
    if (inFlight && !force) return inFlight;
    const p = fetchDirectory().finally(() => {
        if (inFlight === p) inFlight = null;
    });
    inFlight = p;
    return p;
}

// The directory, read when the component mounts (force: even when a fresh copy is held).
export function useDirectory({ force = false } = {}) {
    useEffect(() => {
        loadDirectory({ force });
    }, []);
    return useStore(directoryStore);
}

export function userName(dir, id) {
    if (id == null) return '—';
    const u = dir.users.get(id);
    return u ? u.display_name : `User ${id}`;
}

export function teamName(dir, id) {
    const t = dir.teams.find((x) => x.id === id);
    return t ? t.name : `Team ${id}`;
}

// The teams whose line manager is the user.
export function teamsManagedBy(dir, userId) {
    return dir.teams.filter((t) => t.line_manager_id === userId);
}

// Whether the user is the line manager of one of the worker's teams.
export function managesWorker(dir, managerId, workerId) {
    return teamsManagedBy(dir, managerId).some((t) => t.member_ids.includes(workerId));
}

export function byName(a, b) {
    return a.display_name.localeCompare(b.display_name);
}
