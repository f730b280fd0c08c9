// The operator's queue of open and claimed alarms, in the order the issue asks for:
// unclaimed red and duress alarms first (newest first), then claimed ones, then amber,
// overdue, cancelled (an accidental press still to be closed) and test alarms.
import { useEffect, useState } from '../html.js';
import { api, errorText } from '../api.js';
import { useEvents } from '../stream.js';
import { noteEventTime, noteRecordTime } from '../out/server_clock.js';
import { useCoalesced, useSafetyReload } from './reload.js';

const PRIORITY_RED = 1;
const QUEUE_LIMIT = 200;
const SAFETY_RELOAD_MS = 60000;

// A red or duress alarm, whatever its kind says: a red alert cancelled with the duress
// code stays kind red but is marked duress.
export function isRed(alarm) {
    return alarm.kind === 'red' || alarm.kind === 'duress' || alarm.duress === true;
}

// Nobody has claimed this red or duress alarm yet: the board must not let it be missed.
// A red alert the worker cancelled as an accidental press drops out of this (priority 4).
export function isUnclaimedRed(alarm) {
    return alarm.state === 'open' && isRed(alarm) && alarm.priority === PRIORITY_RED;
}

// The kind as the board names it: a duress alarm is "duress" even when opened as red.
export function kindOf(alarm) {
    return alarm.duress ? 'duress' : alarm.kind;
}

function rank(alarm) {
    if (isRed(alarm) && alarm.priority === PRIORITY_RED) return alarm.state === 'open' ? 0 : 1;
    return 1 + alarm.priority; // amber 3, overdue 4, cancelled 5, test 6
}

function openedMs(alarm) {
    return new Date(alarm.opened_at).getTime() || 0;
}

export function sortQueue(items) {
    return [...items].sort((a, b) => rank(a) - rank(b) || openedMs(b) - openedMs(a) || b.id - a.id);
}

// {items, error, updatedAt, reload}: the queue, reloaded on every alarm event and after the
// stream reconnects. items is null until the first answer; an error keeps the last list.
export function useQueue() {
    const [state, setState] = useState({ items: null, error: null, updatedAt: null });
    const reload = useCoalesced(async () => {
        try {
            const page = await api('GET', `/api/v1/alarms?limit=${QUEUE_LIMIT}`);
            for (const a of page.items) noteRecordTime(a.updated_at);
            setState({ items: sortQueue(page.items), error: null, updatedAt: Date.now() });
        } catch (err) {
            setState((s) => ({ ...s, error: errorText(err) }));
        }
    });
    useEffect(() => {
        reload();
    }, []);
    useEvents((e) => {
        if (e.at) noteEventTime(e.at);
        if (e.kind === 'stream.resync' || (e.kind && e.kind.startsWith('alarm.'))) reload();
    });
    useSafetyReload(reload, SAFETY_RELOAD_MS);
    return { ...state, reload };
}
